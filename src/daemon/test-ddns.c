/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ddns.h"
#include "fileio.h"

#define TOKEN "a7c4d0ad-114e-40ef-ba1d-d217904a50f2"
#define TOKEN2 "0000d0ad-114e-40ef-ba1d-d217904a50f2"

static void change(const DdnsConfig *old, const DdnsChange *ch, DdnsConfig *ret) {
        char error[DDNS_ERROR_MAX] = "";
        int r = ddns_config_change(old, ch, ret, error);
        if (r < 0)
                print_error("refused: %s\n", error);
        assert_int_equal(r, 0);
}

static void refused(const DdnsConfig *old, const DdnsChange *ch, const char *names) {
        char error[DDNS_ERROR_MAX] = "";
        DdnsConfig c = {};
        assert_int_equal(ddns_config_change(old, ch, &c, error), -EINVAL);
        if (!strstr(error, names))
                print_error("\"%s\" does not name %s\n", error, names);
        assert_non_null(strstr(error, names));
        assert_null(strstr(error, TOKEN));
        assert_null(c.provider);
}

static void test_change(void **state) {
        DdnsConfig empty = {}, a = {}, b = {}, c = {}, off = {};
        DdnsChange set = { .provider = "duckdns", .has_provider = true, .hostname = "cell.duckdns.org",
                           .has_hostname = true, .token = TOKEN, .has_token = true };
        change(&empty, &set, &a);
        assert_string_equal(a.provider, "duckdns");
        assert_string_equal(a.address_source, "uplink"); /* the default */
        assert_null(a.published_address);

        /* what was published survives a change that changes nothing, not one that does */
        a.published_address = strdup("192.0.2.1");
        a.published_usec = 1234;
        a.stopped_reason = strdup("stop");
        DdnsChange same = { .token = TOKEN, .has_token = true };
        change(&a, &same, &b);
        assert_string_equal(b.published_address, "192.0.2.1");
        assert_int_equal(b.published_usec, 1234);
        assert_string_equal(b.stopped_reason, "stop");
        assert_true(ddns_config_settings_equal(&a, &b));
        DdnsChange other = { .token = TOKEN2, .has_token = true };
        change(&a, &other, &c);
        assert_string_equal(c.token, TOKEN2);
        assert_string_equal(c.hostname, "cell.duckdns.org"); /* kept */
        assert_null(c.published_address);
        assert_null(c.stopped_reason);
        assert_false(ddns_config_settings_equal(&a, &c));

        DdnsChange source = { .address_source = "https://ip.example.net/", .has_address_source = true };
        ddns_config_done(&b);
        change(&a, &source, &b);
        assert_string_equal(b.address_source, "https://ip.example.net/");

        /* off */
        DdnsChange turn_off = { .provider = "", .has_provider = true };
        change(&a, &turn_off, &off);
        assert_null(off.provider);

        ddns_config_done(&a);
        ddns_config_done(&b);
        ddns_config_done(&c);
}

static void test_change_refused(void **state) {
        DdnsConfig empty = {}, a = {};
        DdnsChange set = { .provider = "duckdns", .has_provider = true, .hostname = "cell.duckdns.org",
                           .has_hostname = true, .token = TOKEN, .has_token = true };
        change(&empty, &set, &a);

        refused(&empty, &(DdnsChange) { .hostname = "a.duckdns.org", .has_hostname = true }, "DdnsProvider");
        refused(&a, &(DdnsChange) { .provider = "", .has_provider = true, .token = TOKEN, .has_token = true },
                "DdnsProvider");
        refused(&a, &(DdnsChange) { .provider = "noip", .has_provider = true }, "DdnsToken");
        refused(&a, &(DdnsChange) { .token = "", .has_token = true }, "DdnsToken");
        refused(&a, &(DdnsChange) { .token = TOKEN "x", .has_token = true }, "DdnsToken");
        refused(&a, &(DdnsChange) { .hostname = "cell.example.org", .has_hostname = true }, "DdnsHostname");
        refused(&a, &(DdnsChange) { .address_source = "http://ip.example.net/", .has_address_source = true },
                "DdnsAddressSource");
        refused(&a, &(DdnsChange) { .address_source = "wan", .has_address_source = true }, "DdnsAddressSource");
        ddns_config_done(&a);
}

static void test_json(void **state) {
        DdnsConfig a = {
                .provider = strdup("noip"), .hostname = strdup("cell.ddns.net"), .username = strdup("me"),
                .password = strdup("pass word"), .address_source = strdup("uplink"),
                .published_address = strdup("198.51.100.4"), .published_usec = 1764748800123456ULL,
                .stopped_reason = strdup("the provider blocked updates of this hostname for abuse (abuse)"),
        };
        char *text = NULL, why[256];
        assert_int_equal(ddns_config_to_json(&a, &text), 0);
        DdnsConfig b = {};
        assert_int_equal(ddns_config_from_json(text, &b, why, sizeof why), 0);
        assert_true(ddns_config_settings_equal(&a, &b));
        assert_string_equal(b.published_address, "198.51.100.4");
        assert_true(b.published_usec == 1764748800123456ULL);
        assert_string_equal(b.stopped_reason, a.stopped_reason);
        free(text);
        ddns_config_done(&b);

        const char *bad[] = {
                "[]",
                "{\"schema\":2,\"provider\":\"noip\"}",
                "{\"schema\":1,\"provider\":\"noip\",\"hostname\":\"cell.ddns.net\",\"username\":\"me\"}",
                "{\"schema\":1,\"provider\":\"duckdns\",\"hostname\":\"c.duckdns.org\",\"token\":\"" TOKEN "\","
                "\"address_source\":\"uplink\",\"extra\":1}",
                "{\"schema\":1,\"provider\":\"duckdns\",\"hostname\":\"c.duckdns.org\",\"token\":\"" TOKEN "\","
                "\"address_source\":\"uplink\",\"published_address\":\"1.2.3\"}",
                "{\"schema\":1,\"provider\":\"duckdns\",\"hostname\":\"c.duckdns.org\",\"token\":\"" TOKEN "\","
                "\"address_source\":\"uplink\",\"published_usec\":\"12x\"}",
                "{\"schema\":1,\"provider\":\"duckdns\",\"hostname\":\"c.duckdns.org\",\"token\":7,"
                "\"address_source\":\"uplink\"}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                DdnsConfig c = {};
                if (ddns_config_from_json(bad[i], &c, why, sizeof why) != -EINVAL)
                        print_error("taken: %s\n", bad[i]);
                assert_null(c.provider);
        }
        /* off, as written for no provider (a restore stages it for a backup without ddns.json) */
        DdnsConfig none = {}, off = { .provider = (char *) "x" };
        assert_int_equal(ddns_config_to_json(&none, &text), 0);
        assert_int_equal(ddns_config_from_json(text, &off, why, sizeof why), 0);
        assert_null(off.provider);
        free(text);
        assert_int_equal(ddns_config_from_json("{\"schema\":1,\"hostname\":\"c.ddns.net\"}", &off, why, sizeof why),
                         -EINVAL);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                DdnsConfig c = {};
                assert_int_equal(ddns_config_from_json(bad[i], &c, why, sizeof why), -EINVAL);
                assert_null(strstr(why, TOKEN));
        }

        /* stored 0600, and removed when off */
        char dir[] = "/tmp/test-ddns-XXXXXX";
        assert_non_null(mkdtemp(dir));
        int fd = open(dir, O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ddns_config_save(fd, &a), 0);
        struct stat st;
        assert_int_equal(fstatat(fd, "ddns.json", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(ddns_config_load(fd, &b), 0);
        assert_true(ddns_config_settings_equal(&a, &b));
        ddns_config_done(&b);
        assert_int_equal(ddns_config_save(fd, &none), 0);
        assert_int_equal(faccessat(fd, "ddns.json", F_OK, 0), -1);
        assert_int_equal(ddns_config_save(fd, &none), 0);
        assert_int_equal(ddns_config_load(fd, &b), 0);
        assert_null(b.provider);
        close(fd);
        assert_int_equal(rmdir(dir), 0);
        ddns_config_done(&a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_change),
                cmocka_unit_test(test_change_refused),
                cmocka_unit_test(test_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
