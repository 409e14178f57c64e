/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "bus-dict.h"
#include "bus-message.h"
#include "macro.h"
#include "strv.h"
#include "test-bus-util.h"

static void build_strv(sd_bus_message *m, void *data) {
        assert_int_equal(sd_bus_message_append_strv(m, data), 0);
}

static void build_dict(sd_bus_message *m, void *data) {
        (void) data;
        assert_true(sd_bus_message_append(m, "a{sv}", 4,
                                          "Name", "s", "laptop",
                                          "Port", "q", (uint16_t) 51820,
                                          "List", "as", 2, "web", "mail",
                                          "Nested", "a{sv}", 1, "X", "b", 1) >= 0);
}

static int refuse_bad(char *const *l, size_t n, void *userdata) {
        (void) userdata;
        return streq(l[n - 1], "bad") ? -EINVAL : 0;
}

static void test_strv_bounded(void **state) {
        sd_bus *bus = test_bus();
        char *four[] = { "a", "b", "c", "d", NULL }, *with_bad[] = { "a", "bad", "c", NULL }, *empty[] = { NULL };
        char *past_bad[] = { "a", "b", "c", "bad", NULL };
        char **l = NULL;
        sd_bus_message *m;
        (void) state;

        m = sealed(bus, build_strv, four);
        assert_int_equal(bus_read_strv_bounded(m, 4, 16, NULL, NULL, &l), 0);
        assert_int_equal(strv_length(l), 4);
        assert_string_equal(l[3], "d");
        l = strv_free(l);
        sd_bus_message_unref(m);

        m = sealed(bus, build_strv, four);
        assert_int_equal(bus_read_strv_bounded(m, 3, 16, NULL, NULL, &l), -E2BIG);
        assert_null(l);
        sd_bus_message_unref(m);

        m = sealed(bus, build_strv, four);
        assert_int_equal(bus_read_strv_bounded(m, 4, 0, NULL, NULL, &l), -EMSGSIZE);
        sd_bus_message_unref(m);

        m = sealed(bus, build_strv, with_bad);
        assert_int_equal(bus_read_strv_bounded(m, 10, 16, refuse_bad, NULL, &l), -EINVAL);
        sd_bus_message_unref(m);

        /* the entry past the limit is still checked, so it is named rather than counted */
        m = sealed(bus, build_strv, past_bad);
        assert_int_equal(bus_read_strv_bounded(m, 3, 16, refuse_bad, NULL, &l), -EINVAL);
        sd_bus_message_unref(m);

        m = sealed(bus, build_strv, empty);
        assert_int_equal(bus_read_strv_bounded(m, 3, 16, NULL, NULL, &l), 0);
        assert_non_null(l);
        assert_null(l[0]);
        l = strv_free(l);
        sd_bus_message_unref(m);

        sd_bus_unref(bus);
}

typedef struct Seen {
        char keys[256];
        uint16_t port;
} Seen;

/* Reads Port itself, leaves the rest to the walk's skip. */
static int note_entry(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        Seen *s = userdata;
        BusBasic v;
        int r;

        strcat(s->keys, key);
        strcat(s->keys, ":");
        strcat(s->keys, contents);
        strcat(s->keys, " ");
        if (!streq(key, "Port"))
                return 0;
        r = bus_read_basic_variant(m, &v);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        assert_int_equal(v.type, 'q');
        s->port = v.q;
        return 1;
}

static void test_dict_walk(void **state) {
        sd_bus *bus = test_bus();
        sd_bus_message *m;
        Seen s = {};
        (void) state;

        m = sealed(bus, build_dict, NULL);
        assert_int_equal(bus_dict_walk(m, note_entry, &s), 1);
        assert_string_equal(s.keys, "Name:s Port:q List:as Nested:a{sv} ");
        assert_int_equal(s.port, 51820);
        assert_int_equal(sd_bus_message_at_end(m, true), 1);
        sd_bus_message_unref(m);
        sd_bus_unref(bus);
}

static int stop_at_list(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        BusBasic v;
        (void) contents;
        (void) userdata;
        if (!streq(key, "List"))
                return 0;
        /* not a basic type: the position stays at the variant */
        assert_int_equal(bus_read_basic_variant(m, &v), 0);
        return -ENOTRECOVERABLE;
}

static void test_dict_walk_stops(void **state) {
        sd_bus *bus = test_bus();
        sd_bus_message *m;
        (void) state;

        m = sealed(bus, build_dict, NULL);
        assert_int_equal(bus_dict_walk(m, stop_at_list, NULL), -ENOTRECOVERABLE);
        sd_bus_message_unref(m);
        sd_bus_unref(bus);
}

static void build_settings(sd_bus_message *m, void *data) {
        assert_true(sd_bus_message_append(m, "a{sv}", 2, "Name", "s", data, "Access", "as", 2, "web", "web") >= 0);
}

static int refuse_repeats(char *const *l, char *buf, size_t size) {
        for (size_t i = 0; l[i]; i++)
                for (size_t j = i + 1; l[j]; j++)
                        if (streq(l[i], l[j])) {
                                snprintf(buf, size, "'%s' is given twice.", l[i]);
                                return -EINVAL;
                        }
        return 0;
}

static void test_read_dict(void **state) {
        sd_bus *bus = test_bus();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name = NULL;
        char **access = NULL;
        bool has_name = false, has_access = false;
        BusDictField fields[] = {
                { "Name", 's', &name, &has_name },
                { "Access", 'a', &access, &has_access, 4, refuse_repeats },
        };
        sd_bus_message *m;
        (void) state;

        m = sealed(bus, build_settings, "laptop");
        assert_int_equal(bus_read_dict(m, fields, ELEMENTSOF(fields), &error), -EINVAL);
        assert_string_equal(error.name, SD_BUS_ERROR_INVALID_ARGS);
        assert_string_equal(error.message, "'web' is given twice.");
        assert_null(access);
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);

        fields[1].validate_list = NULL;
        fields[1].max_items = 1;
        has_name = false;
        m = sealed(bus, build_settings, "laptop");
        assert_int_equal(bus_read_dict(m, fields, ELEMENTSOF(fields), &error), -EINVAL);
        assert_string_equal(error.message, "Access has more than 1 entries.");
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);

        fields[1].max_items = 2;
        has_name = false;
        m = sealed(bus, build_settings, "laptop");
        assert_int_equal(bus_read_dict(m, fields, ELEMENTSOF(fields), &error), 1);
        assert_true(has_name && has_access);
        assert_string_equal(name, "laptop");
        assert_int_equal(strv_length(access), 2);
        access = strv_free(access);
        sd_bus_message_unref(m);
        sd_bus_unref(bus);
}

static void test_utf8_prefix(void **state) {
        (void) state;
        assert_int_equal(utf8_prefix_len("abc", 10), 3);
        assert_int_equal(utf8_prefix_len("abc", 2), 2);
        /* "é" is two bytes: a cut after its first byte steps back before it */
        assert_int_equal(utf8_prefix_len("a\xc3\xa9z", 2), 1);
        assert_int_equal(utf8_prefix_len("a\xc3\xa9z", 3), 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv_bounded),
                cmocka_unit_test(test_dict_walk),
                cmocka_unit_test(test_dict_walk_stops),
                cmocka_unit_test(test_read_dict),
                cmocka_unit_test(test_utf8_prefix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
