/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.AddLink (this cell pairs with the cell whose invite it was given)
 * and Manager.AcceptPairing (the gateway hands over another cell's pairing
 * request for one of this cell's invites). src/link/PROTOCOL.md. */

#include <systemd/sd-bus.h>

#include "cidr.h"
#include "identity.h"

typedef struct Manager Manager;
typedef struct Link Link;

int link_pairing_register(Manager *m);
/* 0 when the cell @remote describes may be linked; else a Conflict naming what
 * collides. *ret_same (may be NULL): this cell's link with that very cell
 * (same name, same signing key), which it replaces; it collides with nothing. */
int link_check_conflicts(Manager *m, const CellIdentity *remote, Link **ret_same, sd_bus_error *error);
/* 0 when this cell may take these settings (NULL: unchanged); else a Conflict
 * naming the linked cell it would collide with. A linked cell knows this one
 * by its name, so renaming needs the links gone. */
int link_check_own_change(Manager *m, const char *name, const char *domain, const Cidr4 *vpn, sd_bus_error *error);

typedef struct LinkAddition {
        const CellIdentity *remote;
        uint64_t rx_counter;     /* the counter of the message that brought it */
        Link *same;              /* this cell's link with that cell, replaced (or NULL) */
        const char *own_pairing; /* the pairing address this cell gave it; NULL: its Endpoint's host */
        bool moved;              /* an "identity" message: the link was confirmed and stays so */
} LinkAddition;

/* Stores, publishes and brings up a link to a->remote (WireGuard peer, route,
 * DNS forward, firewall); replaces a->same, keeping its counters, what is
 * shared either way and what is still to be told. */
int link_add(Manager *m, const LinkAddition *a, Link **ret, sd_bus_error *error);

/* Drops the AddLink calls still waiting for the other cell (at exit). */
void link_pairing_abandon(Manager *m);
