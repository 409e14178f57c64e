/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-api.h"
#include "log.h"
#include "setup-code-bus.h"
#include "setup-code.h"

/* The bus daemon's word on the caller's user: the code's holder is root. Fails closed. */
static bool sender_is_root(sd_bus_message *message) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds) < 0)
                return false;
        if (sd_bus_creds_get_euid(creds, &uid) >= 0)
                return uid == 0;
        return sd_bus_creds_get_uid(creds, &uid) >= 0 && uid == 0;
}

int setup_code_bus_check(Manager *m, sd_bus_message *message, const char *given, sd_bus_error *error) {
        if (!given) {
                if (sender_is_root(message))
                        return 0;
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "SetupCode is needed: the one-time code this cell writes in its log when it "
                                        "starts ('sudo picctl setup-code' shows it).");
        }
        if (setup_code_matches(&m->setup_code, given))
                return 0;
        if (++m->setup_code.wrong >= SETUP_CODE_MAX_WRONG) {
                int r = setup_code_renew(m->state_fd, &m->setup_code);
                if (r < 0)
                        log_error_errno(r, "Failed to store a new setup code: %m");
                else
                        log_notice("%u wrong setup codes: the cell's setup code is now %s.", SETUP_CODE_MAX_WRONG,
                                   m->setup_code.code);
        }
        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                "SetupCode is wrong: it is the one-time code this cell writes in its log when it "
                                "starts ('sudo picctl setup-code' shows it).");
}

static int method_get_setup_code(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (m->cell.setup_complete)
                return sd_bus_error_set(error, PIC_ERROR_CONFLICT,
                                        "The cell is set up: a setup code is only for its first Setup.");
        if (!sender_is_root(message))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may read the setup code.");
        return sd_bus_reply_method_return(message, "s", m->setup_code.code);
}

static const sd_bus_vtable setup_code_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("GetSetupCode", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", code), method_get_setup_code,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END
};

int setup_code_bus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, setup_code_vtable, m);
}
