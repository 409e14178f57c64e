/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pieces of a StartTransientUnit call (org.freedesktop.systemd1), shared by
 * the units pic-celld starts: the cell's dnsmasq, the exits' tunnels. */

#include <systemd/sd-bus.h>

#define SYSTEMD_BUS_NAME "org.freedesktop.systemd1"

/* The call for unit name ("replace" mode), its property array opened: the
 * caller appends (sv) entries, then transient_unit_finish(). */
int transient_unit_begin(sd_bus *bus, const char *name, sd_bus_message **ret);
/* Closes the property array and appends the empty auxiliary-unit list. */
int transient_unit_finish(sd_bus_message *m);
/* ExecStart= with argv (argv[0] is the binary's path). */
int transient_unit_append_exec_start(sd_bus_message *m, char **argv);
