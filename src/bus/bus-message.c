/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "bus-message.h"
#include "macro.h"
#include "strv.h"

int bus_dict_walk(sd_bus_message *m, BusDictEntryFn fn, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                r = fn(m, key, contents, userdata);
                if (r == 0)
                        r = sd_bus_message_skip(m, "v");
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

bool bus_contents_is_basic(const char *contents) {
        return contents && strlen(contents) == 1 && strchr("sogbynqiuxtd", contents[0]);
}

int bus_read_basic_variant(sd_bus_message *m, BusBasic *ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != SD_BUS_TYPE_VARIANT)
                return -EBADMSG;
        if (!bus_contents_is_basic(contents))
                return 0;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        ret->type = contents[0];
        /* the union's members share its start, as read_basic's pointer expects */
        r = sd_bus_message_read_basic(m, contents[0], &ret->s);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

int bus_read_strv_bounded(sd_bus_message *m, size_t max_items, size_t max_length, BusStrvCheckFn check,
                          void *userdata, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0, allocated = 0;
        const char *s;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &s)) > 0) {
                if (strlen(s) > max_length)
                        return -EMSGSIZE;
                if (greedy_realloc((void **) &l, &allocated, n + 2, sizeof *l) < 0)
                        return -ENOMEM;
                l[n] = strdup(s);
                l[n + 1] = NULL;
                if (!l[n])
                        return -ENOMEM;
                n++;
                /* one entry past the limit is still checked, so that a bad one is named */
                if (check) {
                        r = check(l, n, userdata);
                        if (r < 0)
                                return r;
                }
                if (n > max_items)
                        return -E2BIG;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof *l);
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int bus_managed_objects_walk(sd_bus_message *reply, const char *interface, BusManagedFn fn, void *userdata) {
        int r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}")) > 0) {
                const char *path;
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sa{sv}}");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}")) > 0) {
                        const char *name;
                        r = sd_bus_message_read(reply, "s", &name);
                        if (r >= 0)
                                r = strcmp(name, interface) == 0 ? fn(reply, path, userdata)
                                                                 : sd_bus_message_skip(reply, "a{sv}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                return r;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}
