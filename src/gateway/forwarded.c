/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "forwarded.h"
#include "host-check.h"
#include "macro.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An address as its family and bytes, an IPv4-mapped IPv6 one as IPv4. */
static void address_normalize(int *family, uint8_t addr[static 16]) {
        if (*family == AF_INET6 && memcmp(addr, v4_mapped_prefix, 12) == 0) {
                memmove(addr, addr + 12, 4);
                *family = AF_INET;
        }
}

static int address_parse(const char *s, int *family, uint8_t addr[static 16]) {
        if (inet_pton(AF_INET, s, addr) == 1)
                *family = AF_INET;
        else if (inet_pton(AF_INET6, s, addr) == 1)
                *family = AF_INET6;
        else
                return -EINVAL;
        address_normalize(family, addr);
        return 0;
}

static bool prefix_matches(const uint8_t *a, const uint8_t *b, unsigned prefix) {
        unsigned bytes = prefix / 8, bits = prefix % 8;
        if (memcmp(a, b, bytes) != 0)
                return false;
        if (bits == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff << (8 - bits));
        return (a[bytes] & mask) == (b[bytes] & mask);
}

int proxy_net_parse(const char *s, ProxyNet *ret) {
        char text[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : strlen(s);
        ProxyNet net = {};

        if (n == 0 || n >= sizeof text)
                return -EINVAL;
        memcpy(text, s, n);
        text[n] = 0;
        if (inet_pton(AF_INET, text, net.addr) == 1)
                net.family = AF_INET;
        else if (inet_pton(AF_INET6, text, net.addr) == 1)
                net.family = AF_INET6;
        else
                return -EINVAL;
        unsigned max = net.family == AF_INET ? 32 : 128;
        net.prefix = max;
        if (slash) {
                const char *p = slash + 1;
                size_t pl = strlen(p);
                if (pl == 0 || pl > 3 || strspn(p, "0123456789") != pl || (p[0] == '0' && pl > 1))
                        return -EINVAL;
                net.prefix = (unsigned) strtoul(p, NULL, 10);
                if (net.prefix > max)
                        return -EINVAL;
        }
        /* no host bits past the prefix: "10.0.0.1/8" is a typo for 10.0.0.0/8 or 10.0.0.1 */
        for (unsigned bit = net.prefix; bit < max; bit++)
                if (net.addr[bit / 8] & (0x80 >> (bit % 8)))
                        return -EINVAL;
        if (net.family == AF_INET6 && net.prefix >= 96 && memcmp(net.addr, v4_mapped_prefix, 12) == 0) {
                memmove(net.addr, net.addr + 12, 4);
                memset(net.addr + 4, 0, 12);
                net.family = AF_INET;
                net.prefix -= 96;
        }
        *ret = net;
        return 0;
}

bool proxy_nets_contain(const ProxyNet *nets, size_t n, int family, const void *addr) {
        uint8_t a[16] = {};

        if (family != AF_INET && family != AF_INET6)
                return false;
        memcpy(a, addr, family == AF_INET ? 4 : 16);
        address_normalize(&family, a);
        for (size_t i = 0; i < n; i++)
                if (nets[i].family == family && prefix_matches(nets[i].addr, a, nets[i].prefix))
                        return true;
        return false;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

int forwarded_for_client(const char *value, const ProxyNet *nets, size_t n, char *ret, size_t size,
                         const char **why) {
        const char *end = value + strlen(value);

        for (unsigned hops = 0;; hops++) {
                /* the entry ending at @end: back to the comma before it, never further than an entry may be
                 * long (with the blanks around it), so a long client-written head is never walked */
                const char *start = end;
                while (start > value && start[-1] != ',') {
                        if ((size_t) (end - start) > FORWARDED_ENTRY_MAX + 8) {
                                *why = "an entry is not an IP address";
                                return -EBADMSG;
                        }
                        start--;
                }
                const char *a = start, *b = end;
                while (a < b && is_blank(*a))
                        a++;
                while (b > a && is_blank(b[-1]))
                        b--;
                if (a == b) {
                        *why = "an entry is empty";
                        return -EBADMSG;
                }
                char text[FORWARDED_ENTRY_MAX + 1];
                uint8_t addr[16];
                int family;
                if ((size_t) (b - a) > FORWARDED_ENTRY_MAX) {
                        *why = "an entry is not an IP address";
                        return -EBADMSG;
                }
                memcpy(text, a, b - a);
                text[b - a] = 0;
                if (address_parse(text, &family, addr) < 0) {
                        *why = "an entry is not an IP address";
                        return -EBADMSG;
                }
                if (start == value || !proxy_nets_contain(nets, n, family, addr)) {
                        if (!inet_ntop(family, addr, ret, size)) {
                                *why = "an address is too long";
                                return -EBADMSG;
                        }
                        return 0;
                }
                if (hops + 1 > FORWARDED_HOPS_MAX) {
                        *why = "it names more than 16 trusted proxies";
                        return -EBADMSG;
                }
                end = start - 1; /* the comma */
        }
}

static int peer_address(const struct sockaddr *peer, int *family, uint8_t addr[static 16]) {
        if (peer && peer->sa_family == AF_INET) {
                *family = AF_INET;
                memcpy(addr, &((const struct sockaddr_in *) peer)->sin_addr, 4);
        } else if (peer && peer->sa_family == AF_INET6) {
                *family = AF_INET6;
                memcpy(addr, &((const struct sockaddr_in6 *) peer)->sin6_addr, 16);
        } else
                return -EAFNOSUPPORT;
        address_normalize(family, addr);
        return 0;
}

int forwarded_resolve(const ProxyNet *nets, size_t n, const struct sockaddr *peer, const char *xff,
                      const char *proto, const char *xhost, const char *host, Forwarded *ret,
                      const char **bad_header, const char **why) {
        Forwarded f = { .host = host };
        uint8_t addr[16];
        int family;

        if (peer_address(peer, &family, addr) < 0)
                strcpy(f.client, "unknown");
        else {
                (void) inet_ntop(family, addr, f.client, sizeof f.client);
                f.proxied = proxy_nets_contain(nets, n, family, addr);
        }
        if (!f.proxied) {
                *ret = f;
                return 0;
        }

        if (xff && forwarded_for_client(xff, nets, n, f.client, sizeof f.client, why) < 0) {
                *bad_header = "X-Forwarded-For";
                return -EBADMSG;
        }
        if (proto) {
                if (strcasecmp(proto, "https") == 0)
                        f.https = true;
                else if (strcasecmp(proto, "http") != 0) {
                        *bad_header = "X-Forwarded-Proto";
                        *why = "it must be http or https";
                        return -EBADMSG;
                }
        }
        if (xhost) {
                char name[FORWARDED_HOST_MAX + 1];
                unsigned port;
                if (host_port_split(xhost, name, sizeof name, &port) < 0) {
                        *bad_header = "X-Forwarded-Host";
                        *why = "it must be one host name or address, with an optional port";
                        return -EBADMSG;
                }
                f.host = xhost;
        }
        *ret = f;
        return 0;
}
