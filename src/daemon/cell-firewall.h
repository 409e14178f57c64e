/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "desired.h"
#include "manager.h"
#include "peer.h"

/* The cell's firewall (src/nft) kept in line with the model: the whole table
 * when the cell changes, one peer's elements when a peer does, and a rebuild
 * when somebody removes the table. */

/* The peers' firewall entries, for the desired state. */
int peer_firewall_contribute(Manager *m, FirewallPeerList *l);
/* New peers' elements in one batch (an import). */
int cell_firewall_add_peers(Manager *m, Peer *const *peers, size_t n);
/* Builds the table from the cell, the configured services and every kind's entries. */
int cell_firewall_rebuild(Manager *m);
/* One batch with only this peer's elements (old or new may be NULL; the address may change). */
int cell_firewall_peer_change(Manager *m, const Peer *old, const Peer *new);
/* Watches nftables events so a deleted table is rebuilt at once. */
int cell_firewall_watch(Manager *m);
/* The table as the kernel has it. */
int cell_firewall_dump(Manager *m, char **ret);
/* Reads --services=FILE: {"files": {"address": "10.0.9.2", "ports": ["tcp/445"]}, …}. */
int cell_firewall_load_services(Manager *m, const char *path);
