/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
