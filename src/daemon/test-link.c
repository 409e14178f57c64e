/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "macro.h"

/* A link file as the first PIC with links wrote it: no identity_pending, no own_pairing. */
#define OLDER_LINK                                                                                                     \
        "{\"cell\":{\"name\":\"b\",\"domain\":\"b.lan\",\"subnet\":\"10.73.0.0/24\",\"dns\":\"10.73.0.1\","   \
        "\"endpoint\":\"192.0.2.2:51820\",\"pairing\":\"192.0.2.2:8283\","                                             \
        "\"wg\":\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\","                                           \
        "\"sign\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"                                             \
        "\"schema\":1,\"created\":1800000000000000,\"tx_counter\":7,\"rx_counter\":3,\"confirmed\":true,"               \
        "\"push_pending\":false,\"shared\":[\"web\"],\"remote_shared\":[]%s}"

static Link *parse(const char *extra, char *why, size_t size) {
        char text[2048];
        Link *l = NULL;
        snprintf(text, sizeof text, OLDER_LINK, extra);
        return link_from_json(text, &l, why, size) < 0 ? NULL : l;
}

static void test_older_file_reads(void **state) {
        char why[256];
        _cleanup_(link_freep) Link *l = parse("", why, sizeof why);
        assert_non_null(l);
        assert_false(l->identity_pending);
        assert_null(l->own_pairing);
        assert_int_equal(l->tx_counter, 7);
        assert_string_equal(l->shared[0], "web");
}

static void test_round_trip(void **state) {
        char why[256];
        _cleanup_(link_freep) Link *l = parse(",\"identity_pending\":true,\"own_pairing\":\"cell.example.org:8283\"",
                                              why, sizeof why);
        assert_non_null(l);
        assert_true(l->identity_pending);
        assert_string_equal(l->own_pairing, "cell.example.org:8283");

        _cleanup_(freep) char *text = NULL;
        assert_int_equal(link_to_json(l, &text), 0);
        _cleanup_(link_freep) Link *again = NULL;
        assert_int_equal(link_from_json(text, &again, why, sizeof why), 0);
        assert_true(again->identity_pending);
        assert_string_equal(again->own_pairing, "cell.example.org:8283");
        assert_int_equal(again->rx_counter, 3);
        assert_false(again->exit_offered || again->remote_exit_offered || again->has_exit_client_key);

        /* what the two sides agreed about exits comes back as it was */
        again->exit_offered = again->has_exit_client_key = again->remote_exit_offered = again->exit_key_pending = true;
        memset(again->exit_client_key, 0x42, WG_KEY_LEN);
        again->exit_client_address = 0x0a3c0009;
        again->remote_exit_address = 0x0a3d0004;
        _cleanup_(freep) char *exit_text = NULL;
        assert_int_equal(link_to_json(again, &exit_text), 0);
        _cleanup_(link_freep) Link *third = NULL;
        assert_int_equal(link_from_json(exit_text, &third, why, sizeof why), 0);
        assert_true(third->exit_offered && third->has_exit_client_key && third->remote_exit_offered);
        assert_true(third->exit_key_pending && !third->exit_pending);
        assert_memory_equal(third->exit_client_key, again->exit_client_key, WG_KEY_LEN);
        assert_int_equal(third->exit_client_address, 0x0a3c0009);
        assert_int_equal(third->remote_exit_address, 0x0a3d0004);
}

static void test_refused(void **state) {
        static const struct {
                const char *extra, *words;
        } cases[] = {
                { ",\"own_pairing\":\"no port\"", "own_pairing" },
                { ",\"own_pairing\":7", "own_pairing" },
                { ",\"identity_pending\":\"yes\"", "identity_pending" },
                { ",\"identity_pending\":true,\"identity_pending\":true", "twice" },
                { ",\"exits\":true", "unknown field" },
                { ",\"exit\":true", "must be an object" },
                { ",\"exit\":{\"offered\":true}", "client_key" },
                { ",\"exit\":{\"offered\":true,\"client_key\":\"nope\",\"client_address\":\"\",\"pending\":false,"
                  "\"remote_offered\":false,\"remote_address\":\"\",\"key_pending\":false}", "client_key is not a key" },
                { ",\"exit\":{\"offered\":true,\"client_key\":\"\",\"client_address\":\"10.1.2\",\"pending\":false,"
                  "\"remote_offered\":false,\"remote_address\":\"\",\"key_pending\":false}", "client_address" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char why[256] = "";
                assert_null(parse(cases[i].extra, why, sizeof why));
                if (!strstr(why, cases[i].words))
                        fail_msg("%s: '%s' does not say '%s'", cases[i].extra, why, cases[i].words);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_older_file_reads),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
