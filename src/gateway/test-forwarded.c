/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"
#include "host-check.h"

static ProxyNet net(const char *s) {
        ProxyNet n;
        if (proxy_net_parse(s, &n) < 0)
                fail_msg("%s does not parse", s);
        return n;
}

static bool contains(const ProxyNet *nets, size_t n, const char *addr) {
        unsigned char a[16];
        if (inet_pton(AF_INET, addr, a) == 1)
                return proxy_nets_contain(nets, n, AF_INET, a);
        assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
        return proxy_nets_contain(nets, n, AF_INET6, a);
}

static void test_proxy_net_parse(void **state) {
        static const struct { const char *text; int family; unsigned prefix; } good[] = {
                { "127.0.0.2", AF_INET, 32 },
                { "10.0.0.0/8", AF_INET, 8 },
                { "2001:db8::/32", AF_INET6, 32 },
                { "::1", AF_INET6, 128 },
                { "0.0.0.0/0", AF_INET, 0 },
                { "::ffff:192.0.2.0/120", AF_INET, 24 },   /* an IPv4-mapped network is the IPv4 one */
        };
        ProxyNet n;

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                n = net(good[i].text);
                assert_int_equal(n.family, good[i].family);
                assert_int_equal(n.prefix, good[i].prefix);
        }

        static const char *const bad[] = {
                "", "/8", "10.0.0.0/", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/08", "10.0.0.0/-1",
                "10.0.0.1/8",            /* host bits past the prefix */
                "2001:db8::1/64", "10.0.0.0/8/8", "10.0.0.0 /8", "localhost", "10.0.0", "10.0.0.0/8x",
                "[::1]", "::1/1280", "1.2.3.4.5",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (proxy_net_parse(bad[i], &n) != -EINVAL)
                        fail_msg("'%s' was taken", bad[i]);
}

static void test_proxy_nets_contain(void **state) {
        ProxyNet nets[] = { net("127.0.0.2"), net("10.1.0.0/16"), net("2001:db8:1::/48"), net("192.0.2.128/25") };
        size_t n = sizeof nets / sizeof nets[0];

        assert_true(contains(nets, n, "127.0.0.2"));
        assert_false(contains(nets, n, "127.0.0.1"));
        assert_false(contains(nets, n, "127.0.0.3"));
        assert_true(contains(nets, n, "10.1.255.255"));
        assert_false(contains(nets, n, "10.2.0.0"));
        assert_true(contains(nets, n, "2001:db8:1:ffff::1"));
        assert_false(contains(nets, n, "2001:db8:2::1"));
        assert_true(contains(nets, n, "192.0.2.200"));     /* a prefix that is not a byte boundary */
        assert_false(contains(nets, n, "192.0.2.127"));
        /* IPv4-mapped addresses (a dual-stack listener) are their IPv4 address */
        assert_true(contains(nets, n, "::ffff:127.0.0.2"));
        assert_false(contains(nets, n, "::ffff:127.0.0.1"));
        /* nor does an IPv4 network match IPv6 addresses with the same bytes */
        assert_false(contains(nets, n, "7f00:2::"));
        assert_false(proxy_nets_contain(nets, n, AF_UNIX, "x"));
        assert_false(contains(NULL, 0, "127.0.0.2"));

        ProxyNet all = net("0.0.0.0/0");
        assert_true(contains(&all, 1, "203.0.113.9"));
        assert_false(contains(&all, 1, "::1"));
}

static const char *client(const ProxyNet *nets, size_t n, const char *xff) {
        static char buf[INET6_ADDRSTRLEN];
        const char *why = NULL;
        int r = forwarded_for_client(xff, nets, n, buf, sizeof buf, &why);
        if (r < 0) {
                assert_int_equal(r, -EBADMSG);
                assert_non_null(why);
                return NULL;
        }
        return buf;
}

static void test_forwarded_for_client(void **state) {
        ProxyNet nets[] = { net("127.0.0.2"), net("10.9.0.0/16"), net("fd00::/8") };
        size_t n = sizeof nets / sizeof nets[0];

        assert_string_equal(client(nets, n, "192.0.2.1"), "192.0.2.1");
        /* the client's own claim on the left is never believed: the right-most untrusted entry is */
        assert_string_equal(client(nets, n, "203.0.113.9, 192.0.2.1"), "192.0.2.1");
        assert_string_equal(client(nets, n, "1.1.1.1,2.2.2.2,192.0.2.1"), "192.0.2.1");
        /* hops that are trusted proxies themselves are skipped */
        assert_string_equal(client(nets, n, "203.0.113.9, 192.0.2.1, 10.9.3.4"), "192.0.2.1");
        assert_string_equal(client(nets, n, "203.0.113.9, 192.0.2.1, 10.9.3.4 ,\t127.0.0.2"), "192.0.2.1");
        /* a chain of nothing but trusted proxies: the left-most is where it began */
        assert_string_equal(client(nets, n, "10.9.0.1, 127.0.0.2"), "10.9.0.1");
        /* canonical form, whatever the spelling; IPv4-mapped as IPv4 */
        assert_string_equal(client(nets, n, "2001:DB8:0:0::1"), "2001:db8::1");
        assert_string_equal(client(nets, n, "::ffff:192.0.2.7"), "192.0.2.7");
        assert_string_equal(client(nets, n, "2001:db8::5, fd12::1"), "2001:db8::5");
        /* what the client wrote to the left of the chosen entry is not even looked at */
        assert_string_equal(client(nets, n, "<script>, not an address,, 192.0.2.1"), "192.0.2.1");
        /* without trusted proxies, the right-most entry */
        assert_string_equal(client(NULL, 0, "192.0.2.1, 127.0.0.2"), "127.0.0.2");

        /* refused: what a trusted proxy wrote, or the entry that would be believed, is malformed */
        static const char *const bad[] = {
                "", " ", "192.0.2.1,", "192.0.2.1, ", "unknown", "192.0.2.1:1234", "[2001:db8::1]",
                "192.0.2.1, 127.0.0.2:80", "192.0.2.1, , 127.0.0.2", "192.0.2.1 127.0.0.2", "192.0.2.256",
                "_hidden", "192.0.2.1;x", "192.0.2.1, 2001:db8::1 trailing",
                /* an entry longer than any address, even before it is parsed */
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (client(nets, n, bad[i]))
                        fail_msg("'%s' was taken", bad[i]);

        /* at most FORWARDED_HOPS_MAX trusted entries are skipped */
        char chain[1024] = "192.0.2.1";
        for (unsigned i = 0; i < FORWARDED_HOPS_MAX; i++)
                strcat(chain, ", 127.0.0.2");
        assert_string_equal(client(nets, n, chain), "192.0.2.1");
        strcat(chain, ", 127.0.0.2");
        assert_null(client(nets, n, chain));

        /* a long header costs only what is looked at: a megabyte on the left of the client */
        size_t big = 1024 * 1024;
        char *head = malloc(big + 32);
        assert_non_null(head);
        memset(head, 'x', big);
        strcpy(head + big, ", 192.0.2.1, 127.0.0.2");
        assert_string_equal(client(nets, n, head), "192.0.2.1");
        free(head);
}

static int resolve(const char *peer, const char *xff, const char *proto, const char *xhost, const char *host,
                   Forwarded *f, const char **bad_header) {
        ProxyNet nets[] = { net("127.0.0.2"), net("::1") };
        struct sockaddr_storage ss = {};
        const char *why = NULL;

        if (strchr(peer, ':')) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
                s6->sin6_family = AF_INET6;
                assert_int_equal(inet_pton(AF_INET6, peer, &s6->sin6_addr), 1);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
                s4->sin_family = AF_INET;
                assert_int_equal(inet_pton(AF_INET, peer, &s4->sin_addr), 1);
        }
        *bad_header = NULL;
        int r = forwarded_resolve(nets, 2, (struct sockaddr *) &ss, xff, proto, xhost, host, f, bad_header, &why);
        if (r < 0) {
                assert_int_equal(r, -EBADMSG);
                assert_non_null(*bad_header);
                assert_non_null(why);
        }
        return r;
}

static void test_forwarded_resolve(void **state) {
        Forwarded f;
        const char *bad;

        /* from a trusted proxy: its headers */
        assert_int_equal(resolve("127.0.0.2", "203.0.113.9, 192.0.2.1", "https", "pic.example:8443", "127.0.0.1:8080",
                                 &f, &bad), 0);
        assert_true(f.proxied);
        assert_true(f.https);
        assert_string_equal(f.client, "192.0.2.1");
        assert_string_equal(f.host, "pic.example:8443");
        /* without them: the peer, http, the Host header */
        assert_int_equal(resolve("127.0.0.2", NULL, NULL, NULL, "127.0.0.1:8080", &f, &bad), 0);
        assert_true(f.proxied);
        assert_false(f.https);
        assert_string_equal(f.client, "127.0.0.2");
        assert_string_equal(f.host, "127.0.0.1:8080");
        assert_int_equal(resolve("::1", "2001:db8::9", "HTTP", NULL, NULL, &f, &bad), 0);
        assert_true(f.proxied);
        assert_false(f.https);
        assert_string_equal(f.client, "2001:db8::9");
        assert_int_equal(resolve("::ffff:127.0.0.2", "192.0.2.1", "https", NULL, "x", &f, &bad), 0);
        assert_true(f.proxied);
        assert_string_equal(f.client, "192.0.2.1");

        /* from anyone else the headers change nothing, malformed or not */
        assert_int_equal(resolve("127.0.0.1", "192.0.2.1", "https", "pic.example", "127.0.0.1:8080", &f, &bad), 0);
        assert_false(f.proxied);
        assert_false(f.https);
        assert_string_equal(f.client, "127.0.0.1");
        assert_string_equal(f.host, "127.0.0.1:8080");
        assert_int_equal(resolve("::ffff:192.0.2.50", "garbage", "gopher", "a b", "h", &f, &bad), 0);
        assert_false(f.proxied);
        assert_string_equal(f.client, "192.0.2.50");

        /* malformed from a trusted proxy: refused, naming the header */
        assert_int_equal(resolve("127.0.0.2", "nonsense", "https", NULL, "h", &f, &bad), -EBADMSG);
        assert_string_equal(bad, "X-Forwarded-For");
        static const char *const protos[] = { "", "ftp", "https, http", "https ", "HTTPS1" };
        for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
                assert_int_equal(resolve("127.0.0.2", "192.0.2.1", protos[i], NULL, "h", &f, &bad), -EBADMSG);
                assert_string_equal(bad, "X-Forwarded-Proto");
        }
        static const char *const hosts[] = { "", "a.example, b.example", "a.example:0", "a.example:99999",
                                             "a b", "evil.example/x", "[::1", "user@a.example" };
        for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
                assert_int_equal(resolve("127.0.0.2", "192.0.2.1", "https", hosts[i], "h", &f, &bad), -EBADMSG);
                assert_string_equal(bad, "X-Forwarded-Host");
        }
        char long_host[300];
        memset(long_host, 'a', sizeof long_host - 1);
        long_host[sizeof long_host - 1] = 0;
        assert_int_equal(resolve("127.0.0.2", NULL, NULL, long_host, "h", &f, &bad), -EBADMSG);
        assert_string_equal(bad, "X-Forwarded-Host");
}

static void test_origin(void **state) {
        /* through a trusted proxy: exactly the scheme and host the client reached it at */
        assert_true(origin_matches_host("https://pic.example", true, "pic.example"));
        assert_true(origin_matches_host("https://pic.example", true, "PIC.example:443"));
        assert_true(origin_matches_host("https://pic.example:443", true, "pic.example"));
        assert_true(origin_matches_host("https://127.0.0.1:8443", true, "127.0.0.1:8443"));
        assert_true(origin_matches_host("http://pic.example", false, "pic.example:80"));
        assert_true(origin_matches_host("https://[::1]:8443", true, "[::1]:8443"));
        assert_false(origin_matches_host("http://127.0.0.1:8443", true, "127.0.0.1:8443"));
        assert_false(origin_matches_host("https://127.0.0.1:8443", false, "127.0.0.1:8443"));
        assert_false(origin_matches_host("https://127.0.0.1:8444", true, "127.0.0.1:8443"));
        assert_false(origin_matches_host("https://pic.example", true, "pic.example:8443"));
        assert_false(origin_matches_host("https://evil.example", true, "pic.example"));
        assert_false(origin_matches_host("https://pic.example.evil.example", true, "pic.example"));
        assert_false(origin_matches_host("https://pic.example/", true, "pic.example"));
        assert_false(origin_matches_host("null", true, "pic.example"));
        assert_false(origin_matches_host("https://pic.example", true, NULL));

        /* an allowed NAME:PORT entry: a host without a port means 443 over https */
        char *allowed[] = { (char *) "pic.example:443", (char *) "other.example:8443", NULL };
        struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(8080),
                                     .sin_addr.s_addr = htonl(0x7f000001) };
        assert_true(host_allowed_scheme("pic.example", true, allowed, (struct sockaddr *) &local));
        assert_false(host_allowed_scheme("pic.example", false, allowed, (struct sockaddr *) &local));
        assert_true(host_allowed_scheme("other.example:8443", true, allowed, (struct sockaddr *) &local));
        assert_false(host_allowed_scheme("other.example", true, allowed, (struct sockaddr *) &local));
        assert_false(host_allowed_scheme("evil.example", true, allowed, (struct sockaddr *) &local));
        assert_true(host_allowed_scheme("127.0.0.1:8080", true, allowed, (struct sockaddr *) &local));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_proxy_net_parse),
                cmocka_unit_test(test_proxy_nets_contain),
                cmocka_unit_test(test_forwarded_for_client),
                cmocka_unit_test(test_forwarded_resolve),
                cmocka_unit_test(test_origin),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
