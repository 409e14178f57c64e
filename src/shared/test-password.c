/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"

static void test_quality(void **state) {
        assert_int_equal(password_check_quality("correct horse"), 0);
        assert_int_equal(password_check_quality("short"), -EINVAL);
        assert_int_equal(password_check_quality(NULL), -EINVAL);
        assert_int_equal(password_check_quality("tab\tinside it"), -EINVAL);
        char *big = malloc(PASSWORD_MAX + 2);
        memset(big, 'a', PASSWORD_MAX + 1);
        big[PASSWORD_MAX + 1] = 0;
        assert_int_equal(password_check_quality(big), -EINVAL);
        big[PASSWORD_MAX] = 0;
        assert_int_equal(password_check_quality(big), 0);
        free(big);
}

static void test_hash_and_verify(void **state) {
        char *h = NULL;
        assert_int_equal(password_hash("correct horse", &h), 0);
        assert_non_null(strstr(h, "$argon2id$"));
        assert_null(strstr(h, "correct horse"));
        assert_true(password_verify(h, "correct horse"));
        assert_false(password_verify(h, "correct horsE"));
        assert_false(password_verify(h, ""));
        assert_false(password_verify(NULL, "correct horse"));
        char *h2 = NULL;
        assert_int_equal(password_hash("correct horse", &h2), 0);
        assert_string_not_equal(h, h2); /* salted */
        free(h);
        free(h2);
}

static void test_generate(void **state) {
        char *a = NULL, *b = NULL;
        assert_int_equal(password_generate(&a), 0);
        assert_int_equal(password_generate(&b), 0);
        assert_int_equal(strlen(a), 20);
        assert_int_equal(password_check_quality(a), 0);
        assert_string_not_equal(a, b);
        free(a);
        free(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quality),
                cmocka_unit_test(test_hash_and_verify),
                cmocka_unit_test(test_generate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
