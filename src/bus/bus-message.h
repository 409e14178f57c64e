/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "names.h" /* utf8_prefix_len() */

/* Reading messages the same way everywhere: the a{sv} walk, basic variants and
 * string arrays, each linear in the message's size. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Called for each entry of an a{sv} with the read position at its variant,
 * whose signature is @contents. Returns 1 when it read the variant, 0 to have
 * it skipped, negative to stop the walk with that error. */
typedef int (*BusDictEntryFn)(sd_bus_message *m, const char *key, const char *contents, void *userdata);

/* Walks the a{sv} at the read position, entry by entry. */
int bus_dict_walk(sd_bus_message *m, BusDictEntryFn fn, void *userdata);

/* Walks an ObjectManager.GetManagedObjects reply: fn gets each object that
 * has @interface, positioned at that interface's a{sv}, which it must read. */
typedef int (*BusManagedFn)(sd_bus_message *props, const char *path, void *userdata);
int bus_managed_objects_walk(sd_bus_message *reply, const char *interface, BusManagedFn fn, void *userdata);

/* One value of a basic D-Bus type; .type is its signature character. */
typedef struct BusBasic {
        char type;
        union {
                const char *s; /* 's', 'o', 'g': points into the message */
                int b;
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
        };
} BusBasic;

/* Whether @contents is one basic type that BusBasic holds. */
bool bus_contents_is_basic(const char *contents);

/* Reads the variant at the read position when it holds a basic type (returns
 * 1 and fills @ret); leaves the position alone and returns 0 otherwise. */
int bus_read_basic_variant(sd_bus_message *m, BusBasic *ret);

/* Called with the entries read so far, after each new one: a negative return
 * stops the read with that error (a bad entry is refused before the rest). */
typedef int (*BusStrvCheckFn)(char *const *l, size_t n, void *userdata);

/* Reads an "as" at the read position, element by element (sd-bus's own strv
 * reader is quadratic): -E2BIG at the first entry past @max_items (after
 * @check saw it),
 * -EMSGSIZE for an entry longer than @max_length bytes, @check's error for a
 * bad entry; the caller frees *ret with strv_free(). */
int bus_read_strv_bounded(sd_bus_message *m, size_t max_items, size_t max_length, BusStrvCheckFn check,
                          void *userdata, char ***ret);


