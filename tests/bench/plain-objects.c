/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark baseline: the plainest sd-bus service that exports N objects the
 * way pic-celld exports its peers (an ObjectManager, one fallback vtable, a
 * node enumerator), with nothing behind the properties but constants. Used by
 * bench_loop.py to put pic-celld's GetManagedObjects next to what sd-bus itself
 * costs for the same number of objects and the same property signatures.
 *
 *   plain-objects serve NAME N full|small   owns NAME on the system bus
 *   plain-objects call NAME PATH RUNS       times GetManagedObjects without
 *                                           printing it (best of RUNS, ms)
 *
 * "full" has org.pic.Cell1.Peer's property signatures (14 properties), "small"
 * one string property, like the "plain sd-bus service". */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define ROOT "/org/pic/Bench"
#define PREFIX ROOT "/object"

static unsigned n_objects;

static int object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        char *end, *name = NULL;
        unsigned long i;

        (void) bus, (void) interface, (void) userdata, (void) error;
        if (sd_bus_path_decode(path, PREFIX, &name) <= 0)
                return 0;
        errno = 0;
        i = strtoul(name, &end, 10);
        bool ok = *name && !*end && errno == 0 && i < n_objects;
        free(name);
        if (!ok)
                return 0;
        *found = (void *) (uintptr_t) (i + 1);
        return 1;
}

static int enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error) {
        char **l = calloc(n_objects + 1, sizeof *l);

        (void) bus, (void) prefix, (void) userdata, (void) error;
        if (!l)
                return -ENOMEM;
        for (unsigned i = 0; i < n_objects; i++) {
                char id[16];

                snprintf(id, sizeof id, "%u", i);
                if (sd_bus_path_encode(PREFIX, id, l + i) < 0)
                        return -ENOMEM; /* the process ends anyway */
        }
        *nodes = l;
        return 0;
}

static int get_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char name[32];

        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        snprintf(name, sizeof name, "peer%lu", (unsigned long) (uintptr_t) userdata - 1);
        return sd_bus_message_append(reply, "s", name);
}

/* Each property of the full set: its signature and a constant of the same size
 * as pic-celld's (a 44-character key, an address, one grant). */
static int get_constant(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) userdata, (void) error;
        if (strcmp(property, "PublicKey") == 0)
                return sd_bus_message_append(reply, "s", "iZVwaNS/+q8Hnam0rMAm7FvC6wu1orza8mYy+jdcxjM=");
        if (strcmp(property, "Address") == 0)
                return sd_bus_message_append(reply, "s", "10.64.2.110");
        if (strcmp(property, "Endpoint") == 0)
                return sd_bus_message_append(reply, "s", "");
        if (strcmp(property, "ServiceAccess") == 0)
                return sd_bus_message_append(reply, "as", 0);
        if (strcmp(property, "NetworkAccess") == 0)
                return sd_bus_message_append(reply, "as", 1, "internet");
        if (strcmp(property, "PersistentKeepalive") == 0)
                return sd_bus_message_append(reply, "q", 0);
        if (strcmp(property, "HasPresharedKey") == 0 || strcmp(property, "HasLoginPassword") == 0)
                return sd_bus_message_append(reply, "b", 0);
        if (strcmp(property, "Enabled") == 0)
                return sd_bus_message_append(reply, "b", 1);
        return sd_bus_message_append(reply, "t", (uint64_t) 0); /* Created and the counters */
}

static const sd_bus_vtable full_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PublicKey", "s", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Address", "s", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ServiceAccess", "as", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NetworkAccess", "as", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PersistentKeepalive", "q", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasPresharedKey", "b", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Created", "t", get_constant, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LatestHandshake", "t", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TxBytes", "t", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasLoginPassword", "b", get_constant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

static const sd_bus_vtable small_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END
};

static int serve(const char *name, unsigned n, bool full) {
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        int r;

        n_objects = n;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, ROOT);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(bus, NULL, PREFIX, "org.pic.Bench.Object",
                                               full ? full_vtable : small_vtable, object_find, NULL);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, PREFIX, enumerate, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, name, 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r >= 0)
                r = sd_event_loop(event);
        if (r < 0)
                fprintf(stderr, "plain-objects: %s\n", strerror(-r));
        sd_bus_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The call as a client sees it that reads the reply but prints nothing. */
static int call(const char *name, const char *path, unsigned runs) {
        sd_bus *bus = NULL;
        double best = -1;
        int r = sd_bus_open_system(&bus);

        for (unsigned i = 0; r >= 0 && i < runs; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                double t0 = now_ms(), dt;

                r = sd_bus_call_method(bus, name, path, "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects", &error, &reply, NULL);
                dt = now_ms() - t0;
                if (r < 0)
                        fprintf(stderr, "plain-objects: %s\n", error.message ?: strerror(-r));
                best = best < 0 || dt < best ? dt : best;
                sd_bus_message_unref(reply);
                sd_bus_error_free(&error);
        }
        sd_bus_unref(bus);
        if (r < 0)
                return 1;
        printf("%.2f\n", best);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc == 5 && strcmp(argv[1], "serve") == 0)
                return serve(argv[2], (unsigned) strtoul(argv[3], NULL, 10), strcmp(argv[4], "full") == 0);
        if (argc == 5 && strcmp(argv[1], "call") == 0)
                return call(argv[2], argv[3], (unsigned) strtoul(argv[4], NULL, 10));
        fprintf(stderr, "usage: plain-objects serve NAME N full|small | call NAME PATH RUNS\n");
        return 2;
}
