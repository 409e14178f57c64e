/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Links as WireGuard peers of the cell's device (desired.h), and their
 * handshakes and counters back from it. */

#include "desired.h"

typedef struct Link Link;

extern const Contributor link_contributor;
/* Takes the links' statistics from the device as read; announces changes. */
void link_wg_refresh_stats(Manager *m, const WgDevice *d);
/* Routes each linked cell's subnet through the cell's WireGuard interface
 * (main table, our protocol), and removes the routes of links gone. */
int link_wg_sync_routes(Manager *m);
/* Points l's WireGuard peer at its stored endpoint now. Reconciling leaves endpoints to
 * WireGuard's roaming; a linked cell that says it moved (an identity message) is where it
 * says, and waiting for its next packet could take a keepalive interval or never come. */
int link_wg_set_endpoint(Manager *m, const Link *l);
