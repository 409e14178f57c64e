/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "bus-dict.h"
#include "macro.h"

#define BUS_STRING_MAX 4096 /* no setting is anywhere near this long */

static const char *type_name(char t) {
        switch (t) {
        case 's': return "a string (s)";
        case 'b': return "a boolean (b)";
        case 'q': return "a 16-bit unsigned integer (q)";
        case 'u': return "a 32-bit unsigned integer (u)";
        case 'a': return "an array of strings (as)";
        default: return "?";
        }
}

typedef struct ListCheck {
        const BusDictField *field;
        char why[256];
} ListCheck;

static int check_list(char *const *l, size_t n, void *userdata) {
        ListCheck *c = userdata;
        (void) n;
        return c->field->validate_list(l, c->why, sizeof c->why);
}

/* The caller controls the array's length, so its cost stops at the first bad
 * entry or the first one past the limit. */
static int read_list(sd_bus_message *m, const BusDictField *f, sd_bus_error *error) {
        ListCheck c = { .field = f };
        char **l = NULL;
        int r;

        r = bus_read_strv_bounded(m, f->max_items, BUS_STRING_MAX, f->validate_list ? check_list : NULL, &c, &l);
        if (r == -E2BIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s has more than %zu entries.",
                                         f->name, f->max_items);
        if (r == -EMSGSIZE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "An entry of %s is too long.", f->name);
        if (r == -EINVAL && c.why[0])
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, c.why);
        if (r < 0)
                return r;
        strv_free(*(char ***) f->target);
        *(char ***) f->target = l;
        return 0;
}

static int read_value(sd_bus_message *m, const BusDictField *f, sd_bus_error *error) {
        int r;

        switch (f->type) {
        case 's': {
                const char *s;
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                if (strlen(s) > BUS_STRING_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s is too long.", f->name);
                *(const char **) f->target = s;
                return 0;
        }
        case 'b':
                return sd_bus_message_read_basic(m, 'b', f->target);
        case 'q':
                return sd_bus_message_read_basic(m, 'q', f->target);
        case 'u':
                return sd_bus_message_read_basic(m, 'u', f->target);
        case 'a':
                return read_list(m, f, error);
        }
        return -EINVAL;
}

static void append_types(char *buf, size_t size, const BusDictField *fields, size_t n, const char *name) {
        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                if (streq(fields[i].name, name)) {
                        size_t l = strlen(buf);
                        snprintf(buf + l, size - l, "%s%s", l ? " or " : "", type_name(fields[i].type));
                }
}

typedef struct DictRead {
        const BusDictField *fields;
        size_t n_fields;
        sd_bus_error *error;
} DictRead;

static int read_entry(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        const DictRead *d = userdata;
        const BusDictField *match = NULL;
        bool known = false;
        int r;

        for (size_t i = 0; i < d->n_fields; i++) {
                if (!streq(d->fields[i].name, key))
                        continue;
                known = true;
                const char *want = d->fields[i].type == 'a' ? "as" : (char[]) { d->fields[i].type, 0 };
                if (streq(contents, want))
                        match = &d->fields[i];
        }
        if (!known) {
                char names[512] = "";
                for (size_t i = 0; i < d->n_fields; i++)
                        if (!strstr(names, d->fields[i].name)) {
                                size_t l = strlen(names);
                                snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", d->fields[i].name);
                        }
                return sd_bus_error_setf(d->error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown setting '%.*s'; known settings: %s.",
                                         utf8_prefix_len(key, 64), key, names);
        }
        if (!match) {
                char types[128];
                append_types(types, sizeof types, d->fields, d->n_fields, key);
                return sd_bus_error_setf(d->error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s must be %s, not '%.16s'.", key, types, contents);
        }
        for (size_t i = 0; i < d->n_fields; i++)
                if (streq(d->fields[i].name, key) && d->fields[i].present && *d->fields[i].present)
                        return sd_bus_error_setf(d->error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "%s is given more than once.", key);

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = read_value(m, match, d->error);
        if (r < 0)
                return r;
        if (match->present)
                *match->present = true;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

int bus_read_dict(sd_bus_message *m, const BusDictField *fields, size_t n_fields, sd_bus_error *error) {
        DictRead d = { fields, n_fields, error };
        return bus_dict_walk(m, read_entry, &d);
}
