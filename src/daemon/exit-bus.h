/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exits on the bus (/org/pic/Cell1/exit/<name>, org.pic.Cell1.Exit;
 * Manager.AddExit) and the manager's keeping of them: their state files,
 * their numbers, starting them. */

#include <systemd/sd-bus.h>

#include "exit.h"

typedef struct Manager Manager;

int exit_bus_register(Manager *m);
/* Loads STATE/exits/ (a file that does not parse is logged and left alone). */
int exit_bus_load(Manager *m);
/* Starts every loaded exit (after the firewall and the rules are in place). */
void exit_bus_start_all(Manager *m);
/* Shutting down: the exits' units keep running, their kill-switch stays. */
void exit_bus_free_all(Manager *m);
void exit_bus_emit_changed(Exit *e, char **names);
/* PeerCount changed on these exits (either may be NULL or ""). */
void exit_bus_peer_moved(Manager *m, const char *from, const char *to);
/* A peer's Exit changing needs org.pic.cell1.manage-exits as well:
 * polkit_verify_async()'s answer, or 1 when there is nothing to ask. */
int exit_bus_authorize_peer_exit(Manager *m, sd_bus_message *message, bool changes_exit, sd_bus_error *error);

/* Its state file (0600, durably), its object path and place in the map, its number free. */
int exit_bus_store(Manager *m, const Exit *e);
int exit_bus_index(Manager *m, Exit *e);
unsigned exit_bus_free_number(Manager *m);
/* The policy rules and the firewall for the exits there are now. */
void exit_bus_steer_all(Manager *m);
/* Removes e: its file, its tunnel, its object (e is freed). */
int exit_bus_forget(Manager *m, Exit *e);

int method_add_exit(sd_bus_message *message, void *userdata, sd_bus_error *error);
