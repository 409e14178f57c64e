/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "names.h"

/* Fills buf with n copies of c. */
static char *repeat(char *buf, char c, size_t n) {
        memset(buf, c, n);
        buf[n] = 0;
        return buf;
}

static void test_peer_name(void **state) {
        char buf[64];

        assert_true(peer_name_is_valid("laptop"));
        assert_true(peer_name_is_valid("Phone-2"));
        assert_true(peer_name_is_valid("a"));
        assert_true(peer_name_is_valid("7"));
        assert_true(peer_name_is_valid("my_tablet"));
        assert_true(peer_name_is_valid("x-"));
        assert_true(peer_name_is_valid(repeat(buf, 'a', PEER_NAME_MAX)));

        static const char *const bad[] = {
                "", "-x", "_x", "a b", " a", "a ", "a/b", "/", "a\\b", "\xc3\xa4" /* ä */, "a\xc3\xa4",
                "a.b", ".", "..", ".hidden", "a\tb", "a\nb", "a\x7f", "a\x01", "a:b", "a@b", "a*",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (peer_name_is_valid(bad[i]))
                        fail_msg("peer name \"%s\" (#%zu) accepted", bad[i], i);

        assert_false(peer_name_is_valid(repeat(buf, 'a', PEER_NAME_MAX + 1)));
        assert_false(peer_name_is_valid(NULL));
}

static void test_dns_label(void **state) {
        char buf[80];

        assert_true(dns_label_is_valid("cell"));
        assert_true(dns_label_is_valid("a"));
        assert_true(dns_label_is_valid("0"));
        assert_true(dns_label_is_valid("my-cell-2"));
        assert_true(dns_label_is_valid("a--b"));
        assert_true(dns_label_is_valid(repeat(buf, 'z', 63)));

        static const char *const bad[] = {
                "", "Cell", "CELL", "-cell", "cell-", "-", "a.b", "a_b", "a b", "\xc3\xa4", "a\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (dns_label_is_valid(bad[i]))
                        fail_msg("label \"%s\" accepted", bad[i]);

        assert_false(dns_label_is_valid(repeat(buf, 'z', 64)));
        assert_false(dns_label_is_valid(NULL));
}

/* Builds n labels of length label_len joined by dots. */
static char *domain_of(char *buf, size_t n, size_t label_len) {
        char *p = buf;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = '.';
                memset(p, 'a' + (char) (i % 26), label_len);
                p += label_len;
        }
        *p = 0;
        return buf;
}

static void test_dns_domain(void **state) {
        char buf[512];

        assert_true(dns_domain_is_valid("cell"));
        assert_true(dns_domain_is_valid("home.example.org"));
        assert_true(dns_domain_is_valid("a.b"));
        assert_true(dns_domain_is_valid("x-1.y-2.z"));

        static const char *const bad[] = {
                "", ".", "a..b", "a.b.", ".a.b", "Home.example.org", "home.Example", "-a.b", "a-.b",
                "a.-b", "a_b.c", "a b.c", "a.b/c", "..",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (dns_domain_is_valid(bad[i]))
                        fail_msg("domain \"%s\" accepted", bad[i]);
        assert_false(dns_domain_is_valid(NULL));

        /* A 63-character label in a domain is fine, 64 is not. */
        char label[70];
        snprintf(buf, sizeof buf, "%s.org", repeat(label, 'q', 63));
        assert_true(dns_domain_is_valid(buf));
        snprintf(buf, sizeof buf, "%s.org", repeat(label, 'q', 64));
        assert_false(dns_domain_is_valid(buf));
        snprintf(buf, sizeof buf, "org.%s", repeat(label, 'q', 64));
        assert_false(dns_domain_is_valid(buf));

        /* 3 × 63 + 61 + 3 dots = 253 exactly; one more character is too long. */
        domain_of(buf, 4, 63);
        buf[3 * 64 + 61] = 0;
        assert_int_equal(strlen(buf), 253);
        assert_true(dns_domain_is_valid(buf));

        domain_of(buf, 4, 63);
        buf[3 * 64 + 62] = 0;
        assert_int_equal(strlen(buf), 254);
        assert_false(dns_domain_is_valid(buf));

        /* Many short labels hitting the same limits: 127 × "a" = 253 characters. */
        domain_of(buf, 127, 1);
        assert_int_equal(strlen(buf), 253);
        assert_true(dns_domain_is_valid(buf));
        domain_of(buf, 128, 1);
        assert_false(dns_domain_is_valid(buf));
}

static void test_printable_ascii(void **state) {
        assert_true(string_is_printable_ascii("", 0));
        assert_true(string_is_printable_ascii("hello, world!", 64));
        assert_true(string_is_printable_ascii(" ~", 2));
        assert_true(string_is_printable_ascii("abc", 3));
        assert_false(string_is_printable_ascii("abcd", 3));
        assert_false(string_is_printable_ascii("a\tb", 64));
        assert_false(string_is_printable_ascii("a\nb", 64));
        assert_false(string_is_printable_ascii("a\rb", 64));
        assert_false(string_is_printable_ascii("\x1b[31m", 64));
        assert_false(string_is_printable_ascii("a\x7f", 64));
        assert_false(string_is_printable_ascii("caf\xc3\xa9", 64));
        assert_false(string_is_printable_ascii("\xff", 64));
        assert_false(string_is_printable_ascii(NULL, 64));
}

static void test_endpoint_validate(void **state) {
        static const char *const good[] = {
                "cell.example.org:51820", "[fd00::1]:51820", "1.2.3.4:1", "host:65535", "HOST-1.Example.org:443",
                "[::1]:1", "[2001:db8::1:2]:51820", "[::ffff:192.0.2.1]:51820", "localhost:51820",
        };
        static const char *const bad[] = {
                "1.2.3.4:0", "host", "host:65536", "bad host:1", "host:", ":51820", "host:-1", "host:+1", "host: 1",
                "host:1 ", "host:0x10", "host:051820", "host:1a", "[fd00::1]", "[fd00::1:51820", "fd00::1:51820",
                "[fd00::1]x:1", "[]:1", "[:::]:1", "[fd00::g]:1", "[fd00::1%eth0]:1", "host..example:1", ".host:1",
                "-host:1", "host-:1", "host_x:1", "h\xc3\xb6st:1", "host:1\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (endpoint_validate(good[i]) != 0)
                        fail_msg("'%s' refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (endpoint_validate(bad[i]) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i]);

        /* Length: a 253-character host name is fine, one more is not. */
        char host[300];
        for (size_t len = 253; len <= 254; len++) {
                memset(host, 0, sizeof host);
                for (size_t i = 0; i < len; i++)
                        host[i] = (i % 64 == 63) ? '.' : 'a'; /* labels of 63 and a last one of 61 or 62 */
                strcat(host, ":51820");
                assert_int_equal(endpoint_validate(host), len == 253 ? 0 : -EINVAL);
        }

        /* A label longer than 63 characters is not a host name. */
        memset(host, 'a', 64);
        strcpy(host + 64, ":1");
        assert_int_equal(endpoint_validate(host), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_endpoint_validate),
                cmocka_unit_test(test_peer_name),
                cmocka_unit_test(test_dns_label),
                cmocka_unit_test(test_dns_domain),
                cmocka_unit_test(test_printable_ascii),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
