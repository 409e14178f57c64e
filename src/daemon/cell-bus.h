/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

int cell_bus_register(Manager *m);
/* names: NULL-terminated property names of org.pic.Cell1.Manager */
void cell_bus_emit_changed(Manager *m, char **names);
/* SetupRequired unless the cell is set up; for every mutating method. */
int cell_bus_require_setup(Manager *m, sd_bus_error *error);
