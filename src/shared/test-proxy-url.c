/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "macro.h"
#include "proxy-url.h"

static void test_socks5_and_http(void **state) {
        ProxyUrl u;
        char why[256] = "";

        assert_int_equal(proxy_url_parse("socks5://192.0.2.10:1080", &u, why, sizeof why), 0);
        assert_int_equal(u.kind, PROXY_SOCKS5);
        assert_int_equal(u.address, 0xc000020a);
        assert_int_equal(u.port, 1080);
        assert_false(u.has_credentials);
        assert_string_equal(proxy_kind_to_string(u.kind), "socks5");

        assert_int_equal(proxy_url_parse("http://198.51.100.7:3128/", &u, why, sizeof why), 0);
        assert_int_equal(u.kind, PROXY_HTTP);
        assert_int_equal(u.address, 0xc6336407);
        assert_int_equal(u.port, 3128);
        assert_false(u.has_credentials);
        assert_string_equal(proxy_kind_to_string(u.kind), "http");

        assert_int_equal(proxy_url_parse("socks5://10.0.0.1:1", &u, why, sizeof why), 0);
        assert_int_equal(u.port, 1);
        assert_int_equal(proxy_url_parse("socks5://10.0.0.1:65535", &u, why, sizeof why), 0);
        assert_int_equal(u.port, 65535);
}

static void test_credentials(void **state) {
        ProxyUrl u;
        char why[256] = "";

        assert_int_equal(proxy_url_parse("socks5://alice:s3cret@192.0.2.10:1080", &u, why, sizeof why), 0);
        assert_true(u.has_credentials);
        assert_string_equal(u.user, "alice");
        assert_string_equal(u.password, "s3cret");
        assert_int_equal(u.port, 1080);

        /* percent-encoding, both cases of hex, and the characters a URL needs escaped */
        assert_int_equal(proxy_url_parse("http://bob%40corp:p%3aw%2Fd%25%7e%20x@192.0.2.11:8080", &u, why, sizeof why),
                         0);
        assert_true(u.has_credentials);
        assert_string_equal(u.user, "bob@corp");
        assert_string_equal(u.password, "p:w/d%~ x");

        /* the longest credentials, each 255 characters decoded */
        char text[PROXY_URL_MAX + 1];
        int n = snprintf(text, sizeof text, "socks5://");
        for (int i = 0; i < PROXY_CREDENTIAL_MAX; i++)
                text[n++] = 'u';
        text[n++] = ':';
        for (int i = 0; i < PROXY_CREDENTIAL_MAX; i++)
                text[n++] = 'p';
        snprintf(text + n, sizeof text - n, "@192.0.2.10:1080");
        assert_int_equal(proxy_url_parse(text, &u, why, sizeof why), 0);
        assert_int_equal(strlen(u.user), PROXY_CREDENTIAL_MAX);
        assert_int_equal(strlen(u.password), PROXY_CREDENTIAL_MAX);

        proxy_url_wipe(&u);
        for (size_t i = 0; i < sizeof u.password; i++) {
                assert_int_equal(u.user[i], 0);
                assert_int_equal(u.password[i], 0);
        }
}

static void test_refusals(void **state) {
        static const char *const bad[] = {
                "192.0.2.10:1080",                         /* no scheme */
                "socks5:/192.0.2.10:1080",
                "https://192.0.2.10:443",                  /* TLS to the proxy: not ours */
                "socks4://192.0.2.10:1080",
                "SOCKS5://192.0.2.10:1080",
                "socks5://proxy.example:1080",             /* a host name */
                "socks5://192.0.2.300:1080",
                "socks5://192.0.2:1080",
                "socks5://[2001:db8::1]:1080",
                "socks5://192.0.2.10:0",                   /* ports */
                "socks5://192.0.2.10:65536",
                "socks5://192.0.2.10:",
                "socks5://192.0.2.10",
                "socks5://192.0.2.10:123456",
                "socks5://192.0.2.10:-1",
                "socks5://192.0.2.10:1080/path",           /* something after */
                "socks5://192.0.2.10:1080//",
                "socks5://192.0.2.10:1080?x=1",
                "socks5://192.0.2.10:1080 ",
                "",
                "socks5://",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ProxyUrl u;
                char why[256] = "";
                if (proxy_url_parse(bad[i], &u, why, sizeof why) != -EINVAL)
                        fail_msg("\"%s\" (#%zu) accepted", bad[i], i);
                assert_true(strncmp(why, "Proxy: ", 7) == 0);
        }

        ProxyUrl u;
        char why[256] = "";
        assert_int_equal(proxy_url_parse(NULL, &u, why, sizeof why), -EINVAL);

        /* over-long: PROXY_URL_MAX + 1 characters */
        char text[PROXY_URL_MAX + 2];
        int n = snprintf(text, sizeof text, "socks5://192.0.2.10:1080/");
        memset(text + n, 'x', sizeof text - 1 - n);
        text[sizeof text - 1] = 0;
        assert_int_equal(strlen(text), PROXY_URL_MAX + 1);
        assert_int_equal(proxy_url_parse(text, &u, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "at most"));
}

/* Bad credentials are refused, and the refusal never quotes the password
 * (nor the user): it ends up in logs and bus errors. */
static void test_credential_refusals_keep_secret(void **state) {
        static const char *const bad[] = {
                "socks5://alice:Pw\"Secret@192.0.2.10:1080",   /* '"' */
                "socks5://alice:Pw%22Secret@192.0.2.10:1080",  /* '"' encoded */
                "socks5://alice:Pw\\Secret@192.0.2.10:1080",   /* '\' */
                "socks5://alice:Pw%5cSecret@192.0.2.10:1080",
                "socks5://alice:Pw%0aSecret@192.0.2.10:1080",  /* control characters */
                "socks5://alice:Pw%09Secret@192.0.2.10:1080",
                "socks5://alice:Pw%7fSecret@192.0.2.10:1080",
                "socks5://alice:Pw\tSecret@192.0.2.10:1080",
                "socks5://alice:Pw%c3%a4Secret@192.0.2.10:1080", /* not ASCII */
                "socks5://alice:PwSecret%@192.0.2.10:1080",    /* bad escapes */
                "socks5://alice:PwSecret%4@192.0.2.10:1080",
                "socks5://alice:PwSecret%zz@192.0.2.10:1080",
                "socks5://:PwSecret@192.0.2.10:1080",          /* empty user */
                "socks5://alice:@192.0.2.10:1080",             /* empty password */
                "socks5://alicePwSecret@192.0.2.10:1080",      /* no ':' */
                "http://alice:PwSecret@proxy.example:3128",    /* good credentials, bad host */
                "http://alice:PwSecret@192.0.2.10:0",
                "http://alice:PwSecret@192.0.2.10:3128/x",
                "ftp://alice:PwSecret@192.0.2.10:21",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ProxyUrl u;
                char why[256] = "";
                if (proxy_url_parse(bad[i], &u, why, sizeof why) != -EINVAL)
                        fail_msg("\"%s\" (#%zu) accepted", bad[i], i);
                assert_true(strlen(why) > 7);
                if (strstr(why, "Secret") || strstr(why, "PwSecret") || strstr(why, "alice"))
                        fail_msg("#%zu: the refusal quotes the credentials: %s", i, why);
        }

        /* a user of 256 characters */
        char text[PROXY_URL_MAX + 1];
        int n = snprintf(text, sizeof text, "socks5://");
        for (int i = 0; i <= PROXY_CREDENTIAL_MAX; i++)
                text[n++] = 'u';
        snprintf(text + n, sizeof text - n, ":PwSecret@192.0.2.10:1080");
        ProxyUrl u;
        char why[256] = "";
        assert_int_equal(proxy_url_parse(text, &u, why, sizeof why), -EINVAL);
        assert_null(strstr(why, "PwSecret"));
}

/* A small buffer for the message is cut, not overrun. */
static void test_small_buffer(void **state) {
        ProxyUrl u;
        char why[12];

        memset(why, 'X', sizeof why);
        assert_int_equal(proxy_url_parse("nope", &u, why, sizeof why), -EINVAL);
        assert_int_equal(strlen(why), sizeof why - 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socks5_and_http),
                cmocka_unit_test(test_credentials),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_credential_refusals_keep_secret),
                cmocka_unit_test(test_small_buffer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
