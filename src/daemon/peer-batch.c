/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Many new peers at once: the core of Manager.AddPeers. */
#include "cell-firewall.h"
#include "failure-injection.h"
#include "link-exit.h"
#include "log.h"
#include "manager.h"
#include "peer-wg.h"
#include "state.h"

typedef struct TakenCheck {
        Manager *manager;
        bool (*is_taken)(uint32_t addr, void *userdata);
        void *userdata;
} TakenCheck;

/* The caller's notion of taken, and a linked cell's exit tunnel's address (link-exit.h) too. */
static bool taken_or_exit_tunnel(uint32_t addr, void *userdata) {
        TakenCheck *c = userdata;
        return c->is_taken(addr, c->userdata) || link_exit_by_address(c->manager, addr);
}

int manager_allocate_address(Manager *m, uint32_t start, bool (*is_taken)(uint32_t addr, void *userdata),
                             void *userdata, uint32_t *ret) {
        TakenCheck check = { m, is_taken, userdata };
        /* Every address below the hint is taken (manager.c keeps it so), so this is the lowest free one. */
        bool from_hint = start <= m->next_address;
        int r = cidr4_allocate_from(&m->cell.vpn_address, MAX(start, m->next_address), taken_or_exit_tunnel, &check,
                                    ret);
        if (r >= 0 && from_hint)
                m->next_address = *ret; /* all before it are taken; it is free until a peer takes it */
        return r;
}

static void unstore(Manager *m, Peer *const *peers, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = state_remove_peer(m->peers_fd, peers[i]->name);
                if (r < 0)
                        log_error_errno(r, "Failed to remove peers/%s.json again: %m", peers[i]->name);
        }
}

int manager_commit_new_peers(Manager *m, Peer *const *peers, size_t n) {
        size_t stored = 0, indexed = 0;
        int r, k;

        r = failure_injected(m, "state") ? -EIO : state_save_peers(m->peers_fd, peers, n, &stored);
        if (r < 0) {
                log_error_errno(r, "Failed to store %zu new peers: %m", n);
                goto undo_state;
        }
        r = peer_wg_set_peers(m, peers, n, false);
        if (r < 0) {
                log_error_errno(r, "Failed to add %zu peers to WireGuard: %m", n);
                goto undo_state;
        }
        r = cell_firewall_add_peers(m, peers, n);
        if (r < 0) {
                log_error_errno(r, "Failed to add %zu peers to the firewall: %m", n);
                goto undo_wireguard;
        }
        for (; indexed < n; indexed++) {
                r = failure_injected(m, "index") ? -ENOMEM : manager_add_peer(m, peers[indexed]);
                if (r < 0)
                        goto undo_index;
        }
        dns_records_resync(m); /* in slices after the reply, not 10,000 files before it */
        return 0;

        /* In reverse, so a failure leaves files, WireGuard and the firewall as they were. */
undo_index:
        for (size_t i = 0; i < indexed; i++)
                manager_unindex_peer(m, peers[i]);
        for (size_t i = 0; i < n; i++)
                if ((k = cell_firewall_peer_change(m, peers[i], NULL)) < 0)
                        log_error_errno(k, "Failed to remove the firewall elements of peer %s again: %m",
                                        peers[i]->name);
undo_wireguard:
        k = peer_wg_set_peers(m, peers, n, true);
        if (k < 0)
                log_error_errno(k, "Failed to remove %zu peers from WireGuard again: %m", n);
undo_state:
        unstore(m, peers, stored);
        return r;
}
