/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "cell-firewall.h"
#include "failure-injection.h"
#include "peer-wg.h"
#include "time-util.h"

static WgDevice *device_new(const Manager *m) {
        WgDevice *d = calloc(1, sizeof *d);
        if (d)
                snprintf(d->name, sizeof d->name, "%s", m->config.ifname);
        return d;
}

static int peer_wg_contribute(Manager *m, WgDevice *d) {
        Peer *p;
        int r;

        HASHMAP_FOREACH(p, m->peers_by_name)
                if (p->enabled && (r = peer_to_wg(p, d)) < 0)
                        return r;
        return 0;
}

const Contributor peer_contributor = {
        .kind = "peer",
        .wireguard = peer_wg_contribute,
        .firewall = peer_firewall_contribute,
};

/* Whether two versions of a peer make the same WireGuard peer entry. */
static bool peer_wg_equal(const Peer *a, const Peer *b) {
        return a->enabled == b->enabled && a->address == b->address &&
               a->persistent_keepalive == b->persistent_keepalive && a->has_preshared_key == b->has_preshared_key &&
               memcmp(a->public_key, b->public_key, WG_KEY_LEN) == 0 &&
               (!a->has_preshared_key || memcmp(a->preshared_key, b->preshared_key, WG_KEY_LEN) == 0);
}

int peer_wg_apply_change(Manager *m, const Peer *old, const Peer *new) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new(m);
        int r;

        if (!d)
                return -ENOMEM;
        bool old_live = old && old->enabled, new_live = new && new->enabled;
        if (old && new && peer_wg_equal(old, new))
                return 0; /* e.g. a new login password: nothing for WireGuard */
        if (old_live && (!new_live || memcmp(old->public_key, new->public_key, WG_KEY_LEN) != 0)) {
                WgPeer *w = wg_device_append_peer(d);
                if (!w)
                        return -ENOMEM;
                memcpy(w->public_key, old->public_key, WG_KEY_LEN);
                w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
        }
        if (new_live) {
                r = peer_to_wg(new, d);
                if (r < 0)
                        return r;
        }
        if (!d->peers)
                return 0;
        /* Callers waited for the device (manager_wait_wireguard); it may have died since. */
        if (!m->wg_ready)
                return -ENETDOWN;
        if (failure_injected(m, "wireguard"))
                return -EIO;
        return wg_backend_set_device(m->wg, d);
}

int peer_wg_set_peers(Manager *m, Peer *const *peers, size_t n, bool remove) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new(m);
        int r;

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!peers[i]->enabled)
                        continue;
                if (remove) {
                        WgPeer *w = wg_device_append_peer(d);
                        if (!w)
                                return -ENOMEM;
                        memcpy(w->public_key, peers[i]->public_key, WG_KEY_LEN);
                        w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
                } else if ((r = peer_to_wg(peers[i], d)) < 0)
                        return r;
        }
        if (!d->peers)
                return 0;
        if (!m->wg_ready)
                return -ENETDOWN;
        if (!remove && failure_injected(m, "wireguard"))
                return -EIO;
        return wg_backend_set_device(m->wg, d);
}

static void format_endpoint(const WgPeer *w, char *buf, size_t size) {
        char host[INET6_ADDRSTRLEN];
        buf[0] = 0;
        if (!(w->flags & WG_PEER_HAS_ENDPOINT))
                return;
        if (w->endpoint.addr.sa_family == AF_INET)
                snprintf(buf, size, "%s:%u", inet_ntop(AF_INET, &w->endpoint.addr4.sin_addr, host, sizeof host),
                         ntohs(w->endpoint.addr4.sin_port));
        else if (w->endpoint.addr.sa_family == AF_INET6)
                snprintf(buf, size, "[%s]:%u", inet_ntop(AF_INET6, &w->endpoint.addr6.sin6_addr, host, sizeof host),
                         ntohs(w->endpoint.addr6.sin6_port));
}

int peer_wg_refresh_stats(Manager *m, const WgDevice *d, PeerStatsChange **ret, size_t *ret_n) {
        _cleanup_(freep) PeerStatsChange *changes = NULL;
        size_t n = 0, allocated = 0;
        uint64_t now = now_usec(CLOCK_REALTIME);
        int r;

        for (const WgPeer *w = d->peers; w; w = w->next) {
                char b64[WG_KEY_B64_LEN], endpoint[sizeof(((Peer *) NULL)->endpoint)];
                key_to_base64(w->public_key, b64);
                Peer *p = hashmap_get(m->peers_by_key, b64);
                if (!p)
                        continue; /* another kind's peer */

                PeerStatsChange c = { .peer = p };
                size_t k = 0;
                format_endpoint(w, endpoint, sizeof endpoint);
                if (p->latest_handshake_usec != w->last_handshake_usec) {
                        p->latest_handshake_usec = w->last_handshake_usec;
                        c.names[k++] = "LatestHandshake";
                }
                if (p->rx_bytes != w->rx_bytes) {
                        p->rx_bytes = w->rx_bytes;
                        c.names[k++] = "RxBytes";
                }
                if (p->tx_bytes != w->tx_bytes) {
                        p->tx_bytes = w->tx_bytes;
                        c.names[k++] = "TxBytes";
                }
                if (!streq(p->endpoint, endpoint)) {
                        snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
                        c.names[k++] = "Endpoint";
                }
                if (p->connected != peer_is_connected(p, now)) { /* a handshake, or 180 s without one */
                        p->connected = !p->connected;
                        c.names[k++] = "Connected";
                }
                if (k == 0)
                        continue;
                r = greedy_realloc((void **) &changes, &allocated, n + 1, sizeof *changes);
                if (r < 0)
                        return r;
                changes[n++] = c;
        }
        *ret = TAKE_PTR(changes);
        *ret_n = n;
        return 0;
}
