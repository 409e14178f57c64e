/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Links on the bus (/org/pic/Cell1/link/<name>, org.pic.Cell1.Link) and the
 * manager's keeping of them: their state files, their DNS forwards. */

#include "link.h"

typedef struct Manager Manager;

int link_bus_register(Manager *m);
/* Loads STATE/links/ (a file that does not parse is logged and left alone). */
int link_bus_load(Manager *m);
/* Gives l its object path and indexes it (the manager owns it then). */
int link_bus_add(Manager *m, Link *l);
/* Writes l's state file durably. */
int link_bus_store(Manager *m, const Link *l);
/* Removes l: its file (durably), its object, its WireGuard peer, its DNS forward. */
int link_bus_forget(Manager *m, Link *l);
/* Every link's domain forwarded to its DNS address (plus the test forwards). */
int link_bus_sync_dns(Manager *m);
void link_bus_emit_changed(Link *l, char **names);
/* Drops links that saw no handshake within the confirm timeout of pairing: a
 * pairing cut short (a crash, a lost answer) leaves no half link behind. */
void link_bus_expire_unconfirmed(Manager *m);
