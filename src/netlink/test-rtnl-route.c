/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs in a network namespace of its own (unshare(CLONE_NEWNET) at start), so
 * every route, rule and link it makes dies with the process and the host's
 * routing tables are never seen. ip(8) is run only to read back, as a witness
 * independent of the code under test. */
#define _GNU_SOURCE 1 /* unshare() */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "test-skip.h"

#include "macro.h"
#include "netlink/rtnl-route.h"
#include "netlink/rtnl-rule.h"
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

static RtnlRoute dev_route(const char *dst, uint8_t prefixlen, uint32_t table) {
        return (RtnlRoute) {
                .family = AF_INET,
                .dst_prefixlen = prefixlen,
                .dst.ip4 = ip4(dst),
                .oif = test_ifindex,
                .table = table,
                .protocol = RTNL_PROTO_PIC,
        };
}

static RtnlRoute gateway_route(const char *dst, uint8_t prefixlen, const char *gateway, uint32_t table) {
        RtnlRoute r = dev_route(dst, prefixlen, table);

        r.has_gateway = true;
        r.gateway.ip4 = ip4(gateway);
        return r;
}

static RtnlRoute drop_route(const char *dst, uint8_t prefixlen, uint8_t type, uint32_t table) {
        return (RtnlRoute) {
                .family = AF_INET,
                .dst_prefixlen = prefixlen,
                .dst.ip4 = ip4(dst),
                .table = table,
                .type = type,
                .protocol = RTNL_PROTO_PIC,
        };
}

/* Runs ip(8) with argv (no shell) and returns its standard output, NULL if
 * there is no ip(8) here. */
static char *ip_output(const char *const *args) {
        static const char *const paths[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
        const char *path = NULL;
        char *argv[16];
        size_t n = 0, size = 0;
        char *out = NULL;
        int fds[2], status;
        FILE *f;
        pid_t pid;

        for (size_t i = 0; i < ELEMENTSOF(paths) && !path; i++)
                if (access(paths[i], X_OK) >= 0)
                        path = paths[i];
        if (!path)
                return NULL;

        argv[n++] = (char *) "ip";
        for (size_t i = 0; args[i]; i++) {
                assert_true(n < ELEMENTSOF(argv) - 1);
                argv[n++] = (char *) args[i];
        }
        argv[n] = NULL;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *envp[] = { NULL };
                dup2(fds[1], STDOUT_FILENO);
                execve(path, argv, envp);
                _exit(127);
        }
        close(fds[1]);

        f = fdopen(fds[0], "r");
        assert_non_null(f);
        (void) getdelim(&out, &size, '\0', f);
        fclose(f);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                free(out);
                return strdup("(failed)");
        }
        return out ?: strdup("");
}

/* Whether ip(8)'s output for args has a line containing all of words. */
static bool ip_shows(const char *const *args, const char *const *words) {
        _cleanup_(freep) char *out = ip_output(args);
        char *line, *save = NULL;

        if (!out)
                skip_here(); /* no ip(8): nothing independent to check against */

        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                bool all = true;
                for (size_t i = 0; words[i] && all; i++)
                        all = strstr(line, words[i]) != NULL;
                if (all)
                        return true;
        }
        return false;
}

static size_t count_routes(const RtnlRoute *route) {
        _cleanup_(freep) RtnlRoute *list = NULL;
        size_t n = 0, k = 0;

        assert_int_equal(rtnl_route_list(route->family, route->table, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (rtnl_route_equal(list + i, route))
                        k++;
        return k;
}

static size_t count_table(int family, uint32_t table, uint8_t protocol) {
        _cleanup_(freep) RtnlRoute *list = NULL;
        size_t n = 0, k = 0;

        assert_int_equal(rtnl_route_list(family, table, &list, &n), 0);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(list[i].table, table);
                if (protocol == 0 || list[i].protocol == protocol)
                        k++;
        }
        return k;
}

/* connect() of a UDP socket is a real route lookup; 0 or the kernel's refusal.
 * On success *src gets the source address the kernel picked. */
static int udp_connect(const char *bind_to, uint32_t mark, const char *dst, struct in_addr *src) {
        _cleanup_(closep) int fd = -EBADF;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
        socklen_t len = sizeof sa;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (mark != 0)
                assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark), 0);
        if (bind_to) {
                struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr = ip4(bind_to) };
                assert_int_equal(bind(fd, (struct sockaddr *) &b, sizeof b), 0);
        }
        sa.sin_addr = ip4(dst);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        if (src) {
                assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
                *src = sa.sin_addr;
        }
        return 0;
}

static int link_setup(void **state) {
        struct in_addr a = ip4("10.92.0.1"), b = ip4("10.92.0.9");

        if (!in_own_netns)
                return 0;

        if (test_kind) {
                snprintf(test_ifname, sizeof test_ifname, "picro%u", (unsigned) getpid() % 10000000u);
                assert_int_equal(rtnl_link_create(test_ifname, test_kind), 0);
        } else
                snprintf(test_ifname, sizeof test_ifname, "lo");

        test_ifindex = rtnl_link_index(test_ifname);
        assert_true(test_ifindex > 0);
        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &a, 24), 0);
        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET, &b, 24), 0);
        return 0;
}

static int link_teardown(void **state) {
        static const uint32_t tables[] = { RT_TABLE_MAIN, 100, 1000, 4000 };

        if (!in_own_netns)
                return 0;

        /* Leave the tables as the kernel made them for the next test. */
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                assert_true(rtnl_route_sync(AF_INET, tables[i], RTNL_PROTO_PIC, NULL, 0) >= 0);
                assert_true(rtnl_route_sync(AF_INET, tables[i], RTPROT_STATIC, NULL, 0) >= 0);
                if (have_ipv6)
                        assert_true(rtnl_route_sync(AF_INET6, tables[i], RTNL_PROTO_PIC, NULL, 0) >= 0);
        }
        assert_true(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0) >= 0);
        if (test_kind)
                (void) rtnl_link_delete(test_ifname);
        else
                (void) rtnl_addr_flush(test_ifindex, AF_INET);
        return 0;
}

static void test_route_add_list_delete(void **state) {
        RtnlRoute def100 = dev_route("0.0.0.0", 0, 100);
        RtnlRoute via100 = gateway_route("10.93.0.0", 24, "10.92.0.2", 100);
        RtnlRoute hole100 = drop_route("10.94.0.0", 16, RTN_BLACKHOLE, 100);
        RtnlRoute def1000 = drop_route("0.0.0.0", 0, RTN_UNREACHABLE, 1000);
        RtnlRoute dev1000 = dev_route("10.95.0.0", 24, 1000);
        _cleanup_(freep) RtnlRoute *list = NULL;
        size_t n = 0;

        SKIP_UNLESS_OWN_NETNS();

        dev1000.priority = 50;

        assert_int_equal(rtnl_route_add(&def100), 0);
        assert_int_equal(rtnl_route_add(&via100), 0);
        assert_int_equal(rtnl_route_add(&hole100), 0);
        assert_int_equal(rtnl_route_add(&def1000), 0);
        assert_int_equal(rtnl_route_add(&dev1000), 0);

        assert_int_equal(count_table(AF_INET, 100, 0), 3);
        assert_int_equal(count_table(AF_INET, 1000, 0), 2);
        assert_int_equal(count_routes(&def100), 1);
        assert_int_equal(count_routes(&via100), 1);
        assert_int_equal(count_routes(&hole100), 1);
        assert_int_equal(count_routes(&def1000), 1);
        assert_int_equal(count_routes(&dev1000), 1);

        /* What the dump says, field by field, for one past 255. */
        assert_int_equal(rtnl_route_list(AF_INET, 1000, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (list[i].dst_prefixlen == 24) {
                        assert_int_equal(list[i].table, 1000);
                        assert_int_equal(list[i].dst.ip4.s_addr, ip4("10.95.0.0").s_addr);
                        assert_int_equal(list[i].oif, test_ifindex);
                        assert_int_equal(list[i].priority, 50);
                        assert_int_equal(list[i].type, RTN_UNICAST);
                        assert_int_equal(list[i].scope, RT_SCOPE_LINK);
                        assert_int_equal(list[i].protocol, RTNL_PROTO_PIC);
                        assert_false(list[i].has_gateway);
                }

        /* Every table at once holds them too, with the kernel's own. */
        free(list);
        list = NULL;
        assert_int_equal(rtnl_route_list(AF_INET, 0, &list, &n), 0);
        assert_true(n > 5);

        /* ip(8) agrees. */
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "100", NULL },
                             (const char *[]) { "default dev", test_ifname, "proto 165", "scope link", NULL }));
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "100", NULL },
                             (const char *[]) { "10.93.0.0/24 via 10.92.0.2 dev", test_ifname, NULL }));
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "100", NULL },
                             (const char *[]) { "blackhole 10.94.0.0/16", "proto 165", NULL }));
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "1000", NULL },
                             (const char *[]) { "unreachable default", "proto 165", NULL }));
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "1000", NULL },
                             (const char *[]) { "10.95.0.0/24 dev", "metric 50", NULL }));

        /* Same place again: refused; the main table never saw any of it. */
        assert_int_equal(rtnl_route_add(&def100), -EEXIST);
        assert_int_equal(rtnl_route_add(&hole100), -EEXIST);
        assert_int_equal(count_table(AF_INET, RT_TABLE_MAIN, RTNL_PROTO_PIC), 0);

        /* Another metric is another place. */
        def100.priority = 10;
        assert_int_equal(rtnl_route_add(&def100), 0);
        assert_int_equal(count_table(AF_INET, 100, 0), 4);
        assert_int_equal(rtnl_route_delete(&def100), 0);
        def100.priority = 0;

        /* Replace changes the route in its place. */
        via100.gateway.ip4 = ip4("10.92.0.3");
        assert_int_equal(rtnl_route_replace(&via100), 0);
        assert_int_equal(count_routes(&via100), 1);
        assert_int_equal(count_table(AF_INET, 100, 0), 3);
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "100", NULL },
                             (const char *[]) { "10.93.0.0/24 via 10.92.0.3", NULL }));

        assert_int_equal(rtnl_route_delete(&via100), 0);
        assert_int_equal(rtnl_route_delete(&via100), -ESRCH);
        assert_int_equal(rtnl_route_delete(&def1000), 0);
        assert_int_equal(rtnl_route_delete(&def1000), -ESRCH);
        /* A delete names its protocol: someone else's route stays. */
        hole100.protocol = RTPROT_STATIC;
        assert_int_equal(rtnl_route_delete(&hole100), -ESRCH);
        hole100.protocol = RTNL_PROTO_PIC;
        assert_int_equal(rtnl_route_delete(&hole100), 0);
        assert_int_equal(count_table(AF_INET, 100, 0), 1);
        assert_int_equal(count_table(AF_INET, 1000, 0), 1);
}

static void test_route_errors(void **state) {
        RtnlRoute r = dev_route("10.96.0.0", 24, 100);
        _cleanup_(freep) RtnlRoute *list = NULL;
        size_t n = 7;

        SKIP_UNLESS_OWN_NETNS();

        r.oif = 999999;
        assert_int_equal(rtnl_route_add(&r), -ENODEV);
        assert_int_equal(rtnl_route_replace(&r), -ENODEV);

        r = gateway_route("10.96.0.0", 24, "10.250.0.1", 100); /* not on any link */
        assert_int_equal(rtnl_route_add(&r), -ENETUNREACH);

        r = dev_route("10.96.0.1", 24, 100); /* host bits */
        assert_int_equal(rtnl_route_add(&r), -EINVAL);
        r.dst_prefixlen = 33;
        assert_int_equal(rtnl_route_add(&r), -EINVAL);
        r = dev_route("10.96.0.0", 24, 100);
        r.type = RTN_LOCAL;
        assert_int_equal(rtnl_route_add(&r), -EINVAL);
        r.type = RTN_UNICAST;
        r.family = AF_PACKET;
        assert_int_equal(rtnl_route_add(&r), -EAFNOSUPPORT);
        assert_int_equal(rtnl_route_list(AF_PACKET, 100, &list, &n), -EAFNOSUPPORT);
        assert_int_equal(rtnl_route_add(NULL), -EINVAL);

        r = dev_route("10.96.0.0", 24, 100);
        assert_int_equal(rtnl_route_delete(&r), -ESRCH);

        /* Link down: the kernel will not route through it. */
        assert_int_equal(rtnl_link_set_up(test_ifindex, false), 0);
        assert_int_equal(rtnl_route_add(&r), -ENETDOWN);
        assert_int_equal(rtnl_link_set_up(test_ifindex, true), 0);

        /* A table nobody ever used is empty, not an error. */
        assert_int_equal(rtnl_route_list(AF_INET, 4242, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_null(list);

        assert_int_equal(rtnl_route_sync(AF_INET, 100, 0, NULL, 0), -EINVAL);
        assert_int_equal(rtnl_route_sync(AF_INET, 0, RTNL_PROTO_PIC, NULL, 0), -EINVAL);
        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, NULL, 1), -EINVAL);
        {
                RtnlRoute two[] = { gateway_route("10.96.0.0", 24, "10.92.0.2", 100),
                                    gateway_route("10.96.0.0", 24, "10.92.0.3", 100) };
                assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, two, 2), -EINVAL);
        }
        assert_int_equal(count_table(AF_INET, 100, 0), 0); /* nothing half-done */
}

static void test_route_sync(void **state) {
        RtnlRoute theirs = drop_route("10.96.0.0", 24, RTN_BLACKHOLE, 100);
        RtnlRoute stale = drop_route("10.97.0.0", 24, RTN_BLACKHOLE, 100);
        RtnlRoute moved = gateway_route("10.98.0.0", 24, "10.92.0.2", 100);
        RtnlRoute elsewhere = drop_route("10.97.0.0", 24, RTN_BLACKHOLE, 1000);
        RtnlRoute want[] = {
                dev_route("0.0.0.0", 0, 0), /* table and protocol come from the sync call */
                gateway_route("10.98.0.0", 24, "10.92.0.3", 0),
                drop_route("10.99.0.0", 24, RTN_BLACKHOLE, 0),
                drop_route("10.99.0.0", 24, RTN_BLACKHOLE, 0), /* a duplicate wish is one route */
        };

        SKIP_UNLESS_OWN_NETNS();

        theirs.protocol = RTPROT_STATIC;
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                want[i].protocol = RTPROT_STATIC; /* overridden by the call */

        assert_int_equal(rtnl_route_add(&theirs), 0);
        assert_int_equal(rtnl_route_add(&stale), 0);
        assert_int_equal(rtnl_route_add(&moved), 0);
        assert_int_equal(rtnl_route_add(&elsewhere), 0);
        size_t main_before = count_table(AF_INET, RT_TABLE_MAIN, 0);

        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 1);
        assert_int_equal(count_table(AF_INET, 100, RTNL_PROTO_PIC), 3);
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                RtnlRoute w = want[i];
                w.table = 100;
                w.protocol = RTNL_PROTO_PIC;
                assert_int_equal(count_routes(&w), 1);
        }
        assert_int_equal(count_routes(&theirs), 1);
        assert_int_equal(count_routes(&stale), 0);
        assert_int_equal(count_routes(&moved), 0);
        assert_int_equal(count_routes(&elsewhere), 1); /* another table is another sync */
        assert_int_equal(count_table(AF_INET, RT_TABLE_MAIN, 0), main_before);
        assert_true(ip_shows((const char *[]) { "-4", "route", "show", "table", "100", NULL },
                             (const char *[]) { "10.98.0.0/24 via 10.92.0.3", "proto 165", NULL }));

        /* Already right: nothing is sent. */
        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 0);

        /* Their place is theirs: the rest is done, theirs stays, the call says so. */
        RtnlRoute clash[] = { want[0], drop_route("10.96.0.0", 24, RTN_UNREACHABLE, 0) };
        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, clash, ELEMENTSOF(clash)), -EEXIST);
        assert_int_equal(count_routes(&theirs), 1);
        assert_int_equal(count_table(AF_INET, 100, RTNL_PROTO_PIC), 1);

        /* What the daemon added goes with it; nothing else does. */
        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, NULL, 0), 1);
        assert_int_equal(count_table(AF_INET, 100, RTNL_PROTO_PIC), 0);
        assert_int_equal(count_routes(&theirs), 1);
        assert_int_equal(count_routes(&elsewhere), 1);
        assert_int_equal(count_table(AF_INET, RT_TABLE_MAIN, 0), main_before);
        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, NULL, 0), 0);
}

/* Rules and tables together steer real lookups: fwmark 0x100 and source
 * 10.92.0.9 use table 100 (default via the link), fwmark 0x200 uses table 1000
 * (a blackhole and an unreachable default), the main table has no default. */
static void test_policy_routing_applies(void **state) {
        const RtnlRule rules[] = {
                { .family = AF_INET, .priority = 1000, .table = 100, .has_fwmark = true, .fwmark = 0x100 },
                { .family = AF_INET, .priority = 1001, .table = 1000, .has_fwmark = true, .fwmark = 0x200 },
                { .family = AF_INET, .priority = 1002, .table = 100, .src_prefixlen = 32, .src.ip4 = ip4("10.92.0.9") },
        };
        const RtnlRoute table100[] = { dev_route("0.0.0.0", 0, 100) };
        const RtnlRoute table1000[] = {
                drop_route("198.51.100.0", 24, RTN_BLACKHOLE, 1000),
                drop_route("0.0.0.0", 0, RTN_UNREACHABLE, 1000),
        };
        struct in_addr dst = ip4("198.51.100.7"), other = ip4("203.0.113.1"), src = ip4("10.92.0.9"), picked;
        RtnlRoute got;

        SKIP_UNLESS_OWN_NETNS();

        /* Before: no default route anywhere. */
        assert_int_equal(udp_connect(NULL, 0x100, "198.51.100.7", NULL), -ENETUNREACH);
        assert_int_equal(rtnl_route_get(AF_INET, &dst, NULL, 0x100, &got), -ENETUNREACH);

        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, table100, ELEMENTSOF(table100)), 1);
        assert_int_equal(rtnl_route_sync(AF_INET, 1000, RTNL_PROTO_PIC, table1000, ELEMENTSOF(table1000)), 1);
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, rules, ELEMENTSOF(rules)), 1);

        /* The kernel's own lookup, asked through our API … */
        assert_int_equal(rtnl_route_get(AF_INET, &dst, NULL, 0x100, &got), 0);
        assert_int_equal(got.table, 100);
        assert_int_equal(got.oif, test_ifindex);
        assert_int_equal(got.type, RTN_UNICAST);
        assert_int_equal(rtnl_route_get(AF_INET, &dst, &src, 0, &got), 0);
        assert_int_equal(got.table, 100);
        assert_int_equal(rtnl_route_get(AF_INET, &dst, NULL, 0x200, &got), -EINVAL);
        assert_int_equal(rtnl_route_get(AF_INET, &other, NULL, 0x200, &got), -EHOSTUNREACH);
        assert_int_equal(rtnl_route_get(AF_INET, &dst, NULL, 0, &got), -ENETUNREACH);
        assert_int_equal(rtnl_route_get(AF_INET, &dst, NULL, 0x300, &got), -ENETUNREACH);

        /* … by real sockets … */
        assert_int_equal(udp_connect(NULL, 0x100, "198.51.100.7", &picked), 0);
        assert_int_equal(picked.s_addr, ip4("10.92.0.1").s_addr); /* the link's primary */
        assert_int_equal(udp_connect("10.92.0.9", 0, "198.51.100.7", NULL), 0);
        assert_int_equal(udp_connect("10.92.0.1", 0, "198.51.100.7", NULL), -ENETUNREACH);
        assert_int_equal(udp_connect(NULL, 0x200, "198.51.100.7", NULL), -EINVAL);
        assert_int_equal(udp_connect(NULL, 0x200, "203.0.113.1", NULL), -EHOSTUNREACH);
        assert_int_equal(udp_connect(NULL, 0, "198.51.100.7", NULL), -ENETUNREACH);

        /* … and by ip(8). */
        assert_true(ip_shows((const char *[]) { "-4", "route", "get", "198.51.100.7", "mark", "0x100", NULL },
                             (const char *[]) { "198.51.100.7 dev", test_ifname, "table 100", NULL }));
        assert_true(ip_shows((const char *[]) { "-4", "route", "get", "198.51.100.7", "from", "10.92.0.9", NULL },
                             (const char *[]) { "dev", test_ifname, "table 100", NULL }));

        /* Removing ours removes the steering, and only ours. */
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0), 1);
        assert_int_equal(udp_connect(NULL, 0x100, "198.51.100.7", NULL), -ENETUNREACH);
        assert_int_equal(udp_connect(NULL, 0x200, "198.51.100.7", NULL), -ENETUNREACH);
        assert_int_equal(udp_connect(NULL, 0, "10.92.0.2", NULL), 0); /* the kernel's link route */
}

static void test_route_ipv6(void **state) {
        struct in6_addr a = ip6("fd00:92::1");
        RtnlRoute want[] = {
                { .family = AF_INET6, .dst_prefixlen = 64, .dst.ip6 = ip6("fd00:99::"), .type = RTN_BLACKHOLE },
                { .family = AF_INET6, .type = RTN_UNREACHABLE },
                { .family = AF_INET6, .dst_prefixlen = 48, .dst.ip6 = ip6("fd00:98::"), .oif = test_ifindex,
                  .has_gateway = true, .gateway.ip6 = ip6("fd00:92::2"), .priority = 10 },
        };
        struct in6_addr dst = ip6("fd00:99::5");
        RtnlRoute got;

        SKIP_UNLESS_OWN_NETNS();
        if (!have_ipv6 || !test_kind)
                skip_here(); /* IPv6 takes no gateway on lo */

        assert_int_equal(rtnl_addr_replace(test_ifindex, AF_INET6, &a, 64), 0);

        assert_int_equal(rtnl_route_sync(AF_INET6, 100, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 1);
        assert_int_equal(count_table(AF_INET6, 100, RTNL_PROTO_PIC), 3);
        assert_int_equal(count_table(AF_INET, 100, RTNL_PROTO_PIC), 0);
        /* Metric 0 came back as 1024 and blackholes on lo: still equal, so a no-op. */
        assert_int_equal(rtnl_route_sync(AF_INET6, 100, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 0);
        assert_true(ip_shows((const char *[]) { "-6", "route", "show", "table", "100", NULL },
                             (const char *[]) { "blackhole fd00:99::/64", "proto 165", NULL }));
        assert_true(ip_shows((const char *[]) { "-6", "route", "show", "table", "100", NULL },
                             (const char *[]) { "fd00:98::/48 via fd00:92::2", "metric 10", NULL }));

        RtnlRule rule = { .family = AF_INET6, .priority = 1000, .table = 100, .has_fwmark = true, .fwmark = 0x100 };
        assert_int_equal(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, &rule, 1), 1);
        assert_int_equal(rtnl_route_get(AF_INET6, &dst, NULL, 0x100, &got), -EINVAL); /* the blackhole */
        assert_int_equal(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, NULL, 0), 1);

        assert_int_equal(rtnl_route_sync(AF_INET6, 100, RTNL_PROTO_PIC, want, 1), 1);
        assert_int_equal(count_table(AF_INET6, 100, RTNL_PROTO_PIC), 1);
        assert_int_equal(rtnl_route_sync(AF_INET6, 100, RTNL_PROTO_PIC, NULL, 0), 1);
        assert_int_equal(count_table(AF_INET6, 100, RTNL_PROTO_PIC), 0);
}

static double elapsed(const struct timespec *start) {
        struct timespec now;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
        return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* How long many routes take, one rtnl_route_add() (one socket, one ACK) each
 * and in one sync. PIC_RTNL_BENCH_N overrides the count (default 10000). */
static void test_route_scale(void **state) {
        _cleanup_(freep) RtnlRoute *want = NULL;
        const char *e = getenv("PIC_RTNL_BENCH_N");
        size_t n = e ? strtoul(e, NULL, 10) : 10000;
        double t_add, t_list, t_sync_noop, t_sync_empty, t_sync_full;
        struct timespec start;

        SKIP_UNLESS_OWN_NETNS();
        if (n == 0)
                skip_here();
        assert_true(n < (1u << 16));

        want = calloc(n, sizeof *want);
        assert_non_null(want);
        for (size_t i = 0; i < n; i++) {
                /* Host routes in 10.200.0.0/16, every third a blackhole. */
                char dst[INET_ADDRSTRLEN];
                snprintf(dst, sizeof dst, "10.200.%u.%u", (uint8_t) (i / 256), (uint8_t) (i % 256));
                want[i] = i % 3 == 0 ? drop_route(dst, 32, RTN_BLACKHOLE, 4000) : dev_route(dst, 32, 4000);
        }

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(rtnl_route_add(want + i), 0);
        t_add = elapsed(&start);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(count_table(AF_INET, 4000, RTNL_PROTO_PIC), n);
        t_list = elapsed(&start);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_route_sync(AF_INET, 4000, RTNL_PROTO_PIC, want, n), 0);
        t_sync_noop = elapsed(&start);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_route_sync(AF_INET, 4000, RTNL_PROTO_PIC, NULL, 0), 1);
        t_sync_empty = elapsed(&start);
        assert_int_equal(count_table(AF_INET, 4000, 0), 0);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_route_sync(AF_INET, 4000, RTNL_PROTO_PIC, want, n), 1);
        t_sync_full = elapsed(&start);
        assert_int_equal(count_table(AF_INET, 4000, RTNL_PROTO_PIC), n);

        print_message("# %zu routes: add one by one %.3f s (%.1f us each), list %.3f s, "
                      "sync no-op %.3f s, sync all away %.3f s, sync all in %.3f s\n",
                      n, t_add, t_add * 1e6 / n, t_list, t_sync_noop, t_sync_empty, t_sync_full);
}

/* Picks a kind this kernel can create: dummy is the natural choice, but some
 * kernels lack it; ifb and bridge need no peer or options either. */
static const char *find_creatable_kind(void) {
        static const char *const kinds[] = { "dummy", "ifb", "bridge" };
        char name[IFNAMSIZ];

        snprintf(name, sizeof name, "picrq%u", (unsigned) getpid() % 10000000u);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (rtnl_link_create(name, kinds[i]) == 0) {
                        assert_int_equal(rtnl_link_delete(name), 0);
                        return kinds[i];
                }
        return NULL;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_route_add_list_delete, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_route_errors, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_route_sync, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_policy_routing_applies, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_route_ipv6, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_route_scale, link_setup, link_teardown),
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
