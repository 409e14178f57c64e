/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "picctl-format.h"

#define USEC_PER_SEC UINT64_C(1000000)

static void test_bytes(void **state) {
        char buf[FORMAT_BYTES_MAX];

        assert_string_equal(format_bytes(buf, sizeof buf, 0), "0 B");
        assert_string_equal(format_bytes(buf, sizeof buf, 1023), "1023 B");
        assert_string_equal(format_bytes(buf, sizeof buf, 1024), "1.0 KiB");
        assert_string_equal(format_bytes(buf, sizeof buf, 1536), "1.5 KiB");
        assert_string_equal(format_bytes(buf, sizeof buf, 1024 * 1024 - 1), "1.0 MiB");
        assert_string_equal(format_bytes(buf, sizeof buf, UINT64_C(5) << 30), "5.0 GiB");
        assert_string_equal(format_bytes(buf, sizeof buf, UINT64_MAX), "16.0 EiB");
}

static void test_ago(void **state) {
        uint64_t now = UINT64_C(1700000000) * USEC_PER_SEC;
        char buf[FORMAT_AGO_MAX];

        assert_string_equal(format_ago(buf, sizeof buf, 0, now), "never");
        assert_string_equal(format_ago(buf, sizeof buf, now, now), "0 s ago");
        assert_string_equal(format_ago(buf, sizeof buf, now + 5 * USEC_PER_SEC, now), "0 s ago");
        assert_string_equal(format_ago(buf, sizeof buf, now - 42 * USEC_PER_SEC, now), "42 s ago");
        assert_string_equal(format_ago(buf, sizeof buf, now - 125 * USEC_PER_SEC, now), "2 min ago");
        assert_string_equal(format_ago(buf, sizeof buf, now - 3 * 3600 * USEC_PER_SEC, now), "3 h ago");
        assert_string_equal(format_ago(buf, sizeof buf, now - 50 * 3600 * USEC_PER_SEC, now), "2 d ago");
}

static void test_msec(void **state) {
        char buf[FORMAT_MSEC_MAX];

        assert_string_equal(format_msec(buf, sizeof buf, 0), "0.0 ms");
        assert_string_equal(format_msec(buf, sizeof buf, 49), "0.0 ms");
        assert_string_equal(format_msec(buf, sizeof buf, 50), "0.1 ms");
        assert_string_equal(format_msec(buf, sizeof buf, 12345), "12.3 ms");
        assert_string_equal(format_msec(buf, sizeof buf, 12350), "12.4 ms");
        assert_string_equal(format_msec(buf, sizeof buf, 999960), "1000.0 ms");
        assert_string_equal(format_msec(buf, sizeof buf, 2500000), "2500.0 ms");
        assert_string_equal(format_msec(buf, sizeof buf, UINT64_MAX), "18446744073709551.6 ms");
}

static void test_split_join(void **state) {
        _cleanup_(strv_freep) char **empty = strv_split_comma("");
        _cleanup_(strv_freep) char **one = strv_split_comma("dns");
        _cleanup_(strv_freep) char **three = strv_split_comma("dns,web,,");
        _cleanup_(freep) char *joined = NULL;

        assert_non_null(empty);
        assert_int_equal(strv_length(empty), 0);
        assert_int_equal(strv_length(one), 1);
        assert_string_equal(one[0], "dns");
        assert_int_equal(strv_length(three), 4);
        assert_string_equal(three[1], "web");
        assert_string_equal(three[3], "");

        joined = strv_join(three, ", ");
        assert_string_equal(joined, "dns, web, , ");

        assert_true(strv_contains(three, "web"));
        assert_true(strv_contains(three, ""));
        assert_false(strv_contains(three, "we"));
        assert_false(strv_contains(empty, "dns"));
        assert_false(strv_contains(NULL, "dns"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bytes),
                cmocka_unit_test(test_ago),
                cmocka_unit_test(test_msec),
                cmocka_unit_test(test_split_join),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
