/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "bus-dict.h"
#include "macro.h"

#define BUS_STRING_MAX 4096 /* no setting is anywhere near this long */

int utf8_prefix_len(const char *s, int max) {
        int n = 0;
        while (n < max && s[n])
                n++;
        /* cut inside a sequence: step back to the byte that starts it */
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        return n;
}

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

/* Element by element, refusing at the first bad entry or the first one past the
 * limit: the caller controls the array's length, so its cost must stop there. */
static int read_bounded_strv(sd_bus_message *m, const BusDictField *f, sd_bus_error *error) {
        /* room for one entry past the limit, so that it can be named, and the NULL */
        _cleanup_(strv_freep) char **l = calloc(f->max_items + 2, sizeof(char *));
        const char *s;
        char why[256];
        size_t n = 0;
        int r;

        if (!l)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                if (strlen(s) > BUS_STRING_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "An entry of %s is too long.",
                                                 f->name);
                l[n] = strdup(s);
                if (!l[n++])
                        return -ENOMEM;
                if (f->validate_list && f->validate_list(l, why, sizeof why) < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why);
                if (n > f->max_items)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "%s has more than %zu entries.", f->name, f->max_items);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        strv_free(*(char ***) f->target);
        *(char ***) f->target = TAKE_PTR(l);
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
                return read_bounded_strv(m, f, error);
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

int bus_read_dict(sd_bus_message *m, const BusDictField *fields, size_t n_fields, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;

                const BusDictField *match = NULL;
                bool known = false;
                for (size_t i = 0; i < n_fields; i++) {
                        if (!streq(fields[i].name, key))
                                continue;
                        known = true;
                        const char *want = fields[i].type == 'a' ? "as" : (char[]) { fields[i].type, 0 };
                        if (streq(contents, want))
                                match = &fields[i];
                }
                if (!known) {
                        char names[512] = "";
                        for (size_t i = 0; i < n_fields; i++)
                                if (!strstr(names, fields[i].name)) {
                                        size_t l = strlen(names);
                                        snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", fields[i].name);
                                }
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown setting '%.*s'; known settings: %s.",
                                                 utf8_prefix_len(key, 64), key, names);
                }
                if (!match) {
                        char types[128];
                        append_types(types, sizeof types, fields, n_fields, key);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "%s must be %s, not '%.16s'.", key, types, contents);
                }
                for (size_t i = 0; i < n_fields; i++)
                        if (streq(fields[i].name, key) && fields[i].present && *fields[i].present)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "%s is given more than once.", key);

                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = read_value(m, match, error);
                if (r < 0)
                        return r;
                if (match->present)
                        *match->present = true;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}
