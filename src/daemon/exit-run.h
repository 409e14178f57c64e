/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running an exit: its program in a transient unit (exit-unit.h) that
 * systemd restarts, or a kernel interface; pic-celld follows the unit over the
 * bus, has its type's driver configure each new interface and read whether it
 * is connected, which decides whether the exit is up (and its kill-switch
 * open). Drivers: exit-wg.c (wireguard, cell), exit-openvpn.c. */

#include "exit.h"
#include "manager.h"

typedef struct ExitDriver {
        /* Before the start: a kernel interface (e->kernel) or a unit. */
        void (*prepare)(Manager *m, Exit *e);
        /* The unit's command line (the files it reads written first). */
        int (*unit_command)(Manager *m, const Exit *e, char ***ret_argv);
        /* A new interface (a new process): make it the exit's; -ENOENT or -ECONNREFUSED: not ready yet. */
        int (*configure)(Manager *m, Exit *e, int ifindex);
        /* What it says about itself (handshake or connection, traffic); false: it lost its configuration. */
        bool (*read_status)(Manager *m, Exit *e);
        /* Stopped (optional). */
        void (*stopped)(Manager *m, Exit *e);
        /* New settings (optional; default: the next refresh configures the interface again). */
        int (*reconfigure)(Manager *m, Exit *e);
        /* No interface: read_status alone says whether it serves (configure is not called). */
        bool no_interface;
} ExitDriver;

extern const ExitDriver exit_wireguard_driver, exit_openvpn_driver, exit_tor_driver, exit_proxy_driver,
        exit_sshuttle_driver;

#define EXIT_UNIT_RUN_DIR "/run/wireguard" /* where a unit sees the exits' run directory (exit-unit.c) */

/* A file of the exit's unit in the run directory: <interface><suffix>, 0600, atomically. */
int exit_run_write_file(Manager *m, const Exit *e, const char *suffix, const char *text);
/* Removes it (gone already is fine). */
void exit_run_remove_file(Manager *m, const Exit *e, const char *suffix);
/* A TCP-only exit: whether its TCP and DNS ports listen on the cell's VPN address. */
bool exit_run_local_ports_listen(Manager *m, const Exit *e);
const ExitDriver *exit_driver(const Exit *e);

int exit_run_start(Manager *m, Exit *e);
void exit_run_clear_error(Exit *e);
/* Restarts its unit (a driver whose program reads its settings at start). */
int exit_run_restart_unit(Manager *m, Exit *e);
/* LastError (logged, announced when it changes). */
void exit_run_set_error(Exit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* State from what is known now: announced when it changed, the kill-switch opened or closed. */
void exit_run_announce_state(Manager *m, Exit *e);
/* Stops its unit (or deletes its kernel interface) and drops its route. */
void exit_run_stop(Manager *m, Exit *e);
/* After new settings: the interface is configured again in place. */
void exit_run_reconfigure(Manager *m, Exit *e);
/* Notices a restarted or vanished tunnel, configures a new one, reads its
 * statistics, and moves State (opening or closing the kill-switch). */
void exit_run_refresh(Manager *m, Exit *e);
