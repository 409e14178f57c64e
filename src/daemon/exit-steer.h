/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Steering peers to their exits: each exit's mark, routing table and policy
 * rule (owned by protocol 165), and what the firewall needs to know of exits
 * and of a peer's exit. The kill-switch's parts that outlive pic-celld: the
 * firewall's (firewall.h) and a last rule that makes every exit-marked packet
 * no routing table carried unreachable, so it never falls through to the
 * main table's default route. */

#include "exit.h"
#include "manager.h"
#include "nft/firewall.h"

#define EXIT_TABLE_BASE 0xa500U       /* exit N's table: 42240 + N */
#define EXIT_RULE_PRIORITY_BASE 5200U /* exit N's rule: 5200 + N; before main (32766) */
#define EXIT_RULE_PRIORITY_LAST 5299U /* exit-marked and not routed above: unreachable */

uint32_t exit_mark(const Exit *e);
uint32_t exit_table(const Exit *e);

/* Every exit's policy rule and the unreachable one after them, exactly. */
int exit_steer_sync_rules(Manager *m);
/* The exit's table: its default route through ifindex (0: none). */
int exit_steer_route(const Exit *e, int ifindex);

/* The exits as the firewall takes them (array freed by the caller). */
int exit_steer_firewall_exits(Manager *m, FirewallExit **ret, size_t *ret_n);
/* A peer's exit fields of its firewall entry (mark, resolver, a TCP-only exit's
 * ports): 0 for none; the bare base mark (dropped) for an exit that does not exist. */
void exit_steer_peer_entry(Manager *m, const char *exit_name, FirewallPeer *ret);
/* Opens or closes the exit's path in the firewall (its exit_paths element). */
int exit_steer_set_open(Manager *m, Exit *e, bool open);
