/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Setup's SetupCode: not needed from root (a local picctl), else @given must be the code.
 * InvalidArgs naming SetupCode otherwise; a new code after SETUP_CODE_MAX_WRONG wrong ones. */
int setup_code_bus_check(Manager *m, sd_bus_message *message, const char *given, sd_bus_error *error);

/* Manager.GetSetupCode() -> s: for root only, before Setup. */
int setup_code_bus_register(Manager *m);
