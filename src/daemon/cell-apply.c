/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cell-apply.h"
#include "cell-firewall.h"
#include "failure-injection.h"
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

/* Everything an Apply changes, both versions kept until it is done, so that any
 * failure can put files, model, WireGuard and the firewall back as they were. */
typedef struct ApplyPlan {
        Cell cell;       /* the settings with the pending ones adopted */
        Peer **olds;     /* every peer, as it is */
        Peer **news;     /* its moved copy, or NULL when its address stays */
        bool *stored;    /* its moved copy's file is written */
        size_t n, n_swapped;
} ApplyPlan;

static void apply_plan_done(ApplyPlan *p, bool applied) {
        for (size_t i = 0; p->news && i < p->n; i++)
                if (p->news[i])
                        peer_free(applied ? p->olds[i] : p->news[i]);
        free(p->olds);
        free(p->news);
        free(p->stored);
        cell_done(&p->cell); /* the new settings if it failed, the old ones once they were replaced */
}

static int apply_plan_new(Manager *m, ApplyPlan *ret) {
        ApplyPlan p = { .n = hashmap_size(m->peers_by_name) };
        Peer *peer;
        size_t i = 0;
        int r;

        r = cell_copy(&m->cell, &p.cell);
        if (r < 0)
                return r;
        if (p.cell.pending_vpn_address)
                p.cell.vpn_address = p.cell.pending_vpn_address_value;
        if (p.cell.pending_listen_port)
                p.cell.listen_port = p.cell.pending_listen_port_value;
        p.cell.pending_vpn_address = p.cell.pending_listen_port = false;

        p.olds = calloc(p.n + 1, sizeof(Peer *));
        p.news = calloc(p.n + 1, sizeof(Peer *));
        p.stored = calloc(p.n + 1, sizeof(bool));
        if (!p.olds || !p.news || !p.stored) {
                apply_plan_done(&p, false);
                return -ENOMEM;
        }
        HASHMAP_FOREACH(peer, m->peers_by_name)
                p.olds[i++] = peer;
        for (i = 0; i < p.n; i++) {
                uint32_t addr = renumber(&m->cell.vpn_address, &p.cell.vpn_address, p.olds[i]->address);
                if (addr == p.olds[i]->address)
                        continue; /* the same subnet, or moved by an Apply cut short */
                r = peer_copy(p.olds[i], &p.news[i]);
                if (r < 0) {
                        apply_plan_done(&p, false);
                        return r;
                }
                p.news[i]->address = addr;
        }
        *ret = p;
        return 0;
}

/* Peers first (as one batch: one file system sync, not one per peer), then
 * cell.json: a start after a crash in between finishes the Apply. */
static int apply_store(Manager *m, ApplyPlan *p) {
        _cleanup_(freep) Peer **moved = calloc(p->n + 1, sizeof(Peer *));
        _cleanup_(freep) size_t *index = calloc(p->n + 1, sizeof(size_t));
        size_t n = 0, saved = 0;
        int r;

        if (!moved || !index)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++)
                if (p->news[i]) {
                        if (failure_injected(m, "state"))
                                return log_error_errno(-EIO, "Failed to store peer %s in the new subnet: %m",
                                                       p->news[i]->name);
                        index[n] = i;
                        moved[n++] = p->news[i];
                }
        r = state_save_peers(m->peers_fd, moved, n, &saved);
        for (size_t k = 0; k < saved; k++)
                p->stored[index[k]] = true;
        if (r < 0)
                return log_error_errno(r, "Failed to store the peers in the new subnet: %m");
        r = failure_injected(m, "state") ? -EIO : state_save_cell(m->state_fd, &p->cell);
        if (r < 0)
                return log_error_errno(r, "Failed to store the applied settings: %m");
        return 0;
}

static void apply_unstore(Manager *m, ApplyPlan *p) {
        int r = state_save_cell(m->state_fd, &m->cell);
        if (r < 0)
                log_error_errno(r, "Failed to restore cell.json: %m");
        for (size_t i = 0; i < p->n; i++)
                if (p->stored[i] && (r = state_save_peer(m->peers_fd, p->olds[i])) < 0)
                        log_error_errno(r, "Failed to restore peers/%s.json: %m", p->olds[i]->name);
}

/* Swaps the moved copies into the model without freeing what they replace. */
static int apply_swap(Manager *m, ApplyPlan *p) {
        for (; p->n_swapped < p->n; p->n_swapped++) {
                size_t i = p->n_swapped;
                if (!p->news[i])
                        continue;
                int r = failure_injected(m, "index") ? -ENOMEM : manager_swap_peer(m, p->olds[i], p->news[i]);
                if (r < 0)
                        return r;
        }
        Cell c = m->cell;
        m->cell = p->cell;
        p->cell = c; /* the old settings, for an undo */
        return 0;
}

static void apply_unswap(Manager *m, ApplyPlan *p, bool cell_swapped) {
        if (cell_swapped) {
                Cell c = m->cell;
                m->cell = p->cell;
                p->cell = c;
        }
        for (size_t i = 0; i < p->n_swapped; i++)
                if (p->news[i])
                        (void) manager_swap_peer(m, p->news[i], p->olds[i]);
}

int cell_apply_pending(Manager *m, bool kernel) {
        ApplyPlan p;
        bool swapped = false, firewall_refused = false;
        int r;

        r = apply_plan_new(m, &p);
        if (r < 0)
                return r;
        r = apply_store(m, &p);
        if (r >= 0) {
                r = apply_swap(m, &p);
                swapped = r >= 0;
        }
        if (r >= 0 && kernel) {
                r = manager_reconcile(m);
                if (r >= 0) {
                        r = cell_firewall_rebuild(m);
                        firewall_refused = r < 0;
                }
        }
        if (r >= 0) {
                apply_plan_done(&p, true);
                return 0;
        }

        /* Undo, last step first. A refused firewall batch changed nothing in the kernel. */
        apply_unswap(m, &p, swapped);
        if (kernel && swapped) {
                int k = manager_reconcile(m);
                if (k < 0)
                        log_error_errno(k, "Failed to put WireGuard back after a failed Apply: %m");
                if (firewall_refused)
                        m->firewall_stale = false; /* the table in the kernel is the old one, which matches again */
        }
        apply_unstore(m, &p);
        apply_plan_done(&p, false);
        return r;
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
        r = cell_apply_pending(m, false); /* the kernel side is rebuilt right after */
        if (r < 0)
                return log_error_errno(r, "Failed to finish the interrupted Apply: %m");
        return 1;
}
