/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by picctl-exit.c (list, show, test, remove, peer exit) and picctl-exit-add.c (add, update). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "picctl.h"

#define EXIT_DNS_MAX 4          /* a proxy exit's resolvers */
#define EXIT_SSHUTTLE_DNS_MAX 1 /* sshuttle hands DNS to one server */

/* An exit's settings as the command line gives them (add, update); NULL: not given. */
typedef struct ExitInput {
        const char *config, *test_target;
        const char *proxy, *proxy_file;                           /* proxy */
        const char *target, *ssh_key, *host_key, *host_key_file;  /* sshuttle */
        const char *dns[EXIT_DNS_MAX + 1];                        /* proxy, sshuttle; NULL-terminated */
} ExitInput;

/* Options every exit command takes; the pointers are NULL where a command has no such option. */
typedef struct ExitArgs {
        bool *json;
        const char **type;
        ExitInput *input;
} ExitArgs;

/* What the daemon's proxy_url_parse() reads, roughly: enough to tell a URL from a file name. */
bool proxy_url_plausible(const char *s);

int parse_exit_args(const char *verb, int argc, char *argv[], Context *c, void (*help)(void), const ExitArgs *a);
/* The one NAME a command takes, as the exit's object path. */
int exit_path_arg(const char *verb, int argc, char *argv[], const char **ret_name, char **ret_path);

/* The org.pic.Cell1.Exit properties of one exit. */
typedef struct ExitInfo {
        char *name, *type, *state, *last_error, *unit, *interface, *address, *endpoint, *test_target;
        uint32_t mark, table, peer_count;
        char **dns_servers;
        uint64_t created, latest_handshake, rx_bytes, tx_bytes;
} ExitInfo;

void exit_info_done(ExitInfo *i);
/* The properties of the exit at path (reported on stderr when it fails). */
int exit_info_read(Context *c, const char *path, ExitInfo *ret);

/* picctl-exit-add.c */
int exit_add(int argc, char *argv[], Context *c);
int exit_update(int argc, char *argv[], Context *c);
