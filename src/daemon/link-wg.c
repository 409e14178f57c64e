/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit-cell.h"
#include "link-bus.h"
#include "link-exit.h"
#include "link-wg.h"
#include "link.h"
#include "log.h"
#include "netlink/rtnl-route.h"
#include "netlink/rtnl.h"
#include "time-util.h"
#include "unit-targets.h"

static int link_wg_contribute(Manager *m, WgDevice *d) {
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name) {
                int r = link_to_wg(l, d);
                if (r < 0)
                        return r;
        }
        return link_exit_wg_contribute(m, d); /* the tunnels of cells this one is the exit of */
}

static int link_firewall_contribute(Manager *m, FirewallPeerList *l) {
        return link_exit_firewall_contribute(m, l);
}

const Contributor link_contributor = {
        .kind = "link",
        .wireguard = link_wg_contribute,
        .firewall = link_firewall_contribute,
};

int link_wg_set_endpoint(Manager *m, const Link *l) {
        if (!m->wg_ready || !l->remote.endpoint)
                return 0;
        _cleanup_(wg_device_freep) WgDevice *d = calloc(1, sizeof *d);
        WgPeer *w = d ? wg_device_append_peer(d) : NULL;
        if (!w)
                return -ENOMEM;
        snprintf(d->name, sizeof d->name, "%s", m->config.ifname);
        memcpy(w->public_key, l->wg_key, WG_KEY_LEN);
        if (wg_endpoint_parse(l->remote.endpoint, &w->endpoint) < 0)
                return 0; /* a name: WireGuard takes addresses only */
        w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_ENDPOINT;
        return wg_backend_set_device(m->wg, d);
}

static Link *link_by_key(Manager *m, const WgKey key) {
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name)
                if (memcmp(l->wg_key, key, WG_KEY_LEN) == 0)
                        return l;
        return NULL;
}

void link_wg_refresh_stats(Manager *m, const WgDevice *d) {
        uint64_t now = now_usec(CLOCK_REALTIME);

        if (hashmap_size(m->links_by_name) == 0)
                return;
        for (const WgPeer *w = d->peers; w; w = w->next) {
                Link *l = link_by_key(m, w->public_key); /* links are few: a scan is fine */
                if (!l)
                        continue;
                const char *names[5];
                size_t k = 0;
                if (w->flags & WG_PEER_HAS_ENDPOINT) {
                        bool learned = l->seen_endpoint.addr.sa_family == 0 && w->endpoint.addr.sa_family != 0;
                        l->seen_endpoint = w->endpoint;
                        if (learned && l->remote_exit_offered)
                                exit_cell_sync(m, l); /* it was waiting to learn where the cell is */
                }
                if (l->latest_handshake_usec != w->last_handshake_usec) {
                        l->latest_handshake_usec = w->last_handshake_usec;
                        names[k++] = "LatestHandshake";
                }
                if (!l->confirmed && l->latest_handshake_usec > l->created_usec) {
                        /* the other side has the link too: it is kept from now on (a handshake from
                         * before this pairing, with the same key, proves nothing about it) */
                        l->confirmed = true;
                        if (link_bus_store(m, l) < 0)
                                l->confirmed = false; /* stored on the next tick */
                        else
                                log_info("The link with cell %s is confirmed (first handshake).", l->remote.name);
                }
                if (l->rx_bytes != w->rx_bytes) {
                        l->rx_bytes = w->rx_bytes;
                        names[k++] = "RxBytes";
                }
                if (l->tx_bytes != w->tx_bytes) {
                        l->tx_bytes = w->tx_bytes;
                        names[k++] = "TxBytes";
                }
                const char *state = link_state(l, now);
                if (!l->announced_state || !streq(l->announced_state, state)) {
                        l->announced_state = state;
                        names[k++] = "State";
                        unit_targets_set(m, UNIT_TARGET_LINK, l->remote.name, streq(state, "connected"));
                }
                names[k] = NULL;
                if (k > 0)
                        link_bus_emit_changed(l, (char **) names);
        }
}

int link_wg_sync_routes(Manager *m) {
        _cleanup_(freep) RtnlRoute *want = NULL;
        size_t n = 0, total = hashmap_size(m->links_by_name);
        Link *l;

        int ifindex = rtnl_link_index(m->config.ifname);
        if (ifindex <= 0)
                return ifindex < 0 ? ifindex : -ENODEV;
        if (total > 0 && !(want = calloc(total, sizeof *want)))
                return -ENOMEM;
        HASHMAP_FOREACH(l, m->links_by_name)
                want[n++] = (RtnlRoute) {
                        .family = AF_INET,
                        .dst_prefixlen = l->subnet.prefix,
                        .dst.ip4.s_addr = htonl(cidr4_network(&l->subnet)),
                        .oif = ifindex,
                };
        int r = rtnl_route_sync(AF_INET, RT_TABLE_MAIN, RTNL_PROTO_PIC, want, n);
        if (r < 0)
                return log_warning_errno(r, "Failed to route the linked cells' subnets through %s: %m",
                                         m->config.ifname);
        return 0;
}
