/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "wg.h"

WgDevice *wg_device_free(WgDevice *d) {
        if (!d)
                return NULL;
        for (WgPeer *p = d->peers, *np; p; p = np) {
                np = p->next;
                for (WgAllowedIp *a = p->allowed_ips, *na; a; a = na) {
                        na = a->next;
                        free(a);
                }
                key_wipe(p->preshared_key);
                free(p);
        }
        key_wipe(d->private_key);
        free(d);
        return NULL;
}

WgPeer *wg_device_append_peer(WgDevice *d) {
        WgPeer *p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        if (!d->peers)
                d->peers = p;
        else {
                WgPeer *last = d->last_peer;
                if (!last || last->next) /* the list was built by hand: find its end */
                        for (last = d->peers; last->next; last = last->next)
                                ;
                last->next = p;
        }
        d->last_peer = p;
        return p;
}

WgAllowedIp *wg_peer_append_allowed_ip(WgPeer *p, int family, const void *addr, uint8_t cidr) {
        WgAllowedIp *a = calloc(1, sizeof *a), **tail = &p->allowed_ips;
        if (!a)
                return NULL;
        a->family = family;
        if (family == AF_INET)
                memcpy(&a->ip4, addr, sizeof a->ip4);
        else
                memcpy(&a->ip6, addr, sizeof a->ip6);
        a->cidr = cidr;
        while (*tail)
                tail = &(*tail)->next;
        *tail = a;
        return a;
}

size_t wg_device_count_peers(const WgDevice *d) {
        size_t n = 0;
        for (const WgPeer *p = d ? d->peers : NULL; p; p = p->next)
                n++;
        return n;
}

const char *wg_backend_kind_to_string(WgBackendKind k) {
        return k == WG_BACKEND_KERNEL ? "kernel" : "userspace";
}

/* "a.b.c.d:port" or "[v6]:port" into an endpoint; -EINVAL for a name. */
int wg_endpoint_parse(const char *s, WgEndpoint *ret) {
        const char *colon = strrchr(s, ':');
        char host[64];
        size_t len = (size_t) (colon - s);
        unsigned port = (unsigned) strtoul(colon + 1, NULL, 10); /* the caller checked host:port (endpoint_validate) */

        if (s[0] == '[') {
                if (len < 3 || len - 2 >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, len - 2);
                host[len - 2] = 0;
                *ret = (WgEndpoint) { .addr6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port) } };
                return inet_pton(AF_INET6, host, &ret->addr6.sin6_addr) == 1 ? 0 : -EINVAL;
        }
        if (len >= sizeof host)
                return -EINVAL;
        memcpy(host, s, len);
        host[len] = 0;
        *ret = (WgEndpoint) { .addr4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) } };
        return inet_pton(AF_INET, host, &ret->addr4.sin_addr) == 1 ? 0 : -EINVAL;
}
