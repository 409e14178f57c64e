/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

int cell_bus_register(Manager *m);
/* names: NULL-terminated property names of org.pic.Cell1.Manager */
void cell_bus_emit_changed(Manager *m, char **names);
/* SetupRequired unless the cell is set up; for every mutating method. */
int cell_bus_require_setup(Manager *m, sd_bus_error *error);
/* polkit, then a WireGuard device that is up: 1 go on, 0 wait (the handler
 * returns 1 and runs again), negative with error set. */
int cell_bus_authorize_change(Manager *m, sd_bus_message *message, const char *action, sd_bus_error *error);
