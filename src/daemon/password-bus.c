/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus-api.h"
#include "password-bus.h"

int bus_password_job(Manager *m, sd_bus_message *message, const char *action, const PasswordRequest *req,
                     PasswordAnswer *ret, sd_bus_error *error) {
        int r = password_job_answer(m->passwords, message, ret);
        if (r == 0)
                return 0;
        if (r > 0)
                return 1;
        if (r != -ENOENT)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "The password could not be processed: %s.",
                                         strerror(-r));

        /* First time here: the cost of the work below is the caller's to choose, so authorize first. */
        r = polkit_verify_async(m->polkit, message, action, error);
        if (r <= 0)
                return r;
        r = password_job_start(m->passwords, message, req);
        if (r == -EBUSY)
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                        "Too many password checks are waiting; try again in a moment.");
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "The password could not be processed: %s.",
                                         strerror(-r));
        return 0;
}
