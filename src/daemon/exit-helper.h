/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pic-exit-proxy as the main process of a TCP-only exit's unit (proxy,
 * sshuttle): it serves the exit's DNS port, runs the program that serves its
 * TCP port, and says in a status file ("up\n" or "down <reason>\n") whether
 * the way out works. The drivers (exit-proxy.c, exit-sshuttle.c) add their
 * own arguments to the command line begun here. */

#include "exit.h"
#include "manager.h"

/* pic-exit-proxy --listen VPN:DNS-PORT --status-file FILE; the last word's status removed. */
int exit_helper_argv(Manager *m, const Exit *e, char ***ret);
/* Reads its word: false until it says "up" and both ports listen; while it
 * says "down", the exit is failed with LastError "<what>: <reason>." */
bool exit_helper_read_status(Manager *m, Exit *e, const char *what);
/* The exit's unit stopped or is to restart: its word goes. */
void exit_helper_forget_status(Manager *m, Exit *e);
