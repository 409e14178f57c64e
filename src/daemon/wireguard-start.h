/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* A wireguard-go the daemon started is watched from the loop until its UAPI
 * socket answers (or WIREGUARD_GO_START_TIMEOUT_USEC passes, then it is
 * killed); nothing waits for it on the loop. Calls that need the device wait
 * as polkit's do: their message is handed back to sd-bus once it is up. */

#define WIREGUARD_GO_START_TIMEOUT_USEC (5ULL * 1000000ULL)

/* manager_reconcile found wireguard-go starting: poll it from a timer. */
int manager_watch_wireguard_start(Manager *m);

/* For a handler that needs WireGuard: 1 ready (brought up now if it was
 * down), 0 the call waits (return 1; it runs again once the device is up or
 * failed), negative: bringing it up failed, for this call. */
int manager_wait_wireguard(Manager *m, sd_bus_message *message);
/* The outcome a waiting call was re-run with: 1 up, negative failed, -ENOENT it did not wait. */
int manager_wireguard_answer(Manager *m, sd_bus_message *message);
/* Makes the call wait for the start under way; 0. */
int manager_queue_wireguard_waiter(Manager *m, sd_bus_message *message);

/* Start-up only, before the bus name is taken: runs the loop until the start
 * has finished, so the first caller finds every peer live. */
int manager_finish_wireguard_start(Manager *m);

