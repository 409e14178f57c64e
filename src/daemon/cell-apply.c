/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus-api.h"
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
        bool fail_peers, fail_cell; /* tests: failure-injection.h */
        unsigned delay_ms;
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
 * cell.json: a start after a crash in between finishes the Apply. Touches
 * only files, the plan and (read-only) the old peers, so it may run on a
 * thread while the loop serves others and no other change runs. */
static int apply_store(int peers_fd, int state_fd, ApplyPlan *p) {
        _cleanup_(freep) Peer **moved = calloc(p->n + 1, sizeof(Peer *));
        _cleanup_(freep) size_t *index = calloc(p->n + 1, sizeof(size_t));
        size_t n = 0, saved = 0;
        int r;

        if (!moved || !index)
                return -ENOMEM;
        if (p->fail_peers)
                return log_error_errno(-EIO, "Failed to store the peers in the new subnet: %m");
        for (size_t i = 0; i < p->n; i++)
                if (p->news[i]) {
                        index[n] = i;
                        moved[n++] = p->news[i];
                }
        r = state_save_peers(peers_fd, moved, n, &saved);
        for (size_t k = 0; k < saved; k++)
                p->stored[index[k]] = true;
        if (r < 0)
                return log_error_errno(r, "Failed to store the peers in the new subnet: %m");
        r = p->fail_cell ? -EIO : state_save_cell(state_fd, &p->cell);
        if (r < 0)
                return log_error_errno(r, "Failed to store the applied settings: %m");
        return 0;
}

static void apply_unstore(int peers_fd, int state_fd, const Cell *old, ApplyPlan *p) {
        int r = state_save_cell(state_fd, old);
        if (r < 0)
                log_error_errno(r, "Failed to restore cell.json: %m");
        for (size_t i = 0; i < p->n; i++)
                if (p->stored[i] && (r = state_save_peer(peers_fd, p->olds[i])) < 0)
                        log_error_errno(r, "Failed to restore peers/%s.json: %m", p->olds[i]->name);
}

/* Test hooks are asked on the loop, before the files are handed to a thread. */
static void apply_decide_failures(Manager *m, ApplyPlan *p) {
        for (size_t i = 0; i < p->n && !p->fail_peers; i++)
                if (p->news[i])
                        p->fail_peers = failure_injected(m, "state");
        p->fail_cell = !p->fail_peers && failure_injected(m, "state");
        p->delay_ms = failure_delay_ms(m, "apply-delay");
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
        m->next_address = 0; /* another subnet: searches start from its beginning */
        return 0;
}

static void apply_unswap(Manager *m, ApplyPlan *p, bool cell_swapped) {
        if (cell_swapped) {
                Cell c = m->cell;
                m->cell = p->cell;
                p->cell = c;
                m->next_address = 0;
        }
        for (size_t i = 0; i < p->n_swapped; i++)
                if (p->news[i])
                        (void) manager_swap_peer(m, p->news[i], p->olds[i]);
}

/* The loop's part once the files are stored (store_result): the model, then
 * WireGuard and the firewall; any failure puts everything back. */
static int apply_finish(Manager *m, ApplyPlan *p, int store_result, bool kernel) {
        bool swapped = false, firewall_refused = false;
        int r = store_result;

        if (r >= 0) {
                r = apply_swap(m, p);
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
                apply_plan_done(p, true);
                return 0;
        }

        /* Undo, last step first. A refused firewall batch changed nothing in the kernel. */
        apply_unswap(m, p, swapped);
        if (kernel && swapped) {
                int k = manager_reconcile(m);
                if (k < 0)
                        log_error_errno(k, "Failed to put WireGuard back after a failed Apply: %m");
                if (firewall_refused)
                        m->firewall_stale = false; /* the table in the kernel is the old one, which matches again */
        }
        if (store_result >= 0) /* a failed store was undone where it ran */
                apply_unstore(m->peers_fd, m->state_fd, &m->cell, p);
        apply_plan_done(p, false);
        return r;
}

int cell_apply_pending(Manager *m, bool kernel) {
        ApplyPlan p;
        int r = apply_plan_new(m, &p);
        if (r < 0)
                return r;
        apply_decide_failures(m, &p);
        r = apply_store(m->peers_fd, m->state_fd, &p);
        if (r < 0)
                apply_unstore(m->peers_fd, m->state_fd, &m->cell, &p);
        return apply_finish(m, &p, r, kernel);
}

/* An Apply whose files are being written by a thread. */
struct ApplyOperation {
        Manager *manager;
        ApplyPlan plan;
        pthread_t thread;
        int done_fd;
        sd_event_source *done_source;
        int store_result;
        ApplyDone done;
        void *userdata;
};

static void *apply_thread(void *userdata) {
        ApplyOperation *op = userdata;
        Manager *m = op->manager;
        uint64_t one = 1;

        /* m->cell and the old peers do not change while it runs: every change waits (manager_wait_idle). */
        if (op->plan.delay_ms > 0)
                (void) usleep(op->plan.delay_ms * 1000);
        op->store_result = apply_store(m->peers_fd, m->state_fd, &op->plan);
        if (op->store_result < 0)
                apply_unstore(m->peers_fd, m->state_fd, &m->cell, &op->plan);
        (void) write(op->done_fd, &one, sizeof one);
        return NULL;
}

static void apply_operation_free(ApplyOperation *op) {
        sd_event_source_disable_unref(op->done_source);
        if (op->done_fd >= 0)
                close(op->done_fd);
        free(op);
}

static int on_apply_stored(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ApplyOperation *op = userdata;
        Manager *m = op->manager;

        pthread_join(op->thread, NULL);
        int r = apply_finish(m, &op->plan, op->store_result, true);
        m->apply = NULL;
        op->done(m, r, op->userdata);
        apply_operation_free(op);
        wait_list_answer_all(&m->idle_waiters, m->bus, 1); /* the changes that waited run now */
        return 0;
}

int cell_apply_start(Manager *m, ApplyDone done, void *userdata) {
        ApplyOperation *op = calloc(1, sizeof *op);
        int r;

        if (!op)
                return -ENOMEM;
        op->manager = m;
        op->done = done;
        op->userdata = userdata;
        op->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (op->done_fd < 0) {
                r = -errno;
                free(op);
                return r;
        }
        r = apply_plan_new(m, &op->plan);
        if (r < 0) {
                apply_operation_free(op);
                return r;
        }
        apply_decide_failures(m, &op->plan);
        r = sd_event_add_io(m->event, &op->done_source, op->done_fd, EPOLLIN, on_apply_stored, op);
        if (r >= 0)
                r = -pthread_create(&op->thread, NULL, apply_thread, op);
        if (r < 0) {
                apply_plan_done(&op->plan, false);
                apply_operation_free(op);
                return r;
        }
        m->apply = op;
        log_debug("Applying the pending settings: %zu peers' files being written.", op->plan.n);
        return 0;
}

void cell_apply_abandon(Manager *m) {
        ApplyOperation *op = m->apply;
        if (!op)
                return;
        /* Shutting down: let the thread finish its files (the next start reads whatever they say). */
        pthread_join(op->thread, NULL);
        apply_plan_done(&op->plan, false);
        apply_operation_free(op);
        m->apply = NULL;
}

int manager_wait_idle(Manager *m, sd_bus_message *message) {
        if (m->restored) { /* the state on disk is a backup's now: nothing is changed from the old model */
                (void) sd_bus_reply_method_errorf(message, PIC_ERROR_CONFLICT,
                                                  "The cell is restarting to load a restored backup; try again in a "
                                                  "moment.");
                return 0;
        }
        int r = wait_list_answer(&m->idle_waiters, message);
        if (r != -ENOENT && r < 0)
                return r;
        if (!m->apply)
                return 1;
        r = wait_list_add(&m->idle_waiters, message);
        return r < 0 ? r : 0;
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
