/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "keys.h"
#include "log.h"
#include "macro.h"
#include "wg-uapi.h"

#define UAPI_TIMEOUT_SEC 5
#define UAPI_REPLY_MAX (64U * 1024U * 1024U)

static void format_endpoint(FILE *f, const WgEndpoint *e) {
        char buf[INET6_ADDRSTRLEN];
        if (e->addr.sa_family == AF_INET)
                fprintf(f, "endpoint=%s:%u\n", inet_ntop(AF_INET, &e->addr4.sin_addr, buf, sizeof buf),
                        ntohs(e->addr4.sin_port));
        else if (e->addr.sa_family == AF_INET6 && e->addr6.sin6_scope_id != 0)
                fprintf(f, "endpoint=[%s%%%" PRIu32 "]:%u\n",
                        inet_ntop(AF_INET6, &e->addr6.sin6_addr, buf, sizeof buf), e->addr6.sin6_scope_id,
                        ntohs(e->addr6.sin6_port));
        else if (e->addr.sa_family == AF_INET6)
                fprintf(f, "endpoint=[%s]:%u\n", inet_ntop(AF_INET6, &e->addr6.sin6_addr, buf, sizeof buf),
                        ntohs(e->addr6.sin6_port));
}

int wg_uapi_format_set(const WgDevice *dev, char **ret, size_t *ret_size) {
        char *buf = NULL, hex[2 * WG_KEY_LEN + 1], ip[INET6_ADDRSTRLEN];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (dev->flags & WG_DEVICE_HAS_PRIVATE_KEY) {
                key_to_hex(dev->private_key, hex);
                fprintf(f, "private_key=%s\n", hex);
        }
        if (dev->flags & WG_DEVICE_HAS_LISTEN_PORT)
                fprintf(f, "listen_port=%u\n", dev->listen_port);
        if (dev->flags & WG_DEVICE_HAS_FWMARK)
                fprintf(f, "fwmark=%" PRIu32 "\n", dev->fwmark);
        if (dev->flags & WG_DEVICE_REPLACE_PEERS)
                fputs("replace_peers=true\n", f);

        for (const WgPeer *p = dev->peers; p; p = p->next) {
                key_to_hex(p->public_key, hex);
                fprintf(f, "public_key=%s\n", hex);
                if (p->flags & WG_PEER_REMOVE_ME) {
                        fputs("remove=true\n", f);
                        continue;
                }
                if (p->flags & WG_PEER_HAS_PRESHARED_KEY) {
                        key_to_hex(p->preshared_key, hex);
                        fprintf(f, "preshared_key=%s\n", hex);
                }
                if (p->flags & WG_PEER_HAS_ENDPOINT)
                        format_endpoint(f, &p->endpoint);
                if (p->flags & WG_PEER_HAS_PERSISTENT_KEEPALIVE)
                        fprintf(f, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
                if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
                        fputs("replace_allowed_ips=true\n", f);
                for (const WgAllowedIp *a = p->allowed_ips; a; a = a->next)
                        fprintf(f, "allowed_ip=%s/%u\n", inet_ntop(a->family, &a->ip4, ip, sizeof ip), a->cidr);
        }
        sodium_memzero(hex, sizeof hex);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

/* Decimal digits only: strtoull() alone also takes " 1", "+1" and "-1" (as 2^64 - 1). */
static int parse_u64(const char *v, uint64_t *ret) {
        char *end;
        if (!isdigit((unsigned char) v[0]))
                return -EBADMSG;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || *end)
                return -EBADMSG;
        *ret = x;
        return 0;
}

/* "[v6%zone]" zones come as interface names or numbers. */
static int parse_scope_id(const char *zone, uint32_t *ret) {
        uint64_t x;
        if (parse_u64(zone, &x) >= 0) {
                if (x > UINT32_MAX)
                        return -EBADMSG;
                *ret = (uint32_t) x;
                return 0;
        }
        unsigned i = if_nametoindex(zone);
        if (i == 0)
                return -EBADMSG;
        *ret = i;
        return 0;
}

static int parse_endpoint(const char *v, WgEndpoint *e) {
        char host[INET6_ADDRSTRLEN + 2 + IF_NAMESIZE];
        const char *colon = strrchr(v, ':');
        uint64_t port;
        if (!colon || (size_t) (colon - v) >= sizeof host)
                return -EBADMSG;
        memcpy(host, v, (size_t) (colon - v));
        host[colon - v] = 0;
        if (parse_u64(colon + 1, &port) < 0 || port > 65535)
                return -EBADMSG;

        memset(e, 0, sizeof *e);
        size_t hl = strlen(host);
        if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
                host[hl - 1] = 0;
                char *zone = strchr(host, '%');
                if (zone) {
                        *zone++ = 0;
                        if (parse_scope_id(zone, &e->addr6.sin6_scope_id) < 0)
                                return -EBADMSG;
                }
                if (inet_pton(AF_INET6, host + 1, &e->addr6.sin6_addr) != 1)
                        return -EBADMSG;
                e->addr6.sin6_family = AF_INET6;
                e->addr6.sin6_port = htons((uint16_t) port);
        } else {
                if (inet_pton(AF_INET, host, &e->addr4.sin_addr) != 1)
                        return -EBADMSG;
                e->addr4.sin_family = AF_INET;
                e->addr4.sin_port = htons((uint16_t) port);
        }
        return 0;
}

static int parse_allowed_ip(const char *v, WgPeer *p) {
        char addr[INET6_ADDRSTRLEN];
        const char *slash = strchr(v, '/');
        uint64_t cidr;
        if (!slash || (size_t) (slash - v) >= sizeof addr)
                return -EBADMSG;
        memcpy(addr, v, (size_t) (slash - v));
        addr[slash - v] = 0;
        int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        struct in6_addr buf;
        if (parse_u64(slash + 1, &cidr) < 0 || cidr > (family == AF_INET ? 32U : 128U) ||
            inet_pton(family, addr, &buf) != 1)
                return -EBADMSG;
        return wg_peer_append_allowed_ip(p, family, &buf, (uint8_t) cidr) ? 0 : -ENOMEM;
}

int wg_uapi_parse_get(const char *text, WgDevice *dev) {
        WgPeer *peer = NULL;
        uint64_t sec = 0, nsec = 0, x;
        int r;

        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                char buf[256];
                if (len == 0)
                        break;
                if (len >= sizeof buf)
                        return -EBADMSG;
                memcpy(buf, line, len);
                buf[len] = 0;
                line += len + (nl ? 1 : 0);

                char *v = strchr(buf, '=');
                if (!v)
                        return -EBADMSG;
                *v++ = 0;
                const char *k = buf;

                if (streq(k, "errno")) {
                        /* wireguard-go sends its errors negative ("errno=-22"); accept both signs. */
                        if (parse_u64(v + (v[0] == '-'), &x) < 0)
                                return -EBADMSG;
                        r = x == 0 ? 0 : -(int) MIN(x, 4095U);
                        goto finish;
                } else if (streq(k, "private_key")) {
                        if (key_from_hex(v, dev->private_key) < 0)
                                return -EBADMSG;
                        dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
                        key_public_from_private(dev->public_key, dev->private_key);
                        dev->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
                } else if (streq(k, "listen_port")) {
                        if (parse_u64(v, &x) < 0 || x > 65535)
                                return -EBADMSG;
                        dev->listen_port = (uint16_t) x;
                        dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
                } else if (streq(k, "fwmark")) {
                        if (parse_u64(v, &x) < 0 || x > UINT32_MAX)
                                return -EBADMSG;
                        dev->fwmark = (uint32_t) x;
                        dev->flags |= WG_DEVICE_HAS_FWMARK;
                } else if (streq(k, "public_key")) {
                        if (peer)
                                peer->last_handshake_usec = sec * 1000000ULL + nsec / 1000ULL;
                        sec = nsec = 0;
                        peer = wg_device_append_peer(dev);
                        if (!peer)
                                return -ENOMEM;
                        if (key_from_hex(v, peer->public_key) < 0)
                                return -EBADMSG;
                        peer->flags |= WG_PEER_HAS_PUBLIC_KEY;
                } else if (!peer) {
                        continue; /* device keys this code does not know yet */
                } else if (streq(k, "preshared_key")) {
                        if (key_from_hex(v, peer->preshared_key) < 0)
                                return -EBADMSG;
                        if (!key_is_zero(peer->preshared_key))
                                peer->flags |= WG_PEER_HAS_PRESHARED_KEY;
                } else if (streq(k, "endpoint")) {
                        if (parse_endpoint(v, &peer->endpoint) < 0)
                                return -EBADMSG;
                        peer->flags |= WG_PEER_HAS_ENDPOINT;
                } else if (streq(k, "persistent_keepalive_interval")) {
                        if (parse_u64(v, &x) < 0 || x > 65535)
                                return -EBADMSG;
                        peer->persistent_keepalive = (uint16_t) x;
                        peer->flags |= WG_PEER_HAS_PERSISTENT_KEEPALIVE;
                } else if (streq(k, "allowed_ip")) {
                        if (parse_allowed_ip(v, peer) < 0)
                                return -EBADMSG;
                } else if (streq(k, "last_handshake_time_sec")) {
                        if (parse_u64(v, &sec) < 0)
                                return -EBADMSG;
                } else if (streq(k, "last_handshake_time_nsec")) {
                        if (parse_u64(v, &nsec) < 0)
                                return -EBADMSG;
                } else if (streq(k, "rx_bytes")) {
                        if (parse_u64(v, &peer->rx_bytes) < 0)
                                return -EBADMSG;
                } else if (streq(k, "tx_bytes")) {
                        if (parse_u64(v, &peer->tx_bytes) < 0)
                                return -EBADMSG;
                }
                /* protocol_version and keys from newer versions are ignored */
        }
        return -EBADMSG; /* no errno line: the reply was cut short */

finish:
        if (peer)
                peer->last_handshake_usec = sec * 1000000ULL + nsec / 1000ULL;
        return r;
}

int wg_uapi_socket_path(const char *run_dir, const char *ifname, char *buf, size_t size) {
        if ((size_t) snprintf(buf, size, "%s/%s.sock", run_dir, ifname) >= size)
                return -ENAMETOOLONG;
        return 0;
}

int wg_uapi_connect(const char *run_dir, const char *ifname) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r = wg_uapi_socket_path(run_dir, ifname, sa.sun_path, sizeof sa.sun_path);
        if (r < 0)
                return r;

        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct timeval tv = { .tv_sec = UAPI_TIMEOUT_SEC };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int send_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Reads until the blank line that ends every reply; *ret_size: the bytes read (a NUL may come before). */
static int read_reply(int fd, char **ret, size_t *ret_size) {
        size_t size = 0, alloc = 4096;
        _cleanup_(freep) char *buf = malloc(alloc);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (alloc - size < 2048) {
                        if (alloc >= UAPI_REPLY_MAX)
                                return -EFBIG;
                        char *n = realloc(buf, alloc * 2);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        alloc *= 2;
                }
                ssize_t k = recv(fd, buf + size, alloc - size - 1, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                if (k == 0)
                        return -ECONNRESET;
                size += (size_t) k;
                buf[size] = 0;
                if (size >= 2 && buf[size - 1] == '\n' && buf[size - 2] == '\n')
                        break;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int wg_uapi_set_device(const char *run_dir, const WgDevice *dev) {
        _cleanup_(freep) char *body = NULL, *reply = NULL;
        size_t size, reply_size;
        int r;

        _cleanup_(closep) int fd = wg_uapi_connect(run_dir, dev->name);
        if (fd < 0)
                return fd;
        r = wg_uapi_format_set(dev, &body, &size);
        if (r < 0)
                return r;
        r = send_all(fd, "set=1\n", 6);
        if (r >= 0)
                r = send_all(fd, body, size);
        sodium_memzero(body, size);
        if (r >= 0)
                r = send_all(fd, "\n", 1);
        if (r < 0)
                return r;
        r = read_reply(fd, &reply, &reply_size);
        if (r < 0)
                return r;

        _cleanup_(wg_device_freep) WgDevice *scratch = calloc(1, sizeof(WgDevice));
        if (!scratch)
                return -ENOMEM;
        return wg_uapi_parse_get(reply, scratch);
}

int wg_uapi_get_device(const char *run_dir, const char *ifname, WgDevice **ret) {
        _cleanup_(freep) char *reply = NULL;
        size_t reply_size;
        int r;

        _cleanup_(closep) int fd = wg_uapi_connect(run_dir, ifname);
        if (fd < 0)
                return fd;
        r = send_all(fd, "get=1\n\n", 7);
        if (r < 0)
                return r;
        r = read_reply(fd, &reply, &reply_size);
        if (r < 0)
                return r;

        _cleanup_(wg_device_freep) WgDevice *dev = calloc(1, sizeof(WgDevice));
        if (!dev)
                return -ENOMEM;
        snprintf(dev->name, sizeof dev->name, "%s", ifname);
        r = wg_uapi_parse_get(reply, dev);
        sodium_memzero(reply, reply_size); /* all of it: keys may follow a stray NUL */
        if (r < 0)
                return r;
        *ret = TAKE_PTR(dev);
        return 0;
}
