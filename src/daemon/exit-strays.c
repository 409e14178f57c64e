/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "exit-strays.h"
#include "exit.h"
#include "log.h"
#include "transient-unit.h"

#define EXIT_UNIT_PREFIX "pic-exit-"
#define EXIT_UNIT_SUFFIX ".service"

bool exit_strays_unit_exit_name(const char *unit, char *buf, size_t size) {
        size_t n = strlen(unit), p = strlen(EXIT_UNIT_PREFIX), s = strlen(EXIT_UNIT_SUFFIX);

        if (n <= p + s || strncmp(unit, EXIT_UNIT_PREFIX, p) != 0 || strcmp(unit + n - s, EXIT_UNIT_SUFFIX) != 0 ||
            n - p - s >= size)
                return false;
        memcpy(buf, unit + p, n - p - s);
        buf[n - p - s] = 0;
        return true;
}

static bool is_ours(Manager *m, const char *unit) {
        char name[256];
        if (!exit_strays_unit_exit_name(unit, name, sizeof name))
                return true; /* not an exit unit: not for us to stop */
        const Exit *e = hashmap_get(m->exits_by_name, name);
        return e && streq(e->unit, unit);
}

static int on_units(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *unit;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_debug("Exits: the service manager did not list its units: %s",
                          sd_bus_message_get_error(reply)->message);
                return 0;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssssouso)", &unit, NULL, NULL, NULL, NULL, NULL, NULL,
                                                  NULL, NULL, NULL)) > 0) {
                if (is_ours(m, unit))
                        continue;
                log_notice("Exits: %s belongs to no exit of this cell (left by a restore or a crash): stopping it.",
                           unit);
                (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                                "org.freedesktop.systemd1.Manager", "StopUnit", NULL, NULL, "ss",
                                                unit, "replace");
        }
        if (r < 0)
                log_warning_errno(r, "Exits: the service manager's unit list could not be read: %m");
        return 0;
}

void exit_strays_stop(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(call, (char *[]) { NULL }); /* every state */
        if (r >= 0)
                r = sd_bus_message_append_strv(call, (char *[]) { (char *) EXIT_UNIT_PREFIX "*" EXIT_UNIT_SUFFIX, NULL });
        if (r >= 0)
                r = sd_bus_call_async(m->bus, NULL, call, on_units, m, 0);
        if (r < 0)
                log_warning_errno(r, "Exits: cannot ask the service manager for stray exit units: %m");
}
