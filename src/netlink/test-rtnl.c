/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs in a network namespace of its own (unshare(CLONE_NEWNET) at start), so
 * every link and address it creates dies with the process and the host's
 * interfaces are never seen. */
#define _GNU_SOURCE 1 /* unshare() */
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <cmocka.h>

#include "test-skip.h"

#include "macro.h"
#include "netlink/rtnl.h"

static bool in_own_netns;
static bool have_ipv6;
static const char *test_kind; /* the creatable kind found here, NULL: only lo */
static char test_ifname[IFNAMSIZ];
static int test_ifindex;

#define SKIP_UNLESS_OWN_NETNS() do { if (!in_own_netns) skip_here(); } while (0)

static struct in_addr ip4(const char *s) {
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        return a;
}

static struct in6_addr ip6(const char *s) {
        struct in6_addr a;
        assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
        return a;
}

/* Read back through ioctl, a path independent of the code under test. */
static int link_flags(const char *ifname) {
        _cleanup_(closep) int fd = -EBADF;
        struct ifreq ifr = {};

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
        return ifr.ifr_flags;
}

static int link_mtu(const char *ifname) {
        _cleanup_(closep) int fd = -EBADF;
        struct ifreq ifr = {};

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        assert_int_equal(ioctl(fd, SIOCGIFMTU, &ifr), 0);
        return ifr.ifr_mtu;
}

/* Whether a socket can bind the address, i.e. the kernel treats it as local. */
static void assert_local_ip4(const char *s, bool local) {
        _cleanup_(closep) int fd = -EBADF;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = ip4(s) };
        int r;

        /* On lo the whole prefix is local, so only "is local" can be checked. */
        if (!test_kind && !local)
                return;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        assert_int_equal(r, local ? 0 : -EADDRNOTAVAIL);
}

static size_t count_family(int ifindex, int family) {
        _cleanup_(freep) RtnlAddress *list = NULL;
        size_t n = 0;

        assert_int_equal(rtnl_addr_list(ifindex, family, &list, &n), 0);
        return n;
}

/* Addresses of family, IPv6 link-local ones left out. */
static size_t count_global(int ifindex, int family) {
        _cleanup_(freep) RtnlAddress *list = NULL;
        size_t n = 0, k = 0;

        assert_int_equal(rtnl_addr_list(ifindex, family, &list, &n), 0);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(list[i].family, family);
                if (!(family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&list[i].address.ip6)))
                        k++;
        }
        return k;
}

static bool has_ip4(int ifindex, const char *s, uint8_t prefixlen) {
        _cleanup_(freep) RtnlAddress *list = NULL;
        struct in_addr a = ip4(s);
        size_t n = 0;

        assert_int_equal(rtnl_addr_list(ifindex, AF_INET, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (list[i].address.ip4.s_addr == a.s_addr && list[i].prefixlen == prefixlen)
                        return true;
        return false;
}

static bool has_ip6(int ifindex, const char *s, uint8_t prefixlen) {
        _cleanup_(freep) RtnlAddress *list = NULL;
        struct in6_addr a = ip6(s);
        size_t n = 0;

        assert_int_equal(rtnl_addr_list(ifindex, AF_INET6, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (memcmp(&list[i].address.ip6, &a, sizeof a) == 0 && list[i].prefixlen == prefixlen)
                        return true;
        return false;
}

static int link_setup(void **state) {
        if (!in_own_netns)
                return 0;

        if (!test_kind) {
                /* No creatable kind on this kernel: use this namespace's own lo,
                 * up before the flush since bringing lo up adds 127.0.0.1. */
                snprintf(test_ifname, sizeof test_ifname, "lo");
                test_ifindex = rtnl_link_index("lo");
                assert_true(test_ifindex > 0);
                assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);
                assert_true(rtnl_addr_flush(test_ifindex, AF_UNSPEC) >= 0);
                return 0;
        }

        snprintf(test_ifname, sizeof test_ifname, "picrt%u", (unsigned) getpid() % 10000000u);
        assert_int_equal(rtnl_link_create(test_ifname, test_kind), 0);
        test_ifindex = rtnl_link_index(test_ifname);
        assert_true(test_ifindex > 0);
        return 0;
}

static int link_teardown(void **state) {
        if (in_own_netns && test_kind)
                (void) rtnl_link_delete(test_ifname);
        return 0;
}

static void test_link_index(void **state) {
        SKIP_UNLESS_OWN_NETNS();

        assert_int_equal(rtnl_link_index("lo"), 1); /* always 1 in a fresh namespace */
        assert_int_equal(rtnl_link_index("picrt-none"), -ENODEV);
        assert_int_equal(rtnl_link_index(""), -EINVAL);
        assert_int_equal(rtnl_link_index(NULL), -EINVAL);
        assert_int_equal(rtnl_link_index("picrt-name-too-long"), -EINVAL);
}

static void test_link_create_delete(void **state) {
        char name[IFNAMSIZ];
        int ifindex;

        SKIP_UNLESS_OWN_NETNS();
        if (!test_kind)
                skip_here();

        snprintf(name, sizeof name, "picrc%u", (unsigned) getpid() % 10000000u);
        assert_int_equal(rtnl_link_index(name), -ENODEV);

        assert_int_equal(rtnl_link_create(name, test_kind), 0);
        ifindex = rtnl_link_index(name);
        assert_true(ifindex > 1);

        assert_int_equal(rtnl_link_create(name, test_kind), -EEXIST);
        /* The name is taken whatever kind is asked for. */
        assert_int_equal(rtnl_link_create(name, "picnosuchkind"), -EEXIST);
        assert_int_equal(rtnl_link_index(name), ifindex);

        assert_int_equal(rtnl_link_delete(name), 0);
        assert_int_equal(rtnl_link_index(name), -ENODEV);
        assert_int_equal(rtnl_link_delete(name), -ENODEV);
}

static void test_link_unknown_kind(void **state) {
        char name[IFNAMSIZ];

        SKIP_UNLESS_OWN_NETNS();

        snprintf(name, sizeof name, "picrk%u", (unsigned) getpid() % 10000000u);
        assert_int_equal(rtnl_link_create(name, "picnosuchkind"), -EOPNOTSUPP);
        assert_int_equal(rtnl_link_index(name), -ENODEV); /* nothing left behind */
        assert_int_equal(rtnl_link_create(name, ""), -EINVAL);
        assert_int_equal(rtnl_link_create(name, NULL), -EINVAL);
}

static void test_link_wireguard(void **state) {
        char name[IFNAMSIZ];
        int r;

        SKIP_UNLESS_OWN_NETNS();

        snprintf(name, sizeof name, "picwg%u", (unsigned) getpid() % 10000000u);
        r = rtnl_link_create(name, "wireguard");
        if (r == 0) {
                print_message("kernel has WireGuard: created and deleting %s\n", name);
                assert_true(rtnl_link_index(name) > 0);
                assert_int_equal(rtnl_link_delete(name), 0);
                return;
        }

        /* No module: the one value pic-celld takes as "start wireguard-go". */
        assert_int_equal(r, -EOPNOTSUPP);
        assert_int_equal(rtnl_link_index(name), -ENODEV);
}

static void test_link_up_mtu(void **state) {
        SKIP_UNLESS_OWN_NETNS();

        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);
        assert_true(link_flags(test_ifname) & IFF_UP);
        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0); /* idempotent */
        assert_true(link_flags(test_ifname) & IFF_UP);

        assert_int_equal(rtnl_link_set_mtu(test_ifindex, 1420), 0);
        assert_int_equal(link_mtu(test_ifname), 1420);
        assert_int_equal(rtnl_link_set_mtu(test_ifindex, 1280), 0);
        assert_int_equal(link_mtu(test_ifname), 1280);
        assert_true(link_flags(test_ifname) & IFF_UP); /* MTU change kept the flags */
        assert_int_equal(rtnl_link_set_mtu(test_ifindex, 0), -EINVAL);

        assert_int_equal(rtnl_link_set_up(test_ifindex, false), 0);
        assert_false(link_flags(test_ifname) & IFF_UP);
        assert_int_equal(link_mtu(test_ifname), 1280);

        assert_int_equal(rtnl_link_set_up(999999, true), -ENODEV);
        assert_int_equal(rtnl_link_set_mtu(999999, 1420), -ENODEV);
        assert_int_equal(rtnl_link_set_up(0, true), -EINVAL);
}

static void test_addr_ipv4(void **state) {
        struct in_addr a = ip4("10.77.0.1"), b = ip4("10.78.1.1");

        SKIP_UNLESS_OWN_NETNS();

        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);
        assert_int_equal(count_family(test_ifindex, AF_INET), 0);

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &a, 24), 0);
        assert_true(has_ip4(test_ifindex, "10.77.0.1", 24));
        assert_int_equal(count_family(test_ifindex, AF_INET), 1);
        assert_local_ip4("10.77.0.1", true); /* really local now */

        /* Replacing the same address and prefix does not duplicate it. */
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &a, 24), 0);
        assert_int_equal(count_family(test_ifindex, AF_INET), 1);

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &b, 16), 0);
        assert_int_equal(count_family(test_ifindex, AF_INET), 2);
        assert_local_ip4("10.78.1.1", true);

        /* Sync removes the other one and reports a change, then is a no-op. */
        assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET, &a, 24), 1);
        assert_int_equal(count_family(test_ifindex, AF_INET), 1);
        assert_true(has_ip4(test_ifindex, "10.77.0.1", 24));
        assert_local_ip4("10.78.1.1", false);
        assert_local_ip4("10.77.0.1", true);
        assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET, &a, 24), 0);
        assert_int_equal(count_family(test_ifindex, AF_INET), 1);

        /* Same address, new prefix: ends with only the new prefix. */
        assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET, &a, 16), 1);
        assert_int_equal(count_family(test_ifindex, AF_INET), 1);
        assert_true(has_ip4(test_ifindex, "10.77.0.1", 16));

        assert_int_equal(rtnl_addr_delete(test_ifindex, AF_INET, &a, 24), -EADDRNOTAVAIL);
        assert_int_equal(rtnl_addr_delete(test_ifindex, AF_INET, &a, 16), 0);
        assert_int_equal(count_family(test_ifindex, AF_INET), 0);
        assert_local_ip4("10.77.0.1", false);

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &a, 24), 0);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &b, 16), 0);
        assert_int_equal(rtnl_addr_flush(test_ifindex, AF_INET), 2);
        assert_int_equal(count_family(test_ifindex, AF_INET), 0);
        assert_local_ip4("10.77.0.1", false);
        assert_int_equal(rtnl_addr_flush(test_ifindex, AF_INET), 0);
}

/* Writes a per-link IPv4 sysctl; /proc/sys/net is this process's namespace. */
static void set_ipv4_conf(const char *ifname, const char *key, const char *value) {
        _cleanup_(fclosep) FILE *f = NULL;
        char path[128];

        snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/%s", ifname, key);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(value, f) >= 0);
}

/* The wanted address is the secondary of another in the same subnet. Without
 * promote_secondaries, removing that primary takes the secondary with it, and
 * sync must still end right; with it, the secondary is promoted instead. */
static void test_addr_ipv4_secondary(void **state) {
        struct in_addr primary = ip4("10.79.0.5"), wanted = ip4("10.79.0.1");

        SKIP_UNLESS_OWN_NETNS();

        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);

        for (int promote = 0; promote <= 1; promote++) {
                set_ipv4_conf(test_ifname, "promote_secondaries", promote ? "1" : "0");

                assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &primary, 24), 0);
                assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &wanted, 24), 0);
                assert_int_equal(count_family(test_ifindex, AF_INET), 2);

                assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET, &wanted, 24), 1);
                assert_int_equal(count_family(test_ifindex, AF_INET), 1);
                assert_true(has_ip4(test_ifindex, "10.79.0.1", 24));
                assert_local_ip4("10.79.0.1", true);
                assert_local_ip4("10.79.0.5", false);

                /* Flushing a primary with its secondary counts what really went. */
                assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &primary, 24), 0);
                assert_int_equal(count_family(test_ifindex, AF_INET), 2);
                assert_int_equal(rtnl_addr_flush(test_ifindex, AF_INET), promote ? 2 : 1);
                assert_int_equal(count_family(test_ifindex, AF_INET), 0);
        }
}

static void test_addr_ipv6(void **state) {
        struct in6_addr a = ip6("fd00:77::1"), b = ip6("fd00:78::1");
        struct in_addr v4 = ip4("10.80.0.1");

        SKIP_UNLESS_OWN_NETNS();
        if (!have_ipv6)
                skip_here();

        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &v4, 24), 0);

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET6, &a, 64), 0);
        assert_true(has_ip6(test_ifindex, "fd00:77::1", 64));
        assert_int_equal(count_global(test_ifindex, AF_INET6), 1);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET6, &a, 64), 0);
        assert_int_equal(count_global(test_ifindex, AF_INET6), 1);

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET6, &b, 48), 0);
        assert_int_equal(count_global(test_ifindex, AF_INET6), 2);

        assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET6, &a, 64), 1);
        assert_int_equal(count_global(test_ifindex, AF_INET6), 1);
        assert_true(has_ip6(test_ifindex, "fd00:77::1", 64));
        assert_false(has_ip6(test_ifindex, "fd00:78::1", 48));
        assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET6, &a, 64), 0);

        /* Both families in one list; the other family untouched by IPv6 work. */
        assert_true(count_family(test_ifindex, AF_UNSPEC) >= 2);
        assert_true(has_ip4(test_ifindex, "10.80.0.1", 24));

        assert_true(rtnl_addr_flush(test_ifindex, AF_INET6) >= 1);
        assert_int_equal(count_family(test_ifindex, AF_INET6), 0); /* link-local too */
        assert_true(has_ip4(test_ifindex, "10.80.0.1", 24));

        assert_int_equal(rtnl_addr_flush(test_ifindex, AF_UNSPEC), 1);
        assert_int_equal(count_family(test_ifindex, AF_UNSPEC), 0);
}

static void test_addr_errors(void **state) {
        _cleanup_(freep) RtnlAddress *list = NULL;
        struct in_addr a = ip4("10.81.0.1");
        size_t n = 0;

        SKIP_UNLESS_OWN_NETNS();

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_PACKET, &a, 24), -EAFNOSUPPORT);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &a, 33), -EINVAL);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, NULL, 24), -EINVAL);
        assert_int_equal(rtnl_addr_replace(0, AF_INET, &a, 24), -EINVAL);
        assert_int_equal(rtnl_addr_replace(999999, AF_INET, &a, 24), -ENODEV);
        assert_int_equal(rtnl_addr_delete(test_ifindex, AF_INET, &a, 24), -EADDRNOTAVAIL);
        assert_int_equal(rtnl_addr_list(999999, AF_INET, &list, &n), -ENODEV);
        assert_int_equal(rtnl_addr_list(test_ifindex, AF_PACKET, &list, &n), -EAFNOSUPPORT);
        assert_int_equal(rtnl_addr_flush(999999, AF_INET), -ENODEV);
        assert_int_equal(rtnl_addr_sync(999999, AF_INET, &a, 24), -ENODEV);
        assert_int_equal(rtnl_addr_sync(test_ifindex, AF_INET6, &a, 129), -EINVAL);
        assert_int_equal(count_family(test_ifindex, AF_UNSPEC), 0); /* nothing half-done */
}

/* Picks a kind this kernel can create: dummy is the natural choice, but some
 * kernels lack it; ifb and bridge need no peer or options either. */
static const char *find_creatable_kind(void) {
        static const char *const kinds[] = { "dummy", "ifb", "bridge" };
        char name[IFNAMSIZ];

        snprintf(name, sizeof name, "picrp%u", (unsigned) getpid() % 10000000u);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                int r = rtnl_link_create(name, kinds[i]);
                if (r == 0) {
                        assert_int_equal(rtnl_link_delete(name), 0);
                        return kinds[i];
                }
                fprintf(stderr, "# link kind %s: %s\n", kinds[i], strerror(-r));
        }
        return NULL;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_link_index),
                cmocka_unit_test(test_link_create_delete),
                cmocka_unit_test(test_link_unknown_kind),
                cmocka_unit_test(test_link_wireguard),
                cmocka_unit_test_setup_teardown(test_link_up_mtu, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_addr_ipv4, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_addr_ipv4_secondary, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_addr_ipv6, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_addr_errors, link_setup, link_teardown),
        };

        if (unshare(CLONE_NEWNET) >= 0)
                in_own_netns = true;
        else if (errno == EPERM)
                fprintf(stderr, "# no permission for a network namespace: skipping\n");
        else {
                fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
                return EXIT_FAILURE;
        }

        if (in_own_netns) {
                /* PIC_TEST_LINK_KIND=bridge (or =lo) exercises another path by hand. */
                const char *forced = getenv("PIC_TEST_LINK_KIND");

                have_ipv6 = access("/proc/sys/net/ipv6", F_OK) >= 0;
                if (!isempty(forced))
                        test_kind = streq(forced, "lo") ? NULL : forced;
                else
                        test_kind = find_creatable_kind();
                fprintf(stderr, "# testing on %s\n", test_kind ? test_kind : "lo (no creatable link kind)");
        }

        return tests_result(cmocka_run_group_tests(tests, NULL, NULL));
}
