/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "bus-message.h"
#include "strv.h"

/* Reads an a{sv} argument against a table of known keys. Unknown keys, wrong
 * variant types and repeated keys fail with InvalidArgs naming the key, so a
 * caller learns which field to fix. A key may appear in the table more than
 * once with different types (e.g. "PresharedKey" as s or b). */
typedef struct BusDictField {
        const char *name;
        char type;    /* 's', 'b', 'q', 'u', or 'a' for "as" */
        void *target; /* const char **, int *, uint16_t *, uint32_t *, char *** (strv, caller frees) */
        bool *present;
        size_t max_items; /* 'a': more entries than this is InvalidArgs, read no further */
        /* 'a', optional: checks the entries read so far after each one (a bad one is
         * refused with its name before the rest is read); -EINVAL with a message */
        int (*validate_list)(char *const *l, char *buf, size_t size);
} BusDictField;

int bus_read_dict(sd_bus_message *m, const BusDictField *fields, size_t n_fields, sd_bus_error *error);
