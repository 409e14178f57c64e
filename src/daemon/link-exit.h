/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Offering this cell's uplink to a linked cell as its exit (Link.OfferExit).
 * The linked cell runs an exit of type "cell" (exit-cell.c): a WireGuard
 * tunnel of its own, with a key it sends in an "exit-key" message, to this
 * cell's WireGuard port. Here that tunnel is one more peer of the cell's
 * device, at an address of this cell's subnet (told back in an "exit"
 * message), granted the internet and the cell's DNS, and masqueraded out of
 * the uplink like any peer; while nothing is offered there is no such peer,
 * so nothing of the linked cell's gets out. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "desired.h"
#include "link.h"
#include "message.h"

/* What the two sides agreed about exits, from a replaced link to its
 * replacement; after a pairing again (not a move) both sides are told again. */
void link_exit_carry_over(const Link *from, Link *to, bool moved);
/* The linked cells' exit tunnels as peers of the cell's device, and their firewall entries. */
int link_exit_wg_contribute(Manager *m, WgDevice *d);
int link_exit_firewall_contribute(Manager *m, FirewallPeerList *l);
/* The link whose exit tunnel has addr, or NULL. */
Link *link_exit_by_address(Manager *m, uint32_t addr);
/* An "exit-key" message: the linked cell's tunnel key; it gets an address. */
int link_exit_receive_key(Manager *m, Link *l, const LinkMessage *msg, sd_bus_error *error);

int link_exit_method_offer(sd_bus_message *message, void *userdata, sd_bus_error *error);
