/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exits of type "cell": a linked cell's uplink, when it offers it
 * (link-exit.h is the offering side). The exit appears, named after the
 * linked cell, with the first "exit" message that offers it; this cell then
 * sends the key of its tunnel ("exit-key"), the other cell answers with the
 * tunnel's address in its subnet, and the tunnel runs like a wireguard exit's
 * (exit-wg.h) to the other cell's WireGuard port. A withdrawn offer stops
 * the tunnel (its peers' traffic is dropped, as for any exit that is down). */

#include <systemd/sd-bus.h>

#include "exit.h"
#include "link.h"
#include "message.h"

/* Makes the exit through l match what l says (made, settings, running or not). */
void exit_cell_sync(Manager *m, Link *l);
/* An "exit" message from l. */
int exit_cell_receive_offer(Manager *m, Link *l, const LinkMessage *msg, sd_bus_error *error);
/* The link with cell name is gone: so is the exit through it. */
void exit_cell_link_gone(Manager *m, const char *name);
/* The public key of this cell's tunnel to l (for "exit-key"); -ENOENT: no such exit. */
int exit_cell_public_key(Manager *m, const Link *l, char ret[static WG_KEY_B64_LEN]);
