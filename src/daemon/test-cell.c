/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cell.h"
#include "keys.h"
#include "macro.h"

/* Validates s and checks the verdict; a refusal must name the field. */
static void check(CellSettings s, bool ok, const char *field) {
        char why[512] = "";
        int r = cell_settings_validate(&s, why, sizeof why);
        if (ok && r != 0)
                fail_msg("%s refused: %s", field, why);
        if (!ok) {
                if (r != -EINVAL)
                        fail_msg("bad %s accepted (r=%d)", field, r);
                if (!strstr(why, field))
                        fail_msg("'%s' does not name %s", why, field);
        }
}

static void test_nothing_given(void **state) {
        check((CellSettings) {}, true, "");
}

static void test_name(void **state) {
        static const char *const good[] = { "home", "a", "0", "my-cell-2", "x23456789012345678901234567890123456789012345678901234567890123" };
        static const char *const bad[] = {
                "", "Home", "-home", "home-", "my_cell", "my cell", "home.lan", "h\xc3\xb6me",
                "x234567890123456789012345678901234567890123456789012345678901234", /* 64 */
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                check((CellSettings) { .name = good[i] }, true, "Name");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                check((CellSettings) { .name = bad[i] }, false, "Name");
}

static void test_domain(void **state) {
        char long_ok[254], too_long[256];
        /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
        snprintf(long_ok, sizeof long_ok, "%s.%s.%s.%.61s", "a23456789012345678901234567890123456789012345678901234567890123",
                 "b23456789012345678901234567890123456789012345678901234567890123",
                 "c23456789012345678901234567890123456789012345678901234567890123",
                 "d23456789012345678901234567890123456789012345678901234567890123");
        assert_int_equal(strlen(long_ok), 253);
        snprintf(too_long, sizeof too_long, "%s.x", long_ok);

        const char *const good[] = { "home.lan", "lan", "a.b.c.d", "cell-1.example.org", long_ok };
        const char *const bad[] = { "", ".lan", "home.", "home..lan", "Home.lan", "home_x.lan", "-a.lan", "a-.lan",
                                    "home lan", too_long };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                check((CellSettings) { .domain = good[i] }, true, "Domain");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                check((CellSettings) { .domain = bad[i] }, false, "Domain");
}

static void test_vpn_address(void **state) {
        static const char *const good[] = {
                "10.0.0.1/24", "10.255.255.254/8", "172.16.0.1/12", "172.31.255.1/24", "192.168.1.1/16",
                "192.168.1.2/30", "10.0.0.129/25",
        };
        static const char *const bad[] = {
                "10.0.0.1",        /* no prefix */
                "10.0.0.1/33",     "10.0.0.1/",      "x", "", "10.0.0.1/24 ", "010.0.0.1/24",
                "8.8.8.1/24",      /* public */
                "100.64.0.1/24",   /* CGNAT is not RFC 1918 */
                "172.32.0.1/24",   "172.15.255.1/24", "192.169.0.1/24",
                "10.0.0.1/7",      /* larger than the private range */
                "192.168.0.1/15",
                "10.0.0.0/24",     /* network address */
                "10.0.0.255/24",   /* broadcast address */
                "10.0.0.1/31",     "10.0.0.1/32",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                CellSettings s = { .vpn_address = good[i] };
                char why[512] = "";
                if (cell_settings_validate(&s, why, sizeof why) != 0)
                        fail_msg("'%s' refused: %s", good[i], why);
                char back[CIDR4_STRLEN];
                assert_string_equal(cidr4_format(&s.vpn, back), good[i]); /* parsed for the caller */
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                check((CellSettings) { .vpn_address = bad[i] }, false, "VpnAddress");
}

static void test_listen_port(void **state) {
        check((CellSettings) { .has_listen_port = true, .listen_port = 1 }, true, "ListenPort");
        check((CellSettings) { .has_listen_port = true, .listen_port = 51820 }, true, "ListenPort");
        check((CellSettings) { .has_listen_port = true, .listen_port = 65535 }, true, "ListenPort");
        check((CellSettings) { .has_listen_port = true, .listen_port = 0 }, false, "ListenPort");
        /* Not given: the value is not looked at. */
        check((CellSettings) { .has_listen_port = false, .listen_port = 0 }, true, "ListenPort");
}

static void test_endpoint_setting(void **state) {
        check((CellSettings) { .endpoint = "cell.example.org:51820" }, true, "Endpoint");
        check((CellSettings) { .endpoint = "" }, true, "Endpoint"); /* clears it */
        check((CellSettings) { .endpoint = "cell.example.org" }, false, "Endpoint");
        check((CellSettings) { .endpoint = "1.2.3.4:0" }, false, "Endpoint");
}

static void test_first_bad_field_is_named(void **state) {
        /* Everything given, one thing wrong: the message names that field. */
        CellSettings s = { .name = "home", .domain = "home.lan", .vpn_address = "10.0.0.1/24",
                           .endpoint = "cell.example.org:51820", .has_listen_port = true, .listen_port = 51820 };
        check(s, true, "");
        CellSettings t = s;
        t.domain = "Home.LAN";
        check(t, false, "Domain");
        t = s;
        t.vpn_address = "1.1.1.1/24";
        check(t, false, "VpnAddress");
        t = s;
        t.endpoint = "cell.example.org:99999";
        check(t, false, "Endpoint");
}

static void test_cell_copy(void **state) {
        Cell c = { .setup_complete = true, .name = strdup("home"), .domain = strdup("home.lan"),
                   .endpoint = NULL, .vpn_address = { 0x0a000001, 24 }, .listen_port = 51820 };
        Cell d;

        assert_int_equal(key_generate_private(c.private_key), 0);
        assert_int_equal(cell_copy(&c, &d), 0);
        assert_ptr_not_equal(c.name, d.name);
        assert_string_equal(d.name, "home");
        assert_string_equal(d.domain, "home.lan");
        assert_null(d.endpoint);
        assert_memory_equal(c.private_key, d.private_key, WG_KEY_LEN);
        cell_done(&d);
        /* cell_done wipes: a done cell holds no key and no strings. */
        assert_null(d.name);
        assert_true(key_is_zero(d.private_key));
        assert_string_equal(c.name, "home");
        cell_done(&c);
        cell_done(&c); /* twice is harmless */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nothing_given),
                cmocka_unit_test(test_name),
                cmocka_unit_test(test_domain),
                cmocka_unit_test(test_vpn_address),
                cmocka_unit_test(test_listen_port),
                cmocka_unit_test(test_endpoint_setting),
                cmocka_unit_test(test_first_bad_field_is_named),
                cmocka_unit_test(test_cell_copy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
