/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.CreateInvite, ListInvites and RevokeInvite: invites to link with
 * this cell (invites.h keeps them). */

typedef struct Manager Manager;

/* Loads the open invites and the signing key, if the cell has one yet. */
int invite_bus_open_store(Manager *m);
int invite_bus_register(Manager *m);
