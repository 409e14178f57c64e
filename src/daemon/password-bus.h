/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "password-worker.h"

/* For a method that hashes or checks a password: authorizes the call with
 * polkit, then runs req on the password worker. 1: done, *ret holds the
 * answer (the handler re-checks what may have changed meanwhile); 0: wait
 * (the handler returns 1 and runs again); negative: error set (AccessDenied,
 * LimitsExceeded when too many are waiting). */
int bus_password_job(Manager *m, sd_bus_message *message, const char *action, const PasswordRequest *req,
                     PasswordAnswer *ret, sd_bus_error *error);
