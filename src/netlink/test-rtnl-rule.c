/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs in a network namespace of its own (unshare(CLONE_NEWNET) at start), so
 * every rule, route and link it makes dies with the process and the host's
 * policy routing is never seen. ip(8) is run only to read back, as a witness
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

static RtnlRule fwmark_rule(uint32_t priority, uint32_t mark, uint32_t table, uint8_t protocol) {
        return (RtnlRule) {
                .family = AF_INET,
                .priority = priority,
                .table = table,
                .has_fwmark = true,
                .fwmark = mark,
                .protocol = protocol,
        };
}

static RtnlRule source_rule(uint32_t priority, const char *src, uint8_t prefixlen, uint32_t table, uint8_t protocol) {
        return (RtnlRule) {
                .family = AF_INET,
                .priority = priority,
                .table = table,
                .src_prefixlen = prefixlen,
                .src.ip4 = ip4(src),
                .protocol = protocol,
        };
}

/* Runs ip(8) with argv (no shell) and returns its standard output. */
static char *ip_output(const char *const *args) {
        static const char *const paths[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
        const char *path = NULL;
        char *argv[16];
        size_t n = 0, size = 0;
        char *out = NULL;
        int fds[2], status;
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

        FILE *f = fdopen(fds[0], "r");
        assert_non_null(f);
        assert_true(getdelim(&out, &size, '\0', f) >= 0 || feof(f));
        fclose(f);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return out ?: strdup("");
}

/* Whether "ip -4 rule show" has a line containing all of the words given. */
static bool ip_rule_shows(int family, const char *const *words) {
        const char *args[] = { family == AF_INET6 ? "-6" : "-4", "rule", "show", NULL };
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

static size_t count_rules(int family, const RtnlRule *rule) {
        _cleanup_(freep) RtnlRule *list = NULL;
        size_t n = 0, k = 0;

        assert_int_equal(rtnl_rule_list(family, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (rtnl_rule_equal(list + i, rule))
                        k++;
        return k;
}

static size_t count_protocol(int family, uint8_t protocol) {
        _cleanup_(freep) RtnlRule *list = NULL;
        size_t n = 0, k = 0;

        assert_int_equal(rtnl_rule_list(family, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (list[i].protocol == protocol)
                        k++;
        return k;
}

/* The kernel's three default rules (local, main, default) for the family. */
static size_t count_default_rules(int family) {
        _cleanup_(freep) RtnlRule *list = NULL;
        size_t n = 0, k = 0;

        assert_int_equal(rtnl_rule_list(family, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (list[i].protocol == RTPROT_KERNEL &&
                    ((list[i].priority == 0 && list[i].table == RT_TABLE_LOCAL) ||
                     (list[i].priority == 32766 && list[i].table == RT_TABLE_MAIN) ||
                     (list[i].priority == 32767 && list[i].table == RT_TABLE_DEFAULT)))
                        k++;
        return k;
}

/* connect() of a UDP socket is a real route lookup; 0 or the kernel's refusal. */
static int udp_connect(const char *bind_to, uint32_t mark, const char *dst) {
        _cleanup_(closep) int fd = -EBADF;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (mark != 0)
                assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark), 0);
        if (bind_to) {
                struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr = ip4(bind_to) };
                assert_int_equal(bind(fd, (struct sockaddr *) &b, sizeof b), 0);
        }
        sa.sin_addr = ip4(dst);
        return connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
}

static int link_setup(void **state) {
        struct in_addr a = ip4("10.91.0.1"), b = ip4("10.91.0.9");

        if (!in_own_netns)
                return 0;

        if (test_kind) {
                snprintf(test_ifname, sizeof test_ifname, "picru%u", (unsigned) getpid() % 10000000u);
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
        if (!in_own_netns)
                return 0;

        /* Leave only the kernel's rules for the next test. */
        assert_true(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0) >= 0);
        assert_true(rtnl_rule_sync(AF_INET, RTPROT_STATIC, NULL, 0) >= 0);
        if (have_ipv6)
                assert_true(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, NULL, 0) >= 0);
        if (test_kind)
                (void) rtnl_link_delete(test_ifname);
        else
                (void) rtnl_addr_flush(test_ifindex, AF_INET);
        return 0;
}

static void test_rule_add_list_delete(void **state) {
        RtnlRule mark = fwmark_rule(1000, 0x100, 100, RTNL_PROTO_PIC);
        RtnlRule source = source_rule(1001, "10.90.0.0", 24, 1000, RTNL_PROTO_PIC);
        RtnlRule iif = { .family = AF_INET, .priority = 1002, .table = 100, .protocol = RTNL_PROTO_PIC };
        _cleanup_(freep) RtnlRule *list = NULL;
        size_t n = 0;
        bool seen_source = false;

        SKIP_UNLESS_OWN_NETNS();

        snprintf(iif.iif, sizeof iif.iif, "%s", test_ifname);

        assert_int_equal(count_default_rules(AF_INET), 3);
        assert_int_equal(rtnl_rule_add(&mark), 0);
        assert_int_equal(rtnl_rule_add(&source), 0);
        assert_int_equal(rtnl_rule_add(&iif), 0);

        /* Read back through our dump … */
        assert_int_equal(rtnl_rule_list(AF_INET, &list, &n), 0);
        assert_int_equal(n, 3 + 3);
        for (size_t i = 0; i < n; i++)
                if (list[i].priority == 1001) {
                        seen_source = true;
                        assert_int_equal(list[i].table, 1000); /* past 255: from FRA_TABLE */
                        assert_int_equal(list[i].src_prefixlen, 24);
                        assert_int_equal(list[i].src.ip4.s_addr, ip4("10.90.0.0").s_addr);
                        assert_int_equal(list[i].protocol, RTNL_PROTO_PIC);
                        assert_int_equal(list[i].action, FR_ACT_TO_TBL);
                        assert_false(list[i].has_fwmark);
                }
        assert_true(seen_source);
        assert_int_equal(count_rules(AF_INET, &mark), 1);
        assert_int_equal(count_rules(AF_INET, &source), 1);
        assert_int_equal(count_rules(AF_INET, &iif), 1);

        /* … and through ip(8). */
        assert_true(ip_rule_shows(AF_INET, (const char *[]) { "1000:", "fwmark 0x100", "lookup 100", "proto 165", NULL }));
        assert_true(ip_rule_shows(AF_INET, (const char *[]) { "1001:", "from 10.90.0.0/24", "lookup 1000", NULL }));
        assert_true(ip_rule_shows(AF_INET, (const char *[]) { "1002:", "iif", test_ifname, "lookup 100", NULL }));

        /* Adding again is refused, not duplicated; the mask default is all bits. */
        assert_int_equal(rtnl_rule_add(&mark), -EEXIST);
        assert_int_equal(rtnl_rule_add(&source), -EEXIST);
        mark.fwmask = 0xffffffff;
        assert_int_equal(rtnl_rule_add(&mark), -EEXIST);
        assert_int_equal(count_rules(AF_INET, &mark), 1);

        /* The same match under another protocol is another rule. */
        RtnlRule theirs = mark;
        theirs.protocol = RTPROT_STATIC;
        assert_int_equal(rtnl_rule_add(&theirs), 0);
        assert_int_equal(count_rules(AF_INET, &theirs), 1);
        assert_int_equal(count_rules(AF_INET, &mark), 1);

        assert_int_equal(rtnl_rule_delete(&mark), 0);
        assert_int_equal(count_rules(AF_INET, &mark), 0);
        assert_int_equal(count_rules(AF_INET, &theirs), 1); /* the protocol told them apart */
        assert_int_equal(rtnl_rule_delete(&mark), -ENOENT);
        assert_int_equal(rtnl_rule_delete(&theirs), 0);
        assert_int_equal(rtnl_rule_delete(&source), 0);
        assert_int_equal(rtnl_rule_delete(&iif), 0);
        assert_int_equal(rtnl_rule_delete(&source), -ENOENT);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 0);
        assert_int_equal(count_default_rules(AF_INET), 3);
}

static void test_rule_actions_and_masks(void **state) {
        RtnlRule drop = fwmark_rule(1100, 0x10, 0, RTNL_PROTO_PIC);
        RtnlRule masked = fwmark_rule(1101, 0x2000, 200, RTNL_PROTO_PIC);
        RtnlRule unmarked = fwmark_rule(1102, 0, 300, RTNL_PROTO_PIC);

        SKIP_UNLESS_OWN_NETNS();

        drop.action = FR_ACT_BLACKHOLE;
        masked.fwmask = 0xff00;
        unmarked.fwmask = 0xffffffff; /* "fwmark 0/0xffffffff": packets with no mark */

        assert_int_equal(rtnl_rule_add(&drop), 0);
        assert_int_equal(rtnl_rule_add(&masked), 0);
        assert_int_equal(rtnl_rule_add(&unmarked), 0);
        assert_int_equal(count_rules(AF_INET, &drop), 1);
        assert_int_equal(count_rules(AF_INET, &masked), 1);
        assert_int_equal(count_rules(AF_INET, &unmarked), 1);
        assert_true(ip_rule_shows(AF_INET, (const char *[]) { "1100:", "fwmark 0x10", "blackhole", NULL }));
        assert_true(ip_rule_shows(AF_INET, (const char *[]) { "1101:", "fwmark 0x2000/0xff00", "lookup 200", NULL }));
        assert_true(ip_rule_shows(AF_INET, (const char *[]) { "1102:", "fwmark 0 lookup 300", NULL }));

        /* A different mask is a different rule. */
        masked.fwmask = 0xf000;
        assert_int_equal(count_rules(AF_INET, &masked), 0);
        assert_int_equal(rtnl_rule_delete(&masked), -ENOENT);
        masked.fwmask = 0xff00;
        assert_int_equal(rtnl_rule_delete(&masked), 0);
}

static void test_rule_errors(void **state) {
        RtnlRule r = fwmark_rule(1200, 0x1, 100, RTNL_PROTO_PIC);
        RtnlRule *list = NULL;
        size_t n = 0;

        SKIP_UNLESS_OWN_NETNS();

        r.table = 0;
        assert_int_equal(rtnl_rule_add(&r), -EINVAL); /* lookup needs a table */
        r = source_rule(1200, "10.90.0.1", 24, 100, RTNL_PROTO_PIC);
        assert_int_equal(rtnl_rule_add(&r), -EINVAL); /* host bits */
        r.src_prefixlen = 33;
        assert_int_equal(rtnl_rule_add(&r), -EINVAL);
        r = fwmark_rule(1200, 0x1, 100, RTNL_PROTO_PIC);
        r.family = AF_PACKET;
        assert_int_equal(rtnl_rule_add(&r), -EAFNOSUPPORT);
        assert_int_equal(rtnl_rule_list(AF_PACKET, &list, &n), -EAFNOSUPPORT);
        r.family = AF_INET;
        memset(r.iif, 'x', sizeof r.iif); /* no room for the NUL */
        assert_int_equal(rtnl_rule_add(&r), -EINVAL);
        memset(r.iif, 0, sizeof r.iif);
        r.action = FR_ACT_GOTO;
        assert_int_equal(rtnl_rule_add(&r), -EINVAL);
        assert_int_equal(rtnl_rule_add(NULL), -EINVAL);

        r = fwmark_rule(1200, 0x1, 100, RTNL_PROTO_PIC);
        assert_int_equal(rtnl_rule_sync(AF_INET, 0, &r, 1), -EINVAL); /* would claim unlabelled rules */
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 1), -EINVAL);
        r.family = AF_INET6;
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, &r, 1), -EINVAL);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 0); /* nothing half-done */
}

static void test_rule_sync(void **state) {
        const RtnlRule want[] = {
                fwmark_rule(1000, 0x100, 100, 0), /* protocol comes from the sync call */
                source_rule(1001, "10.90.0.0", 24, 1000, 0),
                source_rule(1001, "10.90.0.0", 24, 1000, 0), /* a duplicate wish is one rule */
        };
        RtnlRule theirs = fwmark_rule(1500, 0x5, 100, RTPROT_STATIC);
        RtnlRule unlabelled = fwmark_rule(1501, 0x6, 100, RTPROT_UNSPEC);
        RtnlRule stale = fwmark_rule(1600, 0x7, 200, RTNL_PROTO_PIC);
        RtnlRule wanted0 = want[0], wanted1 = want[1];

        SKIP_UNLESS_OWN_NETNS();

        wanted0.protocol = wanted1.protocol = RTNL_PROTO_PIC;

        assert_int_equal(rtnl_rule_add(&theirs), 0);
        assert_int_equal(rtnl_rule_add(&unlabelled), 0);
        assert_int_equal(rtnl_rule_add(&stale), 0);

        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 1);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 2);
        assert_int_equal(count_rules(AF_INET, &wanted0), 1);
        assert_int_equal(count_rules(AF_INET, &wanted1), 1);
        assert_int_equal(count_rules(AF_INET, &stale), 0);
        assert_int_equal(count_rules(AF_INET, &theirs), 1);
        assert_int_equal(count_rules(AF_INET, &unlabelled), 1);
        assert_int_equal(count_default_rules(AF_INET), 3);

        /* Already right: nothing is sent. */
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 0);

        /* What the daemon added goes with it; nothing else does. */
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0), 1);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 0);
        assert_int_equal(count_rules(AF_INET, &theirs), 1);
        assert_int_equal(count_rules(AF_INET, &unlabelled), 1);
        assert_int_equal(count_default_rules(AF_INET), 3);
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0), 0);

        assert_int_equal(rtnl_rule_delete(&unlabelled), 0);
}

/* The kernel matches a delete loosely: removing the stale rule without a mark
 * first takes the wanted one with a mark at the same priority. Sync must still
 * end with exactly what is wanted. */
static void test_rule_sync_loose_delete(void **state) {
        RtnlRule marked = fwmark_rule(2000, 0x9, 100, RTNL_PROTO_PIC);
        RtnlRule plain = { .family = AF_INET, .priority = 2000, .table = 100, .protocol = RTNL_PROTO_PIC };

        SKIP_UNLESS_OWN_NETNS();

        assert_int_equal(rtnl_rule_add(&marked), 0);
        assert_int_equal(rtnl_rule_add(&plain), 0);

        /* This is what the kernel does with a plain delete … */
        assert_int_equal(rtnl_rule_delete(&plain), 0);
        assert_int_equal(count_rules(AF_INET, &marked), 0);
        assert_int_equal(count_rules(AF_INET, &plain), 1);
        assert_int_equal(rtnl_rule_add(&marked), 0); /* now after plain in the list */
        assert_int_equal(rtnl_rule_delete(&plain), 0);
        assert_int_equal(rtnl_rule_add(&plain), 0); /* and plain after marked again */

        /* … and sync still ends right. */
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, &marked, 1), 1);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 1);
        assert_int_equal(count_rules(AF_INET, &marked), 1);
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, &marked, 1), 0);
}

/* Rules really steer packets: connect() of a UDP socket is a route lookup. */
static void test_rule_applies(void **state) {
        RtnlRule unreachable = fwmark_rule(1000, 0x77, 0, RTNL_PROTO_PIC);
        RtnlRule prohibit = source_rule(1001, "10.91.0.9", 32, 0, RTNL_PROTO_PIC);
        RtnlRule lookup = fwmark_rule(1002, 0x78, 100, RTNL_PROTO_PIC);
        RtnlRoute blackhole = {
                .family = AF_INET,
                .dst_prefixlen = 24,
                .dst.ip4 = ip4("10.91.0.0"),
                .table = 100,
                .type = RTN_BLACKHOLE,
                .protocol = RTNL_PROTO_PIC,
        };

        SKIP_UNLESS_OWN_NETNS();
        if (!test_kind)
                skip_here(); /* on lo the whole prefix is local: the local rule wins */

        unreachable.action = FR_ACT_UNREACHABLE;
        prohibit.action = FR_ACT_PROHIBIT;

        assert_int_equal(udp_connect(NULL, 0, "10.91.0.2"), 0);
        assert_int_equal(udp_connect(NULL, 0x77, "10.91.0.2"), 0);
        assert_int_equal(udp_connect("10.91.0.9", 0, "10.91.0.2"), 0);

        assert_int_equal(rtnl_rule_add(&unreachable), 0);
        assert_int_equal(rtnl_rule_add(&prohibit), 0);
        assert_int_equal(rtnl_route_add(&blackhole), 0);
        assert_int_equal(rtnl_rule_add(&lookup), 0);

        assert_int_equal(udp_connect(NULL, 0, "10.91.0.2"), 0);
        assert_int_equal(udp_connect(NULL, 0x77, "10.91.0.2"), -ENETUNREACH);
        assert_int_equal(udp_connect("10.91.0.9", 0, "10.91.0.2"), -EACCES);
        assert_int_equal(udp_connect("10.91.0.1", 0, "10.91.0.2"), 0);
        assert_int_equal(udp_connect(NULL, 0x78, "10.91.0.2"), -EINVAL); /* table 100's blackhole */

        /* Sync to nothing: the same lookups pass again. */
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0), 1);
        assert_int_equal(udp_connect(NULL, 0x77, "10.91.0.2"), 0);
        assert_int_equal(udp_connect("10.91.0.9", 0, "10.91.0.2"), 0);
        assert_int_equal(udp_connect(NULL, 0x78, "10.91.0.2"), 0);
        assert_int_equal(rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, NULL, 0), 1);
}

static void test_rule_ipv6(void **state) {
        RtnlRule want[] = {
                { .family = AF_INET6, .priority = 1000, .table = 100, .has_fwmark = true, .fwmark = 0x100 },
                { .family = AF_INET6, .priority = 1001, .table = 1000, .src_prefixlen = 48, .src.ip6 = ip6("fd00:90::") },
        };

        SKIP_UNLESS_OWN_NETNS();
        if (!have_ipv6)
                skip_here();

        assert_int_equal(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 1);
        assert_int_equal(count_protocol(AF_INET6, RTNL_PROTO_PIC), 2);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 0);
        assert_true(ip_rule_shows(AF_INET6, (const char *[]) { "1001:", "from fd00:90::/48", "lookup 1000", NULL }));
        assert_int_equal(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), 0);
        want[1].src.ip6 = ip6("fd00:90::1");
        assert_int_equal(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, want, ELEMENTSOF(want)), -EINVAL);
        assert_int_equal(rtnl_rule_sync(AF_INET6, RTNL_PROTO_PIC, NULL, 0), 1);
        assert_int_equal(count_protocol(AF_INET6, RTNL_PROTO_PIC), 0);
        assert_int_equal(count_default_rules(AF_INET6), 2); /* IPv6 has no "default" table rule */
}

static double elapsed(const struct timespec *start) {
        struct timespec now;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
        return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* How long many rules take, one rtnl_rule_add() (one socket, one ACK) each and
 * in one sync. PIC_RTNL_BENCH_N overrides the count (default 10000). */
static void test_rule_scale(void **state) {
        _cleanup_(freep) RtnlRule *want = NULL;
        const char *e = getenv("PIC_RTNL_BENCH_N");
        size_t n = e ? strtoul(e, NULL, 10) : 10000;
        struct timespec start;
        double t_add, t_list, t_sync_empty, t_sync_full, t_sync_noop;
        _cleanup_(freep) RtnlRule *list = NULL;
        size_t m = 0;

        SKIP_UNLESS_OWN_NETNS();
        if (n == 0)
                skip_here();

        want = calloc(n, sizeof *want);
        assert_non_null(want);
        for (size_t i = 0; i < n; i++)
                want[i] = fwmark_rule(10000 + i, 0x10000 + i, 1000 + i % 50, RTNL_PROTO_PIC);

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(rtnl_rule_add(want + i), 0);
        t_add = elapsed(&start);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_rule_list(AF_INET, &list, &m), 0);
        t_list = elapsed(&start);
        assert_int_equal(m, n + 3);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, want, n), 0);
        t_sync_noop = elapsed(&start);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0), 1);
        t_sync_empty = elapsed(&start);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), 0);

        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, want, n), 1);
        t_sync_full = elapsed(&start);
        assert_int_equal(count_protocol(AF_INET, RTNL_PROTO_PIC), n);

        print_message("# %zu rules: add one by one %.3f s (%.1f us each), list %.3f s, "
                      "sync no-op %.3f s, sync all away %.3f s, sync all in %.3f s\n",
                      n, t_add, t_add * 1e6 / n, t_list, t_sync_noop, t_sync_empty, t_sync_full);

        assert_int_equal(rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, NULL, 0), 1);
}

/* Picks a kind this kernel can create: dummy is the natural choice, but some
 * kernels lack it; ifb and bridge need no peer or options either. */
static const char *find_creatable_kind(void) {
        static const char *const kinds[] = { "dummy", "ifb", "bridge" };
        char name[IFNAMSIZ];

        snprintf(name, sizeof name, "picrq%u", (unsigned) getpid() % 10000000u);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                int r = rtnl_link_create(name, kinds[i]);
                if (r == 0) {
                        assert_int_equal(rtnl_link_delete(name), 0);
                        return kinds[i];
                }
        }
        return NULL;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rule_add_list_delete, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_actions_and_masks, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_errors, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_sync, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_sync_loose_delete, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_applies, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_ipv6, link_setup, link_teardown),
                cmocka_unit_test_setup_teardown(test_rule_scale, link_setup, link_teardown),
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
