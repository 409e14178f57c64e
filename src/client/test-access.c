/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "picctl-access.h"
#include "picctl-format.h"

static void test_parse(void **state) {
        AccessChange c;

        assert_int_equal(access_change_parse("+files", &c), 0);
        assert_string_equal(c.service, "files");
        assert_true(c.grant);
        assert_int_equal(access_change_parse("-mail", &c), 0);
        assert_string_equal(c.service, "mail");
        assert_false(c.grant);
        assert_int_equal(access_change_parse("dns", &c), 0);
        assert_string_equal(c.service, "dns");
        assert_true(c.grant);

        for (const char *const *bad = (const char *const[]) { "", "+", "-", "--mail", "+-x", "-+x", NULL }; *bad; bad++)
                assert_int_equal(access_change_parse(*bad, &c), -EINVAL);
}

/* Applies the words in @words (NULL-terminated) to @current and checks the result is @expected. */
static void check(char **current, const char *const *words, const char *expected, int expected_r) {
        AccessChange changes[8];
        _cleanup_(strv_freep) char **result = NULL;
        _cleanup_(freep) char *joined = NULL;
        size_t n = 0;

        for (; words[n]; n++)
                assert_int_equal(access_change_parse(words[n], &changes[n]), 0);

        assert_int_equal(access_changes_apply(current, changes, n, &result), expected_r);
        joined = strv_join(result, ",");
        assert_non_null(joined);
        assert_string_equal(joined, expected);
}

static void test_apply(void **state) {
        char *dns_mail[] = { (char *) "dns", (char *) "mail", NULL };
        char *twice[] = { (char *) "dns", (char *) "dns", NULL };
        char *none[] = { NULL };

        check(dns_mail, (const char *const[]) { NULL }, "dns,mail", 0);
        check(dns_mail, (const char *const[]) { "+files", "-mail", NULL }, "dns,files", 1);
        check(dns_mail, (const char *const[]) { "files", NULL }, "dns,mail,files", 1);
        check(dns_mail, (const char *const[]) { "+dns", "mail", NULL }, "dns,mail", 0);
        check(dns_mail, (const char *const[]) { "-web", NULL }, "dns,mail", 0);
        check(dns_mail, (const char *const[]) { "-dns", "+dns", NULL }, "mail,dns", 1);
        check(dns_mail, (const char *const[]) { "-dns", "-mail", NULL }, "", 1);
        check(dns_mail, (const char *const[]) { "+web", "+web", "-web", NULL }, "dns,mail", 0);
        check(none, (const char *const[]) { "web", "files", NULL }, "web,files", 1);
        check(NULL, (const char *const[]) { "-web", NULL }, "", 0);
        check(NULL, (const char *const[]) { "+web", NULL }, "web", 1);
        check(twice, (const char *const[]) { NULL }, "dns", 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_apply),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
