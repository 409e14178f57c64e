/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.AddLink (this cell pairs with the cell whose invite it was given)
 * and Manager.AcceptPairing (the gateway hands over another cell's pairing
 * request for one of this cell's invites). src/link/PROTOCOL.md. */

#include <systemd/sd-bus.h>

#include "identity.h"

typedef struct Manager Manager;
typedef struct Link Link;

int link_pairing_register(Manager *m);
/* 0 when the cell @remote describes may be linked; else a Conflict naming what
 * collides. *ret_same (may be NULL): this cell's link with that very cell
 * (same name, same signing key), which it replaces; it collides with nothing. */
int link_check_conflicts(Manager *m, const CellIdentity *remote, Link **ret_same, sd_bus_error *error);
/* Stores, publishes and brings up a link to @remote (WireGuard peer, route,
 * DNS forward, firewall); replaces @same, keeping its counter and what is
 * shared either way. */
int link_add(Manager *m, const CellIdentity *remote, uint64_t rx_counter, Link *same, Link **ret, sd_bus_error *error);

/* Drops the AddLink calls still waiting for the other cell (at exit). */
void link_pairing_abandon(Manager *m);
