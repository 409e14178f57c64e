/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cell-apply.h"
#include "log.h"
#include "state.h"

/* The same host number in another subnet. */
static uint32_t renumber(const Cidr4 *from, const Cidr4 *to, uint32_t addr) {
        return cidr4_network(to) | (addr & ~cidr4_netmask(from->prefix));
}

Peer *cell_apply_misfit(Manager *m, const Cidr4 *to) {
        const Cidr4 *from = &m->cell.vpn_address;
        Peer *p;

        HASHMAP_FOREACH(p, m->peers_by_name) {
                uint32_t n = renumber(from, to, p->address);
                if (!cidr4_is_host(to, n) || n == to->addr ||
                    (p->address & ~cidr4_netmask(from->prefix)) > ~cidr4_netmask(to->prefix))
                        return p;
        }
        return NULL;
}

static int move_peers(Manager *m, const Cidr4 *from, const Cidr4 *to) {
        size_t n = hashmap_size(m->peers_by_name), i = 0;
        _cleanup_(freep) Peer **olds = calloc(n + 1, sizeof(Peer *));
        Peer *p;
        int r;

        if (!olds)
                return -ENOMEM;
        HASHMAP_FOREACH(p, m->peers_by_name)
                olds[i++] = p;
        for (i = 0; i < n; i++) {
                uint32_t addr = renumber(from, to, olds[i]->address);
                if (addr == olds[i]->address)
                        continue; /* already moved by an Apply cut short */
                Peer *new;
                r = peer_copy(olds[i], &new);
                if (r < 0)
                        return r;
                new->address = addr;
                r = state_save_peer(m->peers_fd, new);
                if (r >= 0)
                        r = manager_replace_peer(m, olds[i], new);
                if (r < 0) {
                        peer_free(new);
                        return r;
                }
        }
        return 0;
}

int cell_apply_pending(Manager *m) {
        Cell c;
        int r;

        r = cell_copy(&m->cell, &c);
        if (r < 0)
                return r;
        if (c.pending_vpn_address)
                c.vpn_address = c.pending_vpn_address_value;
        if (c.pending_listen_port)
                c.listen_port = c.pending_listen_port_value;
        c.pending_vpn_address = c.pending_listen_port = false;

        r = move_peers(m, &m->cell.vpn_address, &c.vpn_address);
        if (r >= 0)
                r = state_save_cell(m->state_fd, &c);
        if (r < 0) {
                cell_done(&c);
                return r;
        }
        cell_done(&m->cell);
        m->cell = c;
        return 0;
}

int cell_apply_finish_interrupted(Manager *m) {
        const Cidr4 *pending = &m->cell.pending_vpn_address_value;
        Peer *p;
        int r;

        if (!m->cell.pending_vpn_address)
                return 0;
        HASHMAP_FOREACH(p, m->peers_by_name)
                if (!cidr4_contains(&m->cell.vpn_address, p->address) && cidr4_contains(pending, p->address))
                        break;
        if (!p)
                return 0;
        log_notice("Peer %s is already in the pending subnet: finishing an Apply that was cut short.", p->name);
        r = cell_apply_pending(m);
        if (r < 0)
                return log_error_errno(r, "Failed to finish the interrupted Apply: %m");
        return 1;
}
