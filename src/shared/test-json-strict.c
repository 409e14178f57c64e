/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "json-strict.h"
#include "macro.h"

static cJSON *parse(const char *text, size_t len, char *why) {
        return json_parse_strict(text, len, why, 128);
}

static void test_taken(void **state) {
        static const char *const good[] = {
                "{\"name\":\"laptop\",\"services\":[\"dns\",\"web\"]}",
                "  {\"a\":{\"b\":1},\"c\":{\"b\":2}}\n",       /* the same name in different objects */
                "{\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",     /* UTF-8, 2 and 4 bytes */
                "{\"q\":\"a\\\"b\\\\u0000\"}",                     /* an escaped backslash, then text */
                "[1,2,3]",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                char why[128] = "";
                cJSON *o = parse(good[i], strlen(good[i]), why);
                if (!o)
                        fail_msg("%s: refused: %s", good[i], why);
                cJSON_Delete(o);
        }
}

static void test_refused(void **state) {
        static const struct {
                const char *text;
                size_t len;
                const char *words;
        } bad[] = {
                { "{\"name\":\"ab\\u0000cd\"}", 0, "\\u0000" },
                { "{\"name\":\"ab\\U0000cd\"}", 0, "Not JSON" },
                { "{\"name\":\"ab\"}\0{}", 15, "NUL byte" },
                { "{\"name\":\"ab\"} x", 0, "after the JSON value" },
                { "{\"name\":\"ab\"}{}", 0, "after the JSON value" },
                { "{\"name\":\"\xff\"}", 0, "Not UTF-8" },
                { "{\"name\":\"\xc0\xaf\"}", 0, "Not UTF-8" },                /* overlong '/' */
                { "{\"name\":\"\xed\xa0\x80\"}", 0, "Not UTF-8" },            /* a surrogate */
                { "{\"name\":\"a\",\"name\":\"b\"}", 0, "'name' is given twice" },
                { "{\"x\":[{\"k\":1,\"k\":2}]}", 0, "'k' is given twice" },
                { "", 0, "Not JSON" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char why[128] = "";
                size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
                cJSON *o = parse(bad[i].text, len, why);
                if (o) {
                        cJSON_Delete(o);
                        fail_msg("case %zu was taken", i);
                }
                if (!strstr(why, bad[i].words))
                        fail_msg("case %zu: '%s' does not say '%s'", i, why, bad[i].words);
        }
}

static void test_duplicate_member_named(void **state) {
        static const struct {
                const char *text, *member;
        } cases[] = {
                { "{\"name\":\"a\",\"name\":\"b\"}", "name" },
                { "{\"name\":\"a\",\"dns\":{\"k\":1,\"k\":2}}", "dns" },  /* the top-level member holding it */
                { "{\"x\":[{\"k\":1,\"k\":2}]}", "x" },
                { "[{\"k\":1,\"k\":2}]", "k" },                            /* no top-level member: its own */
                { "{\"name\":\"ab\" x", "" },                                    /* not a duplicate: none */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char why[128] = "", member[32] = "junk";
                cJSON *o = json_parse_strict_member(cases[i].text, strlen(cases[i].text), why, sizeof why, member,
                                                    sizeof member);
                assert_null(o);
                if (!streq(member, cases[i].member))
                        fail_msg("case %zu: member '%s', not '%s'", i, member, cases[i].member);
        }
}

static void test_clean_text(void **state) {
        assert_true(text_is_clean_utf8("/api/peers/caf\xc3\xa9", 16));
        assert_false(text_is_clean_utf8("/static/app.js\xff.html", 20));
        assert_false(text_is_clean_utf8("/a\tb", 4));
        assert_false(text_is_clean_utf8("/a\x7f", 3));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_taken),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_duplicate_member_named),
                cmocka_unit_test(test_clean_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
