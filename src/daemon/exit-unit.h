/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An exit's tunnel program as a transient systemd unit: the
 * StartTransientUnit call that describes it, hardening included. */

#include <systemd/sd-bus.h>

typedef struct ExitUnit {
        const char *name;         /* pic-exit-NAME.service */
        const char *description;
        char **argv;              /* the program and its arguments */
        const char *run_dir;      /* bound on /run/wireguard: where its UAPI socket appears for pic-celld */
        const char *netns;        /* NULL: the service manager's own network namespace */
} ExitUnit;

int exit_unit_start_message(sd_bus *bus, const ExitUnit *u, sd_bus_message **ret);
