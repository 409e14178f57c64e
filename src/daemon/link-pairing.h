/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.AddLink (this cell pairs with the cell whose invite it was given)
 * and Manager.AcceptPairing (the gateway hands over another cell's pairing
 * request for one of this cell's invites). src/link/PROTOCOL.md. */

typedef struct Manager Manager;

int link_pairing_register(Manager *m);
/* Drops the AddLink calls still waiting for the other cell (at exit). */
void link_pairing_abandon(Manager *m);
