/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1 /* memmem */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "proxy-handshake.h"

#define DEST 0x01010101u /* 1.1.1.1 */
#define USER "alice"
#define PASSWORD "s3cret"

static ProxyUrl url(ProxyKind kind, bool credentials) {
        ProxyUrl u = { .kind = kind, .address = 0xc000020a, .port = 1080, .has_credentials = credentials };
        if (credentials) {
                strcpy(u.user, USER);
                strcpy(u.password, PASSWORD);
        }
        return u;
}

static bool all_zero(const void *p, size_t n) {
        const uint8_t *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

/* Takes the pending output, checks it is exactly `want`, and marks it sent in two parts. */
static void expect_output(ProxyHandshake *h, const void *want, size_t want_len) {
        size_t len;
        const uint8_t *out = proxy_handshake_output(h, &len);
        assert_int_equal(len, want_len);
        assert_memory_equal(out, want, want_len);
        proxy_handshake_advance(h, want_len / 2);
        out = proxy_handshake_output(h, &len);
        assert_int_equal(len, want_len - want_len / 2);
        proxy_handshake_advance(h, len + 5); /* more than there is: ignored */
        out = proxy_handshake_output(h, &len);
        assert_int_equal(len, 0);
        assert_true(all_zero(h->out, sizeof h->out));
}

/* Feeds data one byte at a time: 0 before the last byte, then the last byte's result. */
static int feed_bytewise(ProxyHandshake *h, const void *data, size_t len) {
        const uint8_t *p = data;
        for (size_t i = 0; i < len; i++) {
                size_t used = 99;
                int r = proxy_handshake_feed(h, p + i, 1, &used);
                if (r != 0 || i == len - 1) {
                        assert_int_equal(i, len - 1);
                        assert_int_equal(used, 1);
                        return r;
                }
                assert_int_equal(used, 1);
        }
        return -999;
}

static void no_secret(const ProxyHandshake *h) {
        if (strstr(h->message, USER) || strstr(h->message, PASSWORD))
                fail_msg("message quotes the credentials: %s", h->message);
}

static const uint8_t socks_connect_req[] = { 5, 1, 0, 1, 1, 1, 1, 1, 0, 53 };

static void test_socks5_no_auth(void **state) {
        ProxyUrl u = url(PROXY_SOCKS5, false);
        ProxyHandshake h;
        size_t used;

        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 1, 0 }, 3);
        assert_int_equal(feed_bytewise(&h, (const uint8_t[]) { 5, 0 }, 2), 0);
        expect_output(&h, socks_connect_req, sizeof socks_connect_req);
        assert_int_equal(feed_bytewise(&h, (const uint8_t[]) { 5, 0, 0, 1, 192, 0, 2, 10, 0x9c, 0x40 }, 10), 1);
        assert_int_equal(h.step, PROXY_STEP_DONE);

        /* done: nothing more is taken */
        assert_int_equal(proxy_handshake_feed(&h, "abc", 3, &used), 1);
        assert_int_equal(used, 0);

        /* the reply in one piece with the tunnel's first bytes behind it */
        static const uint8_t reply[] = { 5, 0, 0, 1, 192, 0, 2, 10, 0x9c, 0x40, 'D', 'N', 'S' };
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 1, 0 }, 3);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 0 }, 2, &used), 0);
        assert_int_equal(used, 2);
        expect_output(&h, socks_connect_req, sizeof socks_connect_req);
        assert_int_equal(proxy_handshake_feed(&h, reply, sizeof reply, &used), 1);
        assert_int_equal(used, 10);
        proxy_handshake_wipe(&h);
        assert_true(all_zero(&h, sizeof h));
}

static void test_socks5_credentials(void **state) {
        ProxyUrl u = url(PROXY_SOCKS5, true);
        ProxyHandshake h;
        size_t used;

        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 2, 0, 2 }, 4);
        assert_int_equal(feed_bytewise(&h, (const uint8_t[]) { 5, 2 }, 2), 0);
        static const uint8_t auth[] = { 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't' };
        /* the credentials are only in the output now, and gone once it is sent */
        assert_true(all_zero(h.user, sizeof h.user));
        assert_true(all_zero(h.password, sizeof h.password));
        expect_output(&h, auth, sizeof auth);
        assert_int_equal(feed_bytewise(&h, (const uint8_t[]) { 1, 0 }, 2), 0);
        expect_output(&h, socks_connect_req, sizeof socks_connect_req);
        /* a bound address given as a name (ATYP 3), then the tunnel's bytes */
        static const uint8_t reply[] = { 5, 0, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 4, 56 };
        assert_int_equal(feed_bytewise(&h, reply, sizeof reply), 1);
        assert_int_equal(proxy_handshake_feed(&h, "x", 1, &used), 1);
        assert_int_equal(used, 0);

        /* a proxy that wants no credentials: they are not sent; an IPv6 bound address (ATYP 4) */
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 2, 0, 2 }, 4);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 0 }, 2, &used), 0);
        assert_true(all_zero(h.user, sizeof h.user));
        assert_true(all_zero(h.password, sizeof h.password));
        expect_output(&h, socks_connect_req, sizeof socks_connect_req);
        uint8_t reply6[4 + 16 + 2 + 1] = { 5, 0, 0, 4 };
        reply6[22] = 0x42;
        assert_int_equal(proxy_handshake_feed(&h, reply6, sizeof reply6, &used), 1);
        assert_int_equal(used, 22);

        /* an empty name as the bound address (ATYP 3, length 0) */
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 2, 0, 2 }, 4);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 0 }, 2, &used), 0);
        expect_output(&h, socks_connect_req, sizeof socks_connect_req);
        assert_int_equal(feed_bytewise(&h, (const uint8_t[]) { 5, 0, 0, 3, 0, 0, 53 }, 7), 1);

        /* some proxies answer the credentials with version 5 */
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 2, 0, 2 }, 4);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 2 }, 2, &used), 0);
        expect_output(&h, auth, sizeof auth);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 0 }, 2, &used), 0);
        expect_output(&h, socks_connect_req, sizeof socks_connect_req);
}

/* Runs a SOCKS5 handshake with credentials up to the step named and feeds `bad` there. */
static int socks_refusal(ProxyHandshake *h, int at_step, const uint8_t *bad, size_t len) {
        ProxyUrl u = url(PROXY_SOCKS5, at_step != 0 || len != 2 || bad[1] != 2);
        size_t used;

        proxy_handshake_start(h, &u, DEST, 53);
        expect_output(h, u.has_credentials ? (const uint8_t[]) { 5, 2, 0, 2 } : (const uint8_t[]) { 5, 1, 0 },
                      u.has_credentials ? 4 : 3);
        if (at_step >= 1) {
                assert_int_equal(proxy_handshake_feed(h, (const uint8_t[]) { 5, 2 }, 2, &used), 0);
                proxy_handshake_output(h, &used);
                proxy_handshake_advance(h, used);
        }
        if (at_step >= 2) {
                assert_int_equal(proxy_handshake_feed(h, (const uint8_t[]) { 1, 0 }, 2, &used), 0);
                expect_output(h, socks_connect_req, sizeof socks_connect_req);
        }
        int r = feed_bytewise(h, bad, len);
        assert_true(r < 0);
        assert_int_equal(h->step, PROXY_STEP_FAILED);
        assert_true(strlen(h->message) > 0);
        no_secret(h);
        assert_true(all_zero(h->user, sizeof h->user));
        assert_true(all_zero(h->password, sizeof h->password));
        /* failed for good */
        assert_int_equal(proxy_handshake_feed(h, "x", 1, &used), r);
        assert_int_equal(used, 0);
        return r;
}

static void test_socks5_refusals(void **state) {
        ProxyHandshake h;

        assert_int_equal(socks_refusal(&h, 0, (const uint8_t[]) { 4, 0 }, 2), -EPROTO);
        assert_string_equal(h.message, "not a SOCKS5 proxy (it answered version 4)");
        assert_int_equal(socks_refusal(&h, 0, (const uint8_t[]) { 'H', 'T' }, 2), -EPROTO);
        assert_int_equal(socks_refusal(&h, 0, (const uint8_t[]) { 5, 0xff }, 2), -EACCES);
        assert_non_null(strstr(h.message, "none of the offered authentication methods"));
        assert_int_equal(socks_refusal(&h, 0, (const uint8_t[]) { 5, 1 }, 2), -EPROTO);      /* GSSAPI */
        assert_int_equal(socks_refusal(&h, 0, (const uint8_t[]) { 5, 2 }, 2), -EPROTO);      /* not offered */
        assert_non_null(strstr(h.message, "not offered"));

        assert_int_equal(socks_refusal(&h, 1, (const uint8_t[]) { 1, 1 }, 2), -EACCES);
        assert_string_equal(h.message, "proxy refused the credentials");
        assert_int_equal(socks_refusal(&h, 1, (const uint8_t[]) { 9, 0 }, 2), -EPROTO);

        static const struct {
                uint8_t rep;
                int error;
                const char *message;
        } replies[] = {
                { 1, -ECONNREFUSED, "SOCKS5 reply 1 (general failure) for 1.1.1.1:53" },
                { 2, -EACCES, "SOCKS5 reply 2 (not allowed by the proxy's rules) for 1.1.1.1:53" },
                { 3, -ENETUNREACH, "SOCKS5 reply 3 (network unreachable) for 1.1.1.1:53" },
                { 4, -EHOSTUNREACH, "SOCKS5 reply 4 (host unreachable) for 1.1.1.1:53" },
                { 5, -ECONNREFUSED, "SOCKS5 reply 5 (connection refused) for 1.1.1.1:53" },
                { 6, -ETIMEDOUT, "SOCKS5 reply 6 (TTL expired) for 1.1.1.1:53" },
                { 7, -EPROTO, "SOCKS5 reply 7 (command not supported) for 1.1.1.1:53" },
                { 8, -EPROTO, "SOCKS5 reply 8 (address type not supported) for 1.1.1.1:53" },
                { 9, -EPROTO, "SOCKS5 reply 9 (unknown) for 1.1.1.1:53" },
                { 255, -EPROTO, "SOCKS5 reply 255 (unknown) for 1.1.1.1:53" },
        };
        for (size_t i = 0; i < ELEMENTSOF(replies); i++) {
                assert_int_equal(socks_refusal(&h, 2, (const uint8_t[]) { 5, replies[i].rep, 0, 1 }, 4),
                                 replies[i].error);
                assert_string_equal(h.message, replies[i].message);
        }
        assert_int_equal(socks_refusal(&h, 2, (const uint8_t[]) { 4, 0, 0, 1 }, 4), -EPROTO);
        assert_int_equal(socks_refusal(&h, 2, (const uint8_t[]) { 5, 0, 0, 2 }, 4), -EPROTO);
        assert_int_equal(socks_refusal(&h, 2, (const uint8_t[]) { 5, 0, 0, 0 }, 4), -EPROTO);

        /* an answer before the request was all sent */
        ProxyUrl u = url(PROXY_SOCKS5, true);
        size_t used;
        proxy_handshake_start(&h, &u, DEST, 53);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 0 }, 2, &used), -EPROTO);
        /* two answers at once: the second came before its request */
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, (const uint8_t[]) { 5, 2, 0, 2 }, 4);
        assert_int_equal(proxy_handshake_feed(&h, (const uint8_t[]) { 5, 2, 1, 0 }, 4, &used), -EPROTO);
        assert_true(all_zero(h.out, sizeof h.out));
        assert_true(all_zero(h.password, sizeof h.password));
        no_secret(&h);
}

static void test_http(void **state) {
        ProxyUrl u = url(PROXY_HTTP, false);
        ProxyHandshake h;
        size_t used;

        static const char request[] = "CONNECT 1.1.1.1:53 HTTP/1.1\r\nHost: 1.1.1.1:53\r\n\r\n";
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, request, strlen(request));
        static const char answer[] = "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n";
        assert_int_equal(feed_bytewise(&h, answer, strlen(answer)), 1);
        assert_int_equal(proxy_handshake_feed(&h, "\0\x1c", 2, &used), 1);
        assert_int_equal(used, 0);

        /* in one piece, HTTP/1.0, no reason phrase, the tunnel's bytes behind */
        static const char answer10[] = "HTTP/1.0 200\r\n\r\nDNS";
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, request, strlen(request));
        assert_int_equal(proxy_handshake_feed(&h, answer10, strlen(answer10), &used), 1);
        assert_int_equal(used, strlen(answer10) - 3);

        /* "\r\r\n\r\n" ends a head too; a head of exactly the maximum is fine */
        char head[PROXY_HANDSHAKE_HEAD_MAX + 8];
        proxy_handshake_start(&h, &u, DEST, 53);
        expect_output(&h, request, strlen(request));
        int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nX: ");
        memset(head + n, 'y', PROXY_HANDSHAKE_HEAD_MAX - n - 5);
        memcpy(head + PROXY_HANDSHAKE_HEAD_MAX - 5, "\r\r\n\r\nZ", 6);
        assert_int_equal(proxy_handshake_feed(&h, head, PROXY_HANDSHAKE_HEAD_MAX + 1, &used), 1);
        assert_int_equal(used, PROXY_HANDSHAKE_HEAD_MAX);
}

static void test_http_credentials(void **state) {
        ProxyUrl u = url(PROXY_HTTP, true);
        ProxyHandshake h;

        /* base64("alice:s3cret") */
        static const char request[] = "CONNECT 8.8.4.4:853 HTTP/1.1\r\nHost: 8.8.4.4:853\r\n"
                                      "Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n";
        proxy_handshake_start(&h, &u, 0x08080404, 853);
        assert_true(all_zero(h.user, sizeof h.user));
        assert_true(all_zero(h.password, sizeof h.password));
        expect_output(&h, request, strlen(request));
        assert_int_equal(feed_bytewise(&h, "HTTP/1.1 200 OK\r\n\r\n", 19), 1);

        /* the longest credentials fit */
        memset(u.user, 'u', PROXY_CREDENTIAL_MAX);
        u.user[PROXY_CREDENTIAL_MAX] = 0;
        memset(u.password, 'p', PROXY_CREDENTIAL_MAX);
        u.password[PROXY_CREDENTIAL_MAX] = 0;
        proxy_handshake_start(&h, &u, 0xffffffff, 65535);
        size_t len;
        const uint8_t *out = proxy_handshake_output(&h, &len);
        assert_true(len > 700 && len < PROXY_HANDSHAKE_OUT_MAX);
        assert_memory_equal(out + len - 4, "\r\n\r\n", 4);
        assert_non_null(memmem(out, len, "Host: 255.255.255.255:65535\r\n", 29));
        proxy_handshake_wipe(&h);
}

static int http_refusal(ProxyHandshake *h, bool credentials, const char *answer, size_t len) {
        ProxyUrl u = url(PROXY_HTTP, credentials);
        size_t used;

        proxy_handshake_start(h, &u, DEST, 53);
        /* an early refusal: before all the request was sent */
        proxy_handshake_advance(h, 3);
        int r = feed_bytewise(h, answer, len);
        assert_true(r < 0);
        assert_int_equal(h->step, PROXY_STEP_FAILED);
        no_secret(h);
        assert_true(all_zero(h->out, sizeof h->out));
        assert_int_equal(proxy_handshake_feed(h, "x", 1, &used), r);
        return r;
}

#define HTTP_REFUSAL(h, c, s) http_refusal(h, c, s, strlen(s))

static void test_http_refusals(void **state) {
        ProxyHandshake h;

        assert_int_equal(HTTP_REFUSAL(&h, true, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"), -EACCES);
        assert_string_equal(h.message, "HTTP proxy answered 407 (it refused the credentials)");
        assert_int_equal(HTTP_REFUSAL(&h, false, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"), -EACCES);
        assert_string_equal(h.message, "HTTP proxy answered 407 (it wants credentials)");
        assert_int_equal(HTTP_REFUSAL(&h, true, "HTTP/1.1 403 Forbidden\r\n\r\n"), -EACCES);
        assert_string_equal(h.message, "HTTP proxy answered 403 for 1.1.1.1:53");
        assert_int_equal(HTTP_REFUSAL(&h, true, "HTTP/1.0 502 Bad Gateway\r\n\r\n"), -ECONNREFUSED);
        assert_string_equal(h.message, "HTTP proxy answered 502 for 1.1.1.1:53");
        assert_int_equal(HTTP_REFUSAL(&h, true, "HTTP/1.1 204 No Content\r\n\r\n"), -EPROTO);
        assert_int_equal(HTTP_REFUSAL(&h, true, "HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n"), -EPROTO);

        static const char *const not_http[] = {
                "HTTP/2 200\r\n\r\n",
                "HTTP/1.2 200 OK\r\n\r\n",
                "HTTP/1.1 20 OK\r\n\r\n",
                "HTTP/1.1 2000 OK\r\n\r\n",
                "HTTP/1.1 600 OK\r\n\r\n",
                "HTTP/1.1 099 OK\r\n\r\n",
                "http/1.1 200 OK\r\n\r\n",
                " HTTP/1.1 200 OK\r\n\r\n",
                "HTTP/1.1 200\n\r\n\r\n",
                "SSH-2.0-OpenSSH_9.2\r\n\r\n",
                "\r\n\r\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(not_http); i++) {
                if (HTTP_REFUSAL(&h, true, not_http[i]) != -EPROTO)
                        fail_msg("#%zu accepted", i);
                assert_string_equal(h.message, "not an HTTP/1.0 or HTTP/1.1 proxy answer");
        }

        /* NULs are bytes like any other: the status line decides */
        assert_int_equal(http_refusal(&h, true, "HTTP/1.1 200\0OK\r\n\r\n", 19), -EPROTO);

        /* a head that never ends: refused at its 4097th byte */
        char head[PROXY_HANDSHAKE_HEAD_MAX + 1];
        memcpy(head, "HTTP/1.1 200 OK\r\n", 17);
        memset(head + 17, 'x', sizeof head - 17);
        ProxyUrl u = url(PROXY_HTTP, true);
        size_t used;
        proxy_handshake_start(&h, &u, DEST, 53);
        proxy_handshake_output(&h, &used);
        proxy_handshake_advance(&h, used);
        assert_int_equal(proxy_handshake_feed(&h, head, sizeof head, &used), -EPROTO);
        assert_int_equal(used, PROXY_HANDSHAKE_HEAD_MAX);
        assert_string_equal(h.message, "HTTP proxy's answer head is longer than 4096 bytes");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socks5_no_auth),
                cmocka_unit_test(test_socks5_credentials),
                cmocka_unit_test(test_socks5_refusals),
                cmocka_unit_test(test_http),
                cmocka_unit_test(test_http_credentials),
                cmocka_unit_test(test_http_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
