/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "unit-name.h"

/* What `systemd-escape` (v252) prints for each input. */
static const struct {
        const char *in, *out;
} cases[] = {
        { "laptop", "laptop" },
        { "my-phone", "my\\x2dphone" },
        { "my_tablet", "my_tablet" },
        { "Phone-2", "Phone\\x2d2" },
        { "a/b", "a-b" },
        { ".hidden", "\\x2ehidden" },
        { "a.b", "a.b" },
        { "a b", "a\\x20b" },
        { "a\\b", "a\\x5cb" },
        { "x:y", "x:y" },
        { "\xc3\xa4", "\\xc3\\xa4" },
};

static void test_escape(void **state) {
        char buf[UNIT_NAME_MAX], back[UNIT_NAME_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(unit_name_escape(cases[i].in, buf, sizeof buf), 0);
                assert_string_equal(buf, cases[i].out);
                assert_int_equal(unit_name_unescape(buf, back, sizeof back), 0);
                assert_string_equal(back, cases[i].in);
        }
        assert_int_equal(unit_name_escape("", buf, sizeof buf), -EINVAL);
        /* exactly fitting, and one byte short */
        assert_int_equal(unit_name_escape("a-", buf, 6), 0);
        assert_string_equal(buf, "a\\x2d");
        assert_int_equal(unit_name_escape("a-", buf, 5), -ENOBUFS);
        assert_int_equal(unit_name_escape("ab", buf, 2), -ENOBUFS);
}

static void test_unescape_refuses(void **state) {
        char buf[UNIT_NAME_MAX];

        assert_int_equal(unit_name_unescape("a\\", buf, sizeof buf), -EINVAL);
        assert_int_equal(unit_name_unescape("a\\x2", buf, sizeof buf), -EINVAL);
        assert_int_equal(unit_name_unescape("a\\y2d", buf, sizeof buf), -EINVAL);
        assert_int_equal(unit_name_unescape("a\\xzz", buf, sizeof buf), -EINVAL);
        assert_int_equal(unit_name_unescape("a\\x00", buf, sizeof buf), -EINVAL);
        assert_int_equal(unit_name_unescape("abc", buf, 3), -ENOBUFS);
        assert_int_equal(unit_name_unescape("abc", buf, 4), 0);
        assert_int_equal(unit_name_unescape("A\\x2D", buf, sizeof buf), 0);
        assert_string_equal(buf, "A-");
}

static void test_build_instance(void **state) {
        char buf[UNIT_NAME_MAX];

        assert_int_equal(unit_name_build_instance("pic-peer", "laptop", ".target", buf, sizeof buf), 0);
        assert_string_equal(buf, "pic-peer@laptop.target");
        assert_int_equal(unit_name_build_instance("pic-link", "alice-home", ".target", buf, sizeof buf), 0);
        assert_string_equal(buf, "pic-link@alice\\x2dhome.target");
        assert_int_equal(unit_name_build_instance("pic-peer", "laptop", ".target", buf, 22), -ENOBUFS);
        assert_int_equal(unit_name_build_instance("pic-peer", "laptop", ".target", buf, 23), 0);
        /* the longest peer name, all escaped, still fits a unit name */
        assert_int_equal(unit_name_build_instance("pic-peer", "a--------------------------------", ".target", buf,
                                                  sizeof buf), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_unescape_refuses),
                cmocka_unit_test(test_build_instance),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
