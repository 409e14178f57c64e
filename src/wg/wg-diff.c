/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "hashmap.h"
#include "wg-diff.h"

static bool allowed_ip_equal(const WgAllowedIp *a, const WgAllowedIp *b) {
        if (a->family != b->family || a->cidr != b->cidr)
                return false;
        return a->family == AF_INET ? a->ip4.s_addr == b->ip4.s_addr
                                    : memcmp(&a->ip6, &b->ip6, sizeof a->ip6) == 0;
}

static size_t count_allowed_ips(const WgAllowedIp *a) {
        size_t n = 0;
        for (; a; a = a->next)
                n++;
        return n;
}

/* The same set of allowed IPs, in any order (the kernel keeps its own). */
static bool allowed_ips_equal(const WgAllowedIp *a, const WgAllowedIp *b) {
        if (count_allowed_ips(a) != count_allowed_ips(b))
                return false;
        for (const WgAllowedIp *i = a; i; i = i->next) {
                const WgAllowedIp *j = b;
                while (j && !allowed_ip_equal(i, j))
                        j = j->next;
                if (!j)
                        return false;
        }
        return true;
}

static bool peer_matches(const WgPeer *want, const WgPeer *have) {
        WgKey zero = {};
        const uint8_t *psk = (want->flags & WG_PEER_HAS_PRESHARED_KEY) ? want->preshared_key : zero;

        return memcmp(have->preshared_key, psk, WG_KEY_LEN) == 0 &&
               have->persistent_keepalive == want->persistent_keepalive &&
               allowed_ips_equal(want->allowed_ips, have->allowed_ips);
}

static int copy_peer(WgDevice *d, const WgPeer *src) {
        WgPeer *p = wg_device_append_peer(d);
        if (!p)
                return -ENOMEM;
        p->flags = src->flags | WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS;
        memcpy(p->public_key, src->public_key, WG_KEY_LEN);
        memcpy(p->preshared_key, src->preshared_key, WG_KEY_LEN);
        p->persistent_keepalive = src->persistent_keepalive;
        p->endpoint = src->endpoint;
        for (const WgAllowedIp *a = src->allowed_ips; a; a = a->next)
                if (!wg_peer_append_allowed_ip(p, a->family, a->family == AF_INET ? (const void *) &a->ip4
                                                                                : (const void *) &a->ip6, a->cidr))
                        return -ENOMEM;
        return 0;
}

/* A key as a map key (the maps take strings). */
static char *key_string(const WgKey k, char buf[static 2 * WG_KEY_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < WG_KEY_LEN; i++) {
                buf[2 * i] = hex[k[i] >> 4];
                buf[2 * i + 1] = hex[k[i] & 15];
        }
        buf[2 * WG_KEY_LEN] = 0;
        return buf;
}

typedef struct Wanted {
        char key[2 * WG_KEY_LEN + 1];
        const WgPeer *peer;
        bool right; /* the device already holds it as wanted */
} Wanted;

int wg_device_diff(const WgDevice *want, const WgDevice *have, WgDevice **ret) {
        _cleanup_(wg_device_freep) WgDevice *d = calloc(1, sizeof *d);
        _cleanup_(hashmap_freep) Hashmap *wanted = hashmap_new(&string_hash_ops);
        _cleanup_(freep) Wanted *entries = calloc(wg_device_count_peers(want) + 1, sizeof(Wanted));
        size_t n = 0;
        char k[2 * WG_KEY_LEN + 1];
        int r;

        if (!d || !wanted || !entries)
                return -ENOMEM;
        memcpy(d->name, want->name, sizeof d->name);
        if ((want->flags & WG_DEVICE_HAS_PRIVATE_KEY) &&
            (!(have->flags & WG_DEVICE_HAS_PRIVATE_KEY) || memcmp(have->private_key, want->private_key, WG_KEY_LEN) != 0)) {
                d->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
                memcpy(d->private_key, want->private_key, WG_KEY_LEN);
        }
        if ((want->flags & WG_DEVICE_HAS_LISTEN_PORT) && have->listen_port != want->listen_port) {
                d->flags |= WG_DEVICE_HAS_LISTEN_PORT;
                d->listen_port = want->listen_port;
        }

        for (const WgPeer *w = want->peers; w; w = w->next) {
                Wanted *e = &entries[n++];
                key_string(w->public_key, e->key);
                e->peer = w;
                r = hashmap_put(wanted, e->key, e);
                if (r == -EEXIST)
                        return -EINVAL; /* two kinds want the same peer: a conflict their checks missed */
                if (r < 0)
                        return r;
        }
        for (const WgPeer *h = have->peers; h; h = h->next) {
                Wanted *e = hashmap_get(wanted, key_string(h->public_key, k));
                if (e) {
                        e->right = peer_matches(e->peer, h); /* if not, set again below */
                        continue;
                }
                WgPeer *gone = wg_device_append_peer(d);
                if (!gone)
                        return -ENOMEM;
                memcpy(gone->public_key, h->public_key, WG_KEY_LEN);
                gone->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
        }
        for (size_t i = 0; i < n; i++)
                if (!entries[i].right) {
                        r = copy_peer(d, entries[i].peer);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(d);
        return 0;
}
