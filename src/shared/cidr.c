/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"

static int parse_octets(const char *s, size_t len, uint32_t *ret) {
        uint32_t addr = 0;
        size_t i = 0;

        for (int part = 0; part < 4; part++) {
                if (part > 0) {
                        if (i >= len || s[i] != '.')
                                return -EINVAL;
                        i++;
                }
                size_t start = i;
                unsigned v = 0;
                while (i < len && isdigit((unsigned char) s[i]) && i - start < 3)
                        v = v * 10 + (unsigned) (s[i++] - '0');
                if (i == start || v > 255)
                        return -EINVAL;
                if (s[start] == '0' && i - start > 1) /* "010" is octal to some parsers: refuse */
                        return -EINVAL;
                addr = (addr << 8) | v;
        }
        if (i != len)
                return -EINVAL;
        *ret = addr;
        return 0;
}

int ipv4_parse(const char *s, uint32_t *ret) {
        if (!s)
                return -EINVAL;
        return parse_octets(s, strlen(s), ret);
}

int cidr4_parse(const char *s, bool require_prefix, Cidr4 *ret) {
        if (!s)
                return -EINVAL;

        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t) (slash - s) : strlen(s);
        uint32_t addr;
        unsigned prefix = 32;

        if (!slash && require_prefix)
                return -EINVAL;
        if (parse_octets(s, len, &addr) < 0)
                return -EINVAL;
        if (slash) {
                const char *p = slash + 1;
                if (!isdigit((unsigned char) p[0]) || (p[0] == '0' && p[1]) || strlen(p) > 2)
                        return -EINVAL;
                prefix = 0;
                for (; *p; p++) {
                        if (!isdigit((unsigned char) *p))
                                return -EINVAL;
                        prefix = prefix * 10 + (unsigned) (*p - '0');
                }
                if (prefix > 32)
                        return -EINVAL;
        }
        *ret = (Cidr4) { .addr = addr, .prefix = (uint8_t) prefix };
        return 0;
}

char *ipv4_format(uint32_t a, char buf[static CIDR4_STRLEN]) {
        snprintf(buf, CIDR4_STRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
        return buf;
}

char *cidr4_format(const Cidr4 *c, char buf[static CIDR4_STRLEN]) {
        char tmp[CIDR4_STRLEN];
        snprintf(buf, CIDR4_STRLEN, "%s/%u", ipv4_format(c->addr, tmp), c->prefix);
        return buf;
}

uint32_t cidr4_netmask(uint8_t prefix) {
        return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

uint32_t cidr4_network(const Cidr4 *c) {
        return c->addr & cidr4_netmask(c->prefix);
}

uint32_t cidr4_broadcast(const Cidr4 *c) {
        return cidr4_network(c) | ~cidr4_netmask(c->prefix);
}

bool cidr4_contains(const Cidr4 *net, uint32_t addr) {
        return (addr & cidr4_netmask(net->prefix)) == cidr4_network(net);
}

bool cidr4_overlaps(const Cidr4 *a, const Cidr4 *b) {
        uint8_t p = a->prefix < b->prefix ? a->prefix : b->prefix;
        return (a->addr & cidr4_netmask(p)) == (b->addr & cidr4_netmask(p));
}

bool cidr4_is_rfc1918(const Cidr4 *c) {
        static const Cidr4 private_ranges[] = {
                { 0x0a000000, 8 },  /* 10.0.0.0/8 */
                { 0xac100000, 12 }, /* 172.16.0.0/12 */
                { 0xc0a80000, 16 }, /* 192.168.0.0/16 */
        };
        for (size_t i = 0; i < sizeof private_ranges / sizeof private_ranges[0]; i++)
                if (c->prefix >= private_ranges[i].prefix && cidr4_contains(&private_ranges[i], c->addr))
                        return true;
        return false;
}

bool cidr4_is_host(const Cidr4 *net, uint32_t addr) {
        if (!cidr4_contains(net, addr))
                return false;
        if (net->prefix >= 31)
                return true;
        return addr != cidr4_network(net) && addr != cidr4_broadcast(net);
}

int cidr4_allocate_from(const Cidr4 *net, uint32_t start, bool (*is_taken)(uint32_t addr, void *userdata),
                        void *userdata, uint32_t *ret) {
        uint32_t first = cidr4_network(net), last = cidr4_broadcast(net);

        if (net->prefix < 31) {
                first++;
                last--;
        }
        if (start < first || start > last)
                start = first;
        /* from start to the end, then wrapping around to just before start */
        for (uint64_t a = start; a <= last; a++)
                if (!is_taken((uint32_t) a, userdata)) {
                        *ret = (uint32_t) a;
                        return 0;
                }
        for (uint64_t a = first; a < start; a++)
                if (!is_taken((uint32_t) a, userdata)) {
                        *ret = (uint32_t) a;
                        return 0;
                }
        return -ENOSPC;
}

int cidr4_allocate(const Cidr4 *net, bool (*is_taken)(uint32_t addr, void *userdata), void *userdata, uint32_t *ret) {
        return cidr4_allocate_from(net, 0, is_taken, userdata, ret);
}
