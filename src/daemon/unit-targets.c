/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "manager.h"
#include "transient-unit.h"
#include "unit-name.h"
#include "unit-targets.h"

typedef struct UnitTarget {
        char unit[UNIT_NAME_MAX];
        bool up; /* what systemd was last asked for */
} UnitTarget;

static const char *const patterns[] = {
        "pic-online.target", "pic-peer@*.target", "pic-link@*.target", "pic-exit@*.target", NULL,
};

int unit_target_name(UnitTargetKind kind, const char *name, char *buf, size_t size) {
        static const char *const prefixes[] = {
                [UNIT_TARGET_PEER] = "pic-peer",
                [UNIT_TARGET_LINK] = "pic-link",
                [UNIT_TARGET_EXIT] = "pic-exit",
        };

        if (kind == UNIT_TARGET_ONLINE) {
                int n = snprintf(buf, size, "pic-online.target");
                return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
        }
        if ((unsigned) kind >= ELEMENTSOF(prefixes) || !prefixes[kind])
                return -EINVAL;
        return unit_name_build_instance(prefixes[kind], name, ".target", buf, size);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (!e)
                return 0;
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                if (!m->targets.unavailable)
                        log_debug("No service manager on the bus: the pic-*.target units are not set.");
                m->targets.unavailable = true;
                return 0;
        }
        if (!m->targets.warned)
                log_info("systemd refused a pic-*.target change (%s); are the units installed? "
                         "Later refusals are logged at debug level.", e->message ?: e->name);
        else
                log_debug("systemd refused a pic-*.target change: %s", e->message ?: e->name);
        m->targets.warned = true;
        return 0;
}

static void tell(Manager *m, const char *unit, bool up) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;

        if (m->targets.unavailable || !m->bus)
                return;
        log_debug("%s %s.", up ? "Starting" : "Stopping", unit);
        int r = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                               "org.freedesktop.systemd1.Manager", up ? "StartUnit" : "StopUnit");
        if (r >= 0)
                r = sd_bus_message_set_auto_start(call, false);
        if (r >= 0)
                r = sd_bus_message_append(call, "ss", unit, "replace");
        if (r >= 0)
                r = sd_bus_call_async(m->bus, NULL, call, on_reply, m, 0);
        if (r < 0)
                log_debug_errno(r, "Cannot ask systemd to %s %s: %m", up ? "start" : "stop", unit);
}

void unit_targets_set(Manager *m, UnitTargetKind kind, const char *name, bool up) {
        char unit[UNIT_NAME_MAX];

        if (unit_target_name(kind, name, unit, sizeof unit) < 0)
                return; /* names are checked long before: cannot happen */
        UnitTarget *t = hashmap_get(m->targets.units, unit);
        if (!t && !up)
                return; /* not started by this process: the settling match stops it if systemd has it */
        if (t && t->up == up)
                return;
        if (!t) {
                if (!m->targets.units)
                        m->targets.units = hashmap_new(&string_hash_ops);
                t = calloc(1, sizeof *t);
                if (t)
                        snprintf(t->unit, sizeof t->unit, "%s", unit);
                if (!t || !m->targets.units || hashmap_put(m->targets.units, t->unit, t) < 0) {
                        free(t);
                        log_error("Out of memory: %s is not %s.", unit, up ? "started" : "stopped");
                        return;
                }
        }
        t->up = up;
        tell(m, unit, up);
        if (!up) {
                hashmap_remove(m->targets.units, t->unit);
                free(t);
        }
}

/* systemd's active pic-*.target units: the ones not up here are stopped. */
static int on_listed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *unit;
        unsigned stopped = 0;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                return on_reply(reply, userdata, ret_error);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r > 0 && (r = sd_bus_message_read(reply, "(ssssssouso)", &unit, NULL, NULL, NULL, NULL, NULL, NULL,
                                                 NULL, NULL, NULL)) > 0) {
                UnitTarget *t = hashmap_get(m->targets.units, unit);
                if (t && t->up)
                        continue;
                log_info("%s is active but what it stands for is not up (or gone): stopping it.", unit);
                tell(m, unit, false);
                stopped++;
        }
        if (r < 0)
                log_warning_errno(r, "Cannot read systemd's list of pic-*.target units: %m");
        log_debug("pic-*.target units matched (%u stopped).", stopped);
        return 0;
}

static int on_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        static const char *const states[] = { "active", "activating", "reloading", NULL };

        m->targets.settle_timer = sd_event_source_disable_unref(m->targets.settle_timer);
        if (m->targets.unavailable)
                return 0;
        int r = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                               "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_set_auto_start(call, false);
        if (r >= 0)
                r = sd_bus_message_append_strv(call, (char **) states);
        if (r >= 0)
                r = sd_bus_message_append_strv(call, (char **) patterns);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, NULL, call, on_listed, m, 0);
        if (r < 0)
                log_debug_errno(r, "Cannot ask systemd for its pic-*.target units: %m");
        return 0;
}

int unit_targets_start(Manager *m, uint64_t settle_usec) {
        return sd_event_add_time_relative(m->event, &m->targets.settle_timer, CLOCK_MONOTONIC, settle_usec, 0,
                                          on_settled, m);
}

void unit_targets_done(Manager *m) {
        UnitTarget *t;

        m->targets.settle_timer = sd_event_source_disable_unref(m->targets.settle_timer);
        HASHMAP_FOREACH(t, m->targets.units)
                free(t);
        m->targets.units = hashmap_free(m->targets.units);
}
