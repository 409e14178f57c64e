/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

typedef struct Gateway Gateway;

/* The names the cell is known by are hosts the gateway answers by, beside --allowed-host and
 * loopback: its Domain, Name.Domain and its Endpoint's host (issue 8). The gateway's list
 * (g->allowed_hosts) is made again from them and the configured ones. */

/* Asks the cell for them (at start, when it changes, when pic-celld starts again). */
void cell_hosts_refresh(Gateway *g);
/* Whether a Manager property of this name changes them. */
bool cell_hosts_follow(const char *property);
/* The hosts of a cell with these settings (any may be NULL or ""): a new strv. */
char **cell_hosts_of(const char *name, const char *domain, const char *endpoint);
