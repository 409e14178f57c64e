/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running an exit of type "wireguard": its own WireGuard interface, made by
 * the kernel or by wireguard-go in a transient unit (exit-unit.h) that systemd
 * restarts; pic-celld follows the unit over the bus, configures each new
 * interface (key, server, address, MTU, its table's route) and reads its
 * handshake, which decides whether the exit is up. */

#include "exit.h"
#include "manager.h"

int exit_wg_start(Manager *m, Exit *e);
/* LastError (logged, announced when it changes). */
void exit_wg_set_error(Exit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* State from what is known now: announced when it changed, the kill-switch opened or closed. */
void exit_wg_announce_state(Manager *m, Exit *e);
/* Stops its unit (or deletes its kernel interface) and drops its route. */
void exit_wg_stop(Manager *m, Exit *e);
/* After new settings: the interface is configured again in place. */
void exit_wg_reconfigure(Manager *m, Exit *e);
/* Notices a restarted or vanished tunnel, configures a new one, reads its
 * statistics, and moves State (opening or closing the kill-switch). */
void exit_wg_refresh(Manager *m, Exit *e);
