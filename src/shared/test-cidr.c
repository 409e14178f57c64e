/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cidr.h"
#include "macro.h"

#define IP4(a, b, c, d) ((uint32_t) (a) << 24 | (uint32_t) (b) << 16 | (uint32_t) (c) << 8 | (uint32_t) (d))

static Cidr4 cidr(const char *s) {
        Cidr4 c;
        assert_int_equal(cidr4_parse(s, true, &c), 0);
        return c;
}

static void test_parse_valid(void **state) {
        Cidr4 c;

        assert_int_equal(cidr4_parse("10.0.0.1/24", true, &c), 0);
        assert_int_equal(c.addr, IP4(10, 0, 0, 1));
        assert_int_equal(c.prefix, 24);

        assert_int_equal(cidr4_parse("0.0.0.0/0", true, &c), 0);
        assert_int_equal(c.addr, 0);
        assert_int_equal(c.prefix, 0);

        assert_int_equal(cidr4_parse("255.255.255.255/32", true, &c), 0);
        assert_int_equal(c.addr, UINT32_MAX);
        assert_int_equal(c.prefix, 32);

        /* A bare address is a host route when the prefix is optional. */
        assert_int_equal(cidr4_parse("10.0.0.1", false, &c), 0);
        assert_int_equal(c.addr, IP4(10, 0, 0, 1));
        assert_int_equal(c.prefix, 32);

        assert_int_equal(cidr4_parse("192.168.7.0/24", false, &c), 0);
        assert_int_equal(c.prefix, 24);

        uint32_t a;
        assert_int_equal(ipv4_parse("172.16.254.3", &a), 0);
        assert_int_equal(a, IP4(172, 16, 254, 3));
        assert_int_equal(ipv4_parse("0.0.0.0", &a), 0);
        assert_int_equal(a, 0);
}

static void test_parse_invalid(void **state) {
        static const char *const bad[] = {
                "10.0.0.1",       /* prefix required */
                "10.0.0.256/24",  /* octet out of range */
                "10.0.0.1/33",    /* prefix out of range */
                "010.0.0.1/24",   /* leading zero: octal to some parsers */
                "10.00.0.1/24",
                " 10.0.0.1/24",
                "10.0.0.1/24 ",
                "10.0.0.1 /24",
                "10.0.0.1/",
                "10.0.0.1/024",   /* leading zero in prefix */
                "10.0.0.1/100",
                "10.0.0.1/-1",
                "10.0.0.1/+8",
                "10.0.0.1/2x",
                "10.0.0.1/24/8",
                "",
                "/24",
                "a.b.c.d/8",
                "1.2.3/8",
                "1.2.3.4.5/8",
                "1.2.3.4./8",
                ".1.2.3/8",
                "1..2.3/8",
                "1234.0.0.1/8",
                "0x0a.0.0.1/8",
        };
        Cidr4 c = { .addr = 0x12345678, .prefix = 7 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = cidr4_parse(bad[i], true, &c);
                if (r != -EINVAL)
                        fail_msg("cidr4_parse(\"%s\") = %d, expected -EINVAL", bad[i], r);
        }
        /* A failed parse leaves the output alone. */
        assert_int_equal(c.addr, 0x12345678);
        assert_int_equal(c.prefix, 7);

        /* Without require_prefix, everything malformed above except the bare address is still refused. */
        for (size_t i = 1; i < ELEMENTSOF(bad); i++)
                if (cidr4_parse(bad[i], false, &c) != -EINVAL)
                        fail_msg("cidr4_parse(\"%s\", false) accepted", bad[i]);

        assert_int_equal(cidr4_parse(NULL, false, &c), -EINVAL);

        uint32_t a;
        assert_int_equal(ipv4_parse("10.0.0.1/32", &a), -EINVAL);
        assert_int_equal(ipv4_parse("256.0.0.0", &a), -EINVAL);
        assert_int_equal(ipv4_parse("01.0.0.0", &a), -EINVAL);
        assert_int_equal(ipv4_parse("", &a), -EINVAL);
        assert_int_equal(ipv4_parse(NULL, &a), -EINVAL);
}

static void test_format_round_trip(void **state) {
        static const char *const good[] = {
                "10.0.0.1/24", "0.0.0.0/0", "255.255.255.255/32", "172.31.255.254/12", "192.168.1.0/31",
        };
        char buf[CIDR4_STRLEN];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                Cidr4 c = cidr(good[i]), again;
                assert_string_equal(cidr4_format(&c, buf), good[i]);
                assert_int_equal(cidr4_parse(buf, true, &again), 0);
                assert_int_equal(again.addr, c.addr);
                assert_int_equal(again.prefix, c.prefix);
        }

        /* The longest form fits the buffer exactly. */
        Cidr4 widest = { UINT32_MAX, 32 };
        assert_int_equal(strlen(cidr4_format(&widest, buf)), CIDR4_STRLEN - 1);

        assert_string_equal(ipv4_format(IP4(1, 2, 3, 4), buf), "1.2.3.4");
        assert_string_equal(ipv4_format(UINT32_MAX, buf), "255.255.255.255");
}

static void test_network_broadcast(void **state) {
        Cidr4 c = cidr("10.1.2.3/24");

        assert_int_equal(cidr4_netmask(0), 0);
        assert_int_equal(cidr4_netmask(8), 0xff000000);
        assert_int_equal(cidr4_netmask(24), 0xffffff00);
        assert_int_equal(cidr4_netmask(32), UINT32_MAX);

        assert_int_equal(cidr4_network(&c), IP4(10, 1, 2, 0));
        assert_int_equal(cidr4_broadcast(&c), IP4(10, 1, 2, 255));

        c = cidr("172.20.5.9/12");
        assert_int_equal(cidr4_network(&c), IP4(172, 16, 0, 0));
        assert_int_equal(cidr4_broadcast(&c), IP4(172, 31, 255, 255));

        c = cidr("10.9.9.9/32");
        assert_int_equal(cidr4_network(&c), IP4(10, 9, 9, 9));
        assert_int_equal(cidr4_broadcast(&c), IP4(10, 9, 9, 9));

        c = cidr("10.9.9.9/0");
        assert_int_equal(cidr4_network(&c), 0);
        assert_int_equal(cidr4_broadcast(&c), UINT32_MAX);
}

static void test_contains_overlaps(void **state) {
        Cidr4 net = cidr("10.1.2.0/24");

        assert_true(cidr4_contains(&net, IP4(10, 1, 2, 0)));
        assert_true(cidr4_contains(&net, IP4(10, 1, 2, 255)));
        assert_false(cidr4_contains(&net, IP4(10, 1, 3, 0)));
        assert_false(cidr4_contains(&net, IP4(10, 1, 1, 255)));

        Cidr4 all = cidr("0.0.0.0/0");
        assert_true(cidr4_contains(&all, IP4(8, 8, 8, 8)));
        assert_true(cidr4_contains(&all, UINT32_MAX));

        Cidr4 host = cidr("10.1.2.3/32");
        assert_true(cidr4_contains(&host, IP4(10, 1, 2, 3)));
        assert_false(cidr4_contains(&host, IP4(10, 1, 2, 4)));

        Cidr4 a = cidr("10.0.0.0/8"), b = cidr("10.200.0.0/16"), d = cidr("11.0.0.0/8");
        assert_true(cidr4_overlaps(&a, &b));
        assert_true(cidr4_overlaps(&b, &a));
        assert_false(cidr4_overlaps(&a, &d));
        assert_false(cidr4_overlaps(&d, &b));
        assert_true(cidr4_overlaps(&net, &net));
        assert_true(cidr4_overlaps(&all, &d));

        /* Neighbours that touch but do not share an address. */
        Cidr4 lo = cidr("192.168.0.0/25"), hi = cidr("192.168.0.128/25");
        assert_false(cidr4_overlaps(&lo, &hi));
        assert_false(cidr4_overlaps(&hi, &lo));
}

static void test_rfc1918(void **state) {
        static const char *const inside[] = {
                "10.0.0.0/8", "10.255.255.255/32", "10.8.0.0/24",
                "172.16.0.0/12", "172.16.0.0/32", "172.31.255.255/32", "172.20.0.0/16",
                "192.168.0.0/16", "192.168.255.0/24",
        };
        static const char *const outside[] = {
                "11.0.0.0/8", "9.255.255.255/32",
                "10.0.0.0/7",          /* spills into 11/8 */
                "172.15.255.255/32", "172.32.0.0/32", "172.16.0.0/11",
                "192.169.0.0/16", "192.167.255.255/32", "192.168.0.0/15",
                "0.0.0.0/0", "100.64.0.0/10", "8.8.8.8/32",
        };

        for (size_t i = 0; i < ELEMENTSOF(inside); i++) {
                Cidr4 c = cidr(inside[i]);
                if (!cidr4_is_rfc1918(&c))
                        fail_msg("%s should be private", inside[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(outside); i++) {
                Cidr4 c = cidr(outside[i]);
                if (cidr4_is_rfc1918(&c))
                        fail_msg("%s should not be private", outside[i]);
        }
}

static void test_is_host(void **state) {
        Cidr4 net = cidr("10.1.2.0/24");

        assert_false(cidr4_is_host(&net, IP4(10, 1, 2, 0)));
        assert_true(cidr4_is_host(&net, IP4(10, 1, 2, 1)));
        assert_true(cidr4_is_host(&net, IP4(10, 1, 2, 254)));
        assert_false(cidr4_is_host(&net, IP4(10, 1, 2, 255)));
        assert_false(cidr4_is_host(&net, IP4(10, 1, 3, 1)));

        Cidr4 n30 = cidr("10.0.0.4/30");
        assert_false(cidr4_is_host(&n30, IP4(10, 0, 0, 4)));
        assert_true(cidr4_is_host(&n30, IP4(10, 0, 0, 5)));
        assert_true(cidr4_is_host(&n30, IP4(10, 0, 0, 6)));
        assert_false(cidr4_is_host(&n30, IP4(10, 0, 0, 7)));

        /* RFC 3021: both addresses of a /31 are hosts; a /32 is its one host. */
        Cidr4 n31 = cidr("10.0.0.6/31");
        assert_true(cidr4_is_host(&n31, IP4(10, 0, 0, 6)));
        assert_true(cidr4_is_host(&n31, IP4(10, 0, 0, 7)));
        assert_false(cidr4_is_host(&n31, IP4(10, 0, 0, 5)));

        Cidr4 n32 = cidr("10.0.0.9/32");
        assert_true(cidr4_is_host(&n32, IP4(10, 0, 0, 9)));
        assert_false(cidr4_is_host(&n32, IP4(10, 0, 0, 8)));
}

typedef struct Taken {
        const uint32_t *addrs;
        size_t n;
        unsigned calls;
} Taken;

static bool is_taken(uint32_t addr, void *userdata) {
        Taken *t = userdata;
        t->calls++;
        for (size_t i = 0; i < t->n; i++)
                if (t->addrs[i] == addr)
                        return true;
        return false;
}

static bool all_taken(uint32_t addr, void *userdata) {
        return true;
}

static void test_allocate(void **state) {
        Cidr4 net = cidr("10.1.2.77/24"); /* not the network address: allocation must still start at .1 */
        Taken none = {};
        uint32_t a = 0;

        assert_int_equal(cidr4_allocate(&net, is_taken, &none, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 1));

        /* Skips taken ones, including a hole-free run at the start. */
        const uint32_t used[] = { IP4(10, 1, 2, 1), IP4(10, 1, 2, 2), IP4(10, 1, 2, 4) };
        Taken some = { used, ELEMENTSOF(used) };
        assert_int_equal(cidr4_allocate(&net, is_taken, &some, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 3));

        /* Fills a gap at the top: only .254 left; never hands out the broadcast. */
        uint32_t nearly_full[253];
        for (unsigned i = 0; i < ELEMENTSOF(nearly_full); i++)
                nearly_full[i] = IP4(10, 1, 2, 1 + i);
        Taken top = { nearly_full, ELEMENTSOF(nearly_full) };
        assert_int_equal(cidr4_allocate(&net, is_taken, &top, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 254));

        /* A /30 has two hosts; with both taken it is full, and network/broadcast are never asked about. */
        Cidr4 n30 = cidr("10.0.0.4/30");
        const uint32_t both[] = { IP4(10, 0, 0, 5), IP4(10, 0, 0, 6) };
        Taken full = { both, ELEMENTSOF(both) };
        a = 0xdeadbeef;
        assert_int_equal(cidr4_allocate(&n30, is_taken, &full, &a), -ENOSPC);
        assert_int_equal(a, 0xdeadbeef);
        assert_int_equal(full.calls, 2);

        Taken one = { both, 1 };
        assert_int_equal(cidr4_allocate(&n30, is_taken, &one, &a), 0);
        assert_int_equal(a, IP4(10, 0, 0, 6));

        /* A /32 with its one address taken has no room. */
        Cidr4 n32 = cidr("10.0.0.9/32");
        assert_int_equal(cidr4_allocate(&n32, all_taken, NULL, &a), -ENOSPC);
        /* At the very top of the address space the search must not wrap around. */
        Cidr4 top32 = cidr("255.255.255.255/32");
        assert_int_equal(cidr4_allocate(&top32, all_taken, NULL, &a), -ENOSPC);
        Cidr4 top31 = cidr("255.255.255.254/31");
        assert_int_equal(cidr4_allocate(&top31, all_taken, NULL, &a), -ENOSPC);
        Taken free31 = {};
        assert_int_equal(cidr4_allocate(&top31, is_taken, &free31, &a), 0);
        assert_int_equal(a, IP4(255, 255, 255, 254));

        /* From a start: onwards first, then wrapping around; one look-up when the start is free. */
        Taken counted = { used, ELEMENTSOF(used) };
        assert_int_equal(cidr4_allocate_from(&net, IP4(10, 1, 2, 100), is_taken, &counted, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 100));
        assert_int_equal(counted.calls, 1);
        assert_int_equal(cidr4_allocate_from(&net, IP4(10, 1, 2, 255), is_taken, &some, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 3)); /* the broadcast is no start: from the first host */
        Taken all_but_low = { nearly_full + 5, ELEMENTSOF(nearly_full) - 5 };
        assert_int_equal(cidr4_allocate_from(&net, IP4(10, 1, 2, 200), is_taken, &all_but_low, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 254));
        const uint32_t high[] = { IP4(10, 1, 2, 254) };
        Taken only_top = { high, 1 };
        assert_int_equal(cidr4_allocate_from(&net, IP4(10, 1, 2, 254), is_taken, &only_top, &a), 0);
        assert_int_equal(a, IP4(10, 1, 2, 1)); /* wrapped */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_valid),
                cmocka_unit_test(test_parse_invalid),
                cmocka_unit_test(test_format_round_trip),
                cmocka_unit_test(test_network_broadcast),
                cmocka_unit_test(test_contains_overlaps),
                cmocka_unit_test(test_rfc1918),
                cmocka_unit_test(test_is_host),
                cmocka_unit_test(test_allocate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
