/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-api.h"
#include "exit-bus.h"
#include "exit-cell.h"
#include "exit-run.h"
#include "keys.h"
#include "link-bus.h"
#include "link-push.h"
#include "log.h"
#include "manager.h"
#include "time-util.h"

static Exit *cell_exit(Manager *m, const Link *l) {
        Exit *e = hashmap_get(m->exits_by_name, l->remote.name);
        return e && e->type == EXIT_TYPE_CELL ? e : NULL;
}

int exit_cell_public_key(Manager *m, const Link *l, char ret[static WG_KEY_B64_LEN]) {
        WgKey pub;
        Exit *e = cell_exit(m, l);
        if (!e)
                return -ENOENT;
        key_public_from_private(pub, e->cell_private_key);
        key_to_base64(pub, ret);
        return 0;
}

/* Made on the first offer, with a key of its own (stored before it is told). */
static Exit *create(Manager *m, Link *l) {
        _cleanup_(exit_freep) Exit *e = NULL;
        unsigned number = exit_bus_free_number(m);

        if (hashmap_get(m->exits_by_name, l->remote.name)) {
                log_warning("Cell %s offers its exit, but an exit of that name exists here: rename or remove it.",
                            l->remote.name);
                return NULL;
        }
        if (number == 0 || exit_new(l->remote.name, EXIT_TYPE_CELL, number, &e) < 0 ||
            key_generate_private(e->cell_private_key) < 0) {
                log_warning("Cell %s offers its exit, but this cell cannot take another one.", l->remote.name);
                return NULL;
        }
        e->created_usec = now_usec(CLOCK_REALTIME);
        int r = exit_bus_store(m, e);
        if (r >= 0)
                r = exit_bus_index(m, e);
        if (r < 0) {
                log_warning_errno(r, "Cannot store the exit through cell %s: %m", l->remote.name);
                return NULL;
        }
        Exit *added = TAKE_PTR(e);
        (void) sd_bus_emit_object_added(m->bus, added->object_path);
        exit_bus_steer_all(m);
        log_info("Cell %s offers its uplink: exit %s (number %u).", l->remote.name, added->name, added->number);
        return added;
}

/* Where the other cell's WireGuard answers: its endpoint when that is an address, else where
 * its packets last came from. */
static bool endpoint_of(const Link *l, char *buf, size_t size) {
        WgEndpoint ep;
        char host[INET_ADDRSTRLEN];

        if (wg_endpoint_parse(l->remote.endpoint, &ep) >= 0) {
                snprintf(buf, size, "%s", l->remote.endpoint);
                return true;
        }
        if (l->seen_endpoint.addr.sa_family != AF_INET ||
            !inet_ntop(AF_INET, &l->seen_endpoint.addr4.sin_addr, host, sizeof host))
                return false;
        snprintf(buf, size, "%s:%u", host, ntohs(l->seen_endpoint.addr4.sin_port));
        return true;
}

void exit_cell_sync(Manager *m, Link *l) {
        char endpoint[64];
        Exit *e = cell_exit(m, l);

        if (!e && !l->remote_exit_offered)
                return;
        if (!e && !(e = create(m, l)))
                return;
        if (!l->remote_exit_offered) {
                if (e->running)
                        exit_run_stop(m, e);
                exit_run_set_error(e, "Cell %s does not offer its exit (any more).", l->remote.name);
                return;
        }
        if (!l->remote_exit_address) {
                if (!l->exit_key_pending) { /* it has no key of this cell's (or lost it): send it */
                        l->exit_key_pending = true;
                        if (link_bus_store(m, l) < 0)
                                l->exit_key_pending = false;
                        else
                                (void) link_push_pending(m, l);
                }
                exit_run_set_error(e, "Waiting for cell %s to take this cell's tunnel key and give it an address.",
                                  l->remote.name);
                return;
        }
        if (!endpoint_of(l, endpoint, sizeof endpoint)) {
                exit_run_set_error(e, "Waiting to learn where cell %s is (its endpoint %s is a name; its first "
                                  "handshake tells).", l->remote.name, l->remote.endpoint);
                return;
        }
        int r = exit_set_cell_config(e, &(ExitCellSettings) {
                .peer_key = &l->wg_key,
                .endpoint = endpoint,
                .address = l->remote_exit_address,
                .dns = l->remote.dns_address,
        });
        if (r < 0) {
                exit_run_set_error(e, "Cannot set up the tunnel to cell %s: %s.", l->remote.name, strerror(-r));
                return;
        }
        exit_bus_steer_all(m); /* its resolver is the linked cell's */
        if (e->running)
                exit_run_reconfigure(m, e);
        else if ((r = exit_run_start(m, e)) < 0)
                exit_run_set_error(e, "Cannot start the tunnel to cell %s: %s.", l->remote.name, strerror(-r));
}

int exit_cell_receive_offer(Manager *m, Link *l, const LinkMessage *msg, sd_bus_error *error) {
        uint32_t addr = 0;

        if (*msg->exit_address && (ipv4_parse(msg->exit_address, &addr) < 0 || !cidr4_is_host(&l->subnet, addr)))
                return sd_bus_error_setf(error, PIC_ERROR_INVALID_MESSAGE,
                                         "Cell %s gives this cell's exit tunnel %s, outside its subnet %s.",
                                         l->remote.name, msg->exit_address, l->remote.vpn_subnet);
        bool old_offered = l->remote_exit_offered;
        uint32_t old_addr = l->remote_exit_address;
        uint64_t old_counter = l->rx_counter;
        l->remote_exit_offered = msg->exit_offered;
        l->remote_exit_address = addr;
        l->rx_counter = msg->counter;
        int r = link_bus_store(m, l);
        if (r < 0) {
                l->remote_exit_offered = old_offered;
                l->remote_exit_address = old_addr;
                l->rx_counter = old_counter;
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store cell %s's exit offer: %s.",
                                         l->remote.name, strerror(-r));
        }
        char *changed[] = { "RemoteExitOffered", NULL };
        link_bus_emit_changed(l, changed);
        exit_cell_sync(m, l);
        return 0;
}

void exit_cell_link_gone(Manager *m, const char *name) {
        Exit *e = hashmap_get(m->exits_by_name, name);
        if (e && e->type == EXIT_TYPE_CELL && exit_bus_forget(m, e) < 0)
                log_warning("Cannot remove exits/%s.json; it is left as it is.", name);
}
