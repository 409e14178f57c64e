/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Applying pending VpnAddress/ListenPort changes to the model and the files.
 * Peers keep their host number in the new subnet; their files are written
 * before cell.json, so an Apply cut short leaves peers in the pending subnet
 * and cell_apply_finish_interrupted() completes it at the next start. */

/* The first peer whose host number does not fit in `to`, or NULL. */
Peer *cell_apply_misfit(Manager *m, const Cidr4 *to);
/* Stores and adopts the pending settings, and with kernel also makes WireGuard
 * and the firewall follow; all or nothing: on failure files, model, WireGuard
 * and the firewall are as they were. */
int cell_apply_pending(Manager *m, bool kernel);

/* The same for a running daemon without stalling it: the peer files are
 * written on a thread while the loop serves other calls (changes wait, see
 * manager_wait_idle()); then done(m, result, userdata) runs on the loop. */
typedef void (*ApplyDone)(Manager *m, int result, void *userdata);
int cell_apply_start(Manager *m, ApplyDone done, void *userdata);
/* At exit: waits for a running Apply's thread and drops the operation unfinished. */
void cell_apply_abandon(Manager *m);

/* For a handler about to change anything: 1 go on, 0 an Apply is running (the
 * handler returns 1 and runs again once it is done), negative error. */
int manager_wait_idle(Manager *m, sd_bus_message *message);
/* At start, before peers are checked against the subnet. Returns 1 when it finished an Apply. */
int cell_apply_finish_interrupted(Manager *m);
