/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "desired.h"
#include "link-wg.h"
#include "peer-wg.h"
#include "test-kind.h"

static const Contributor *const contributors[] = {
        &peer_contributor,
        &link_contributor,
        &test_kind_contributor,
};

int firewall_peer_list_push(FirewallPeerList *l, FirewallPeer p) {
        int r = greedy_realloc((void **) &l->items, &l->allocated, l->n + 1, sizeof *l->items);
        if (r < 0)
                return r;
        l->items[l->n++] = p;
        return 0;
}

void firewall_peer_list_done(FirewallPeerList *l) {
        free(l->items);
        *l = (FirewallPeerList) {};
}

int desired_wireguard(Manager *m, WgDevice **ret) {
        _cleanup_(wg_device_freep) WgDevice *d = calloc(1, sizeof *d);
        int r;

        if (!d)
                return -ENOMEM;
        snprintf(d->name, sizeof d->name, "%s", m->config.ifname);
        d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
        memcpy(d->private_key, m->cell.private_key, WG_KEY_LEN);
        d->listen_port = m->cell.listen_port;
        for (size_t i = 0; i < ELEMENTSOF(contributors); i++)
                if (contributors[i]->wireguard && (r = contributors[i]->wireguard(m, d)) < 0)
                        return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int desired_firewall(Manager *m, FirewallPeerList *ret) {
        FirewallPeerList l = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(contributors); i++)
                if (contributors[i]->firewall && (r = contributors[i]->firewall(m, &l)) < 0) {
                        firewall_peer_list_done(&l);
                        return r;
                }
        *ret = l;
        return 0;
}
