/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "peer-bus.h"
#include "failure-injection.h"
#include "peer-wg.h"

static WgDevice *device_new(const Manager *m) {
        WgDevice *d = calloc(1, sizeof *d);
        if (d)
                snprintf(d->name, sizeof d->name, "%s", m->config.ifname);
        return d;
}

static bool wg_peer_matches(const WgPeer *have, const Peer *want) {
        WgKey zero = {};
        const uint8_t *psk = want->has_preshared_key ? want->preshared_key : zero;
        const WgAllowedIp *a = have->allowed_ips;

        if (memcmp(have->preshared_key, psk, WG_KEY_LEN) != 0 || have->persistent_keepalive != want->persistent_keepalive)
                return false;
        return a && !a->next && a->family == AF_INET && a->cidr == 32 && ntohl(a->ip4.s_addr) == want->address;
}

int peer_wg_reconcile_device(Manager *m, const WgDevice *have, WgDevice **ret) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new(m);
        _cleanup_(hashmap_freep) Hashmap *seen = hashmap_new(&string_hash_ops);
        char b64[WG_KEY_B64_LEN];
        Peer *p;
        int r;

        if (!d || !seen)
                return -ENOMEM;
        if (!(have->flags & WG_DEVICE_HAS_PRIVATE_KEY) || memcmp(have->private_key, m->cell.private_key, WG_KEY_LEN) != 0) {
                d->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
                memcpy(d->private_key, m->cell.private_key, WG_KEY_LEN);
        }
        if (have->listen_port != m->cell.listen_port) {
                d->flags |= WG_DEVICE_HAS_LISTEN_PORT;
                d->listen_port = m->cell.listen_port;
        }
        /* Peers already right are left alone, so their sessions survive a restart. */
        for (const WgPeer *w = have->peers; w; w = w->next) {
                key_to_base64(w->public_key, b64);
                p = hashmap_get(m->peers_by_key, b64);
                if (p && p->enabled && wg_peer_matches(w, p)) {
                        r = hashmap_put(seen, p->name, p);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (p && p->enabled)
                        continue; /* re-set below */
                WgPeer *gone = wg_device_append_peer(d);
                if (!gone)
                        return -ENOMEM;
                memcpy(gone->public_key, w->public_key, WG_KEY_LEN);
                gone->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
        }
        HASHMAP_FOREACH(p, m->peers_by_name)
                if (p->enabled && !hashmap_get(seen, p->name)) {
                        r = peer_to_wg(p, d);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(d);
        return 0;
}

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

int peer_wg_refresh_stats(Manager *m) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        int r = wg_backend_get_device(m->wg, &d);
        if (r < 0)
                return log_warning_errno(r, "Failed to read WireGuard statistics of %s: %m", m->config.ifname);
        for (const WgPeer *w = d->peers; w; w = w->next) {
                char b64[WG_KEY_B64_LEN], endpoint[sizeof(((Peer *) NULL)->endpoint)];
                key_to_base64(w->public_key, b64);
                Peer *p = hashmap_get(m->peers_by_key, b64);
                if (!p)
                        continue;

                const char *changed[5];
                size_t n = 0;
                format_endpoint(w, endpoint, sizeof endpoint);
                if (p->latest_handshake_usec != w->last_handshake_usec) {
                        p->latest_handshake_usec = w->last_handshake_usec;
                        changed[n++] = "LatestHandshake";
                }
                if (p->rx_bytes != w->rx_bytes) {
                        p->rx_bytes = w->rx_bytes;
                        changed[n++] = "RxBytes";
                }
                if (p->tx_bytes != w->tx_bytes) {
                        p->tx_bytes = w->tx_bytes;
                        changed[n++] = "TxBytes";
                }
                if (!streq(p->endpoint, endpoint)) {
                        snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
                        changed[n++] = "Endpoint";
                }
                changed[n] = NULL;
                if (n > 0)
                        peer_bus_emit_changed(p, (char **) changed);
        }
        return 0;
}
