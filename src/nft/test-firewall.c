/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs in a network namespace of its own (unshare(CLONE_NEWNET) at start), so
 * the host's ruleset is never seen. nft(8) is used here, in children, only to
 * look from the outside and to play the other users of nftables. */
#define _GNU_SOURCE 1 /* unshare() */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
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
#include "nft/firewall.h"

static bool in_own_netns;

#define SKIP_UNLESS_OWN_NETNS() do { if (!in_own_netns) skip_here(); } while (0)

/* Runs nft with args (NULL-terminated); returns its exit status, output in *ret_out if given.
 * quiet: its complaints are expected (deleting what may not exist). */
static int nft_run(bool quiet, char **ret_out, ...) {
        const char *argv[16] = { "nft" };
        size_t n = 1, size = 0;
        int pipefd[2], status;
        char *out = NULL;
        FILE *mem;
        va_list ap;
        pid_t pid;

        va_start(ap, ret_out);
        for (const char *a; (a = va_arg(ap, const char *)) && n < ELEMENTSOF(argv) - 1;)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                if (quiet) {
                        int null = open("/dev/null", O_WRONLY);
                        dup2(null, STDERR_FILENO);
                }
                execvp("nft", (char **) argv);
                _exit(127);
        }
        close(pipefd[1]);

        mem = open_memstream(&out, &size);
        assert_non_null(mem);
        char buf[4096];
        ssize_t k;
        while ((k = read(pipefd[0], buf, sizeof buf)) > 0)
                fwrite(buf, 1, k, mem);
        close(pipefd[0]);
        fclose(mem);
        assert_int_equal(waitpid(pid, &status, 0), pid);

        if (ret_out)
                *ret_out = out;
        else
                free(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define nft(ret_out, ...) nft_run(false, (ret_out), __VA_ARGS__)
#define nft_quiet(...) nft_run(true, NULL, __VA_ARGS__)

static char *dump(Firewall *f) {
        char *text = NULL;
        assert_int_equal(firewall_dump(f, &text), 0);
        assert_non_null(text);
        return text;
}

static size_t count_lines_starting(const char *text, const char *prefix) {
        size_t n = 0, l = strlen(prefix);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, prefix, l) == 0)
                        n++;
        return n;
}

/* The text without lines starting with prefix. */
static char *without_lines(const char *text, const char *prefix) {
        char *out = calloc(1, strlen(text) + 1), *o = out;
        size_t l = strlen(prefix);

        assert_non_null(out);
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p + 1) : strlen(p);

                if (strncmp(p, prefix, l) != 0) {
                        memcpy(o, p, len);
                        o += len;
                }
                p += len;
        }
        return out;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const FirewallService overrides[] = {
        { .name = "dns", .address = 0x0a630035 /* 10.99.0.53 */, .ports = { { IPPROTO_UDP, 53 }, { IPPROTO_TCP, 53 } }, .n_ports = 2 },
        { .name = "web", .address = 0x0a630050 /* 10.99.0.80 */, .ports = { { IPPROTO_TCP, 80 }, { IPPROTO_TCP, 443 } }, .n_ports = 2 },
        { .name = "files", .address = 0x0a630002 /* 10.99.0.2 */, .ports = { { IPPROTO_TCP, 445 } }, .n_ports = 1 },
};

static Firewall *new_firewall(bool uplink) {
        FirewallConfig c = {
                .wg_ifname = "wgtest0",
                .uplink_ifname = uplink ? "uplink0" : NULL,
                .vpn_address = 0x0a0a0001, /* 10.10.0.1 */
                .vpn_subnet = { 0x0a0a0000, 24 },
                .services = overrides,
                .n_services = ELEMENTSOF(overrides),
        };
        Firewall *f = NULL;

        assert_int_equal(firewall_new(&f, &c), 0);
        return f;
}

static void delete_table(void) {
        (void) nft_quiet("delete", "table", "inet", "pic", NULL);
}

static char *files_mail[] = { "files", "mail", NULL };
static char *files[] = { "files", NULL };
static char *mail[] = { "mail", NULL };
static char *web_dns[] = { "web", "dns", NULL };

static char *internet[] = { "internet", NULL };
static char *lan_peers[] = { "lan", "peers", NULL };

static const FirewallPeer two_peers[] = {
        { .address = 0x0a0a0002, .services = files, .networks = internet },    /* 10.10.0.2 */
        { .address = 0x0a0a0003, .services = web_dns, .networks = lan_peers }, /* 10.10.0.3 */
};

static void test_service_names(void **state) {
        const char *const *names = firewall_service_names();
        size_t n = 0;

        for (; names[n]; n++)
                assert_true(firewall_service_known(names[n]));
        assert_int_equal(n, 6);
        assert_false(firewall_service_known("ssh"));
        assert_false(firewall_service_known(NULL));
}

static void test_new_refuses_bad_config(void **state) {
        FirewallService bogus = { .name = "ssh", .ports = { { IPPROTO_TCP, 22 } }, .n_ports = 1 };
        FirewallService no_ports = { .name = "files" };
        FirewallConfig c = { .wg_ifname = "wg0", .vpn_subnet = { 0x0a0a0000, 24 } };
        Firewall *f = NULL;

        c.services = &bogus;
        c.n_services = 1;
        assert_int_equal(firewall_new(&f, &c), -EINVAL);
        c.services = &no_ports;
        assert_int_equal(firewall_new(&f, &c), -EINVAL);
        c.n_services = 0;
        c.wg_ifname = "";
        assert_int_equal(firewall_new(&f, &c), -EINVAL);
        c.wg_ifname = "a-name-far-too-long-for-an-interface";
        assert_int_equal(firewall_new(&f, &c), -EINVAL);
        assert_null(f);

        /* Defaults without overrides: served on the VPN address. */
        c.wg_ifname = "wg0";
        c.vpn_address = 0x0a0a0001;
        assert_int_equal(firewall_new(&f, &c), 0);
        assert_int_equal(firewall_get_service(f, "mail")->address, 0x0a0a0001);
        assert_null(firewall_get_service(f, "ssh"));
        firewall_free(f);
}

static void test_apply_builds_table(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) char *text = NULL, *listing = NULL;

        SKIP_UNLESS_OWN_NETNS();
        delete_table();
        f = new_firewall(true);
        assert_int_equal(firewall_table_exists(f), 0);
        assert_int_equal(firewall_dump(f, &text), -ENOENT);

        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        assert_int_equal(firewall_table_exists(f), 1);
        text = dump(f);

        /* Chains, in order, with their hooks */
        assert_non_null(strstr(text, "chain prerouting { type nat hook prerouting priority -100; policy accept;"));
        assert_non_null(strstr(text, "chain input { type filter hook input priority 0; policy accept;"));
        assert_non_null(strstr(text, "chain forward { type filter hook forward priority 0; policy accept;"));
        assert_non_null(strstr(text, "chain postrouting { type nat hook postrouting priority 100; policy accept;"));
        assert_non_null(strstr(text, "chain steer { type filter hook prerouting priority -90; policy accept;"));
        assert_int_equal(count_lines_starting(text, "chain "), 5);
        /* 4 DNAT (dns 2, web 2) + 8 steer (exit resolvers, VPN subnet, 5 LAN networks, the mark)
         * + 7 input (5, TCP-only exits' ports, the drop) + 21 forward (kill-switch, exit resolvers, 5 + peers 2
         * + 5 LAN networks × 2 + internet 2) + 2 masquerade (exits, uplink) */
        assert_int_equal(count_lines_starting(text, "\trule "), 42);

        /* Sets and elements: service endpoints resolve to the configured addresses */
        assert_non_null(strstr(text, "set service_endpoints { type ipv4_addr . inet_proto . inet_service;"));
        assert_non_null(strstr(text, "set peer_access { type ipv4_addr . ipv4_addr . inet_proto . inet_service;"));
        assert_non_null(strstr(text, "\t10.99.0.2 . tcp . 445\n"));
        assert_non_null(strstr(text, "\t10.10.0.1 . tcp . 993\n")); /* mail: default, on the VPN address */
        assert_non_null(strstr(text, "\t10.10.0.2 . 10.99.0.2 . tcp . 445\n"));
        assert_non_null(strstr(text, "\t10.10.0.3 . 10.99.0.53 . udp . 53\n"));
        assert_non_null(strstr(text, "\t10.10.0.3 . 10.99.0.80 . tcp . 443\n"));
        assert_non_null(strstr(text, "set peer_grants { type ipv4_addr . mark;"));
        assert_non_null(strstr(text, "\t10.10.0.2 . 0x00000001\n")); /* internet */
        assert_non_null(strstr(text, "\t10.10.0.3 . 0x00000002\n")); /* lan */
        assert_non_null(strstr(text, "\t10.10.0.3 . 0x00000003\n")); /* peers */
        assert_int_equal(count_lines_starting(text, "\t10.10.0.2 . "), 2);
        assert_int_equal(count_lines_starting(text, "\t10.10.0.3 . "), 6);
        /* what no rule above lets through is dropped, in both chains */
        assert_non_null(strstr(text, "the cell host's other ports are closed to peers"));
        assert_non_null(strstr(text, "the LAN 192.168.0.0/16: no one else"));
        assert_non_null(strstr(text, "the internet: no one else"));
        assert_non_null(strstr(text, "[ nat dnat ip addr_min reg 1"));
        assert_non_null(strstr(text, "[ masq ]"));

        /* nft(8) reads the same table and understands it */
        assert_int_equal(nft(&listing, "list", "table", "inet", "pic", NULL), 0);
        assert_non_null(strstr(listing, "iifname \"wgtest0\" ip saddr . ip daddr . meta l4proto . th dport @peer_access accept"));
        assert_non_null(strstr(listing, "iifname \"wgtest0\" ip daddr . meta l4proto . th dport @service_endpoints drop"));
        assert_non_null(strstr(listing, "iifname \"wgtest0\" ip daddr 10.10.0.1 udp dport 53 dnat ip to 10.99.0.53"));
        assert_non_null(strstr(listing, "iifname \"wgtest0\" ip daddr 10.10.0.1 tcp dport 443 dnat ip to 10.99.0.80"));
        assert_non_null(strstr(listing, "oifname \"uplink0\" ip saddr 10.10.0.0/24 masquerade"));
        assert_non_null(strstr(listing, "ct state established,related accept"));

        /* Applying again replaces, it does not add up */
        free(text);
        assert_int_equal(firewall_apply(f, two_peers, 1), 0);
        text = dump(f);
        assert_int_equal(count_lines_starting(text, "\trule "), 42);
        assert_int_equal(count_lines_starting(text, "\t10.10.0.3 . "), 0);
}

static void test_no_uplink_no_masquerade(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) char *text = NULL;

        SKIP_UNLESS_OWN_NETNS();
        f = new_firewall(false);
        assert_int_equal(firewall_apply(f, NULL, 0), 0);
        text = dump(f);
        /* the exits' masquerade only: nothing of the VPN subnet's */
        assert_null(strstr(text, "leave through"));
        assert_int_equal(count_lines_starting(text, "\trule "), 41);
        assert_non_null(strstr(text, "set peer_access { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags 0x80; handle 2; 0 elements }"));
}

static FirewallPeer *many_peers(size_t n) {
        static char *all[] = { "dns", "web", "mail", "calendar", "files", "webdav", NULL };
        FirewallPeer *p = calloc(n, sizeof *p);

        assert_non_null(p);
        for (size_t i = 0; i < n; i++)
                p[i] = (FirewallPeer) { .address = 0x0a140000 + 2 + i, .services = i % 2 ? all : files_mail,
                                        .networks = internet };
        return p;
}

static void test_rules_do_not_grow_with_peers(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) FirewallPeer *small = NULL, *big = NULL;
        _cleanup_(freep) char *text_small = NULL, *text_big = NULL, *count = NULL;
        double t;

        SKIP_UNLESS_OWN_NETNS();
        f = new_firewall(true);
        small = many_peers(10);
        big = many_peers(10000);

        assert_int_equal(firewall_apply(f, small, 10), 0);
        text_small = dump(f);

        t = now();
        assert_int_equal(firewall_apply(f, big, 10000), 0);
        t = now() - t;
        text_big = dump(f);
        /* 5000 peers with files+mail (6 elements), 5000 with everything (12), all with internet (1) */
        fprintf(stderr, "# firewall_apply with 10000 peers (%zu elements) in one transaction: %.3f s\n",
                count_lines_starting(text_big, "\t10.20."), t);

        assert_int_equal(count_lines_starting(text_small, "\trule "), 42);
        assert_int_equal(count_lines_starting(text_big, "\trule "), 42);
        assert_int_equal(count_lines_starting(text_small, "\t10.20."), 5 * 6 + 5 * 12 + 10);
        assert_int_equal(count_lines_starting(text_big, "\t10.20."), 5000 * 6 + 5000 * 12 + 10000);

        /* nft(8) agrees on the rule count */
        assert_int_equal(nft(&count, "-a", "list", "chain", "inet", "pic", "forward", NULL), 0);
        assert_int_equal(count_lines_starting(count, "\t\t"), 21 + 1 /* the type line */);
}

static void test_set_peer_access_touches_only_that_peer(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) char *before = NULL, *after = NULL, *rest_before = NULL, *rest_after = NULL;
        char *bogus[] = { "files", "ssh", NULL };

        SKIP_UNLESS_OWN_NETNS();
        f = new_firewall(true);
        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        before = dump(f);

        /* 10.10.0.2: files → mail */
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files, mail), 0);
        after = dump(f);
        assert_null(strstr(after, "\t10.10.0.2 . 10.99.0.2 . tcp . 445\n"));
        assert_non_null(strstr(after, "\t10.10.0.2 . 10.10.0.1 . tcp . 25\n"));
        assert_non_null(strstr(after, "\t10.10.0.2 . 10.10.0.1 . tcp . 993\n"));
        assert_non_null(strstr(after, "\t10.10.0.2 . 0x00000001\n")); /* its internet grant stays */
        assert_int_equal(count_lines_starting(after, "\t10.10.0.2 . "), 6);

        /* Everything else, handles included, is as it was: only elements changed. */
        rest_before = without_lines(before, "\t10.10.0.2 . ");
        rest_after = without_lines(after, "\t10.10.0.2 . ");
        /* the element count in the set header differs; compare beyond it */
        assert_string_equal(strstr(rest_before, "chain "), strstr(rest_after, "chain "));
        assert_int_equal(count_lines_starting(before, "\t10.10.0.3 . "), count_lines_starting(after, "\t10.10.0.3 . "));

        /* A stale view of the old access still ends with exactly the new one; twice, so
         * that the second time removes elements that are already gone. */
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files_mail, files), 0);
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files_mail, files), 0);
        free(after);
        after = dump(f);
        assert_int_equal(count_lines_starting(after, "\t10.10.0.2 . "), 2); /* files and the internet grant */
        assert_non_null(strstr(after, "\t10.10.0.2 . 10.99.0.2 . tcp . 445\n"));

        /* Unknown names are refused before anything is sent */
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files, bogus), -EINVAL);
        FirewallPeer p = { .address = 0x0a0a0009, .services = bogus };
        assert_int_equal(firewall_apply(f, &p, 1), -EINVAL);
        free(before);
        before = dump(f);
        assert_string_equal(before, after);

        /* Remove its services, then its grants; the other peer keeps everything */
        assert_int_equal(firewall_remove_peer(f, 0x0a0a0002, files), 0);
        free(after);
        after = dump(f);
        assert_int_equal(count_lines_starting(after, "\t10.10.0.2 . "), 1);
        FirewallPeer gone = { .address = 0x0a0a0002, .networks = internet };
        assert_int_equal(firewall_change_peer(f, &gone, NULL), 0);
        free(after);
        after = dump(f);
        assert_int_equal(count_lines_starting(after, "\t10.10.0.2 . "), 0);
        assert_int_equal(count_lines_starting(after, "\t10.10.0.3 . "), 6);

        /* A peer that moves takes its services and grants along, in one transaction */
        FirewallPeer from = { .address = 0x0a0a0003, .services = web_dns, .networks = lan_peers },
                     to = { .address = 0x0a0a0004, .services = web_dns, .networks = internet };
        assert_int_equal(firewall_change_peer(f, &from, &to), 0);
        free(after);
        after = dump(f);
        assert_int_equal(count_lines_starting(after, "\t10.10.0.3 . "), 0);
        assert_int_equal(count_lines_starting(after, "\t10.10.0.4 . "), 5);
        assert_non_null(strstr(after, "\t10.10.0.4 . 0x00000001\n"));
        char *bad_network[] = { "moon", NULL };
        to.networks = bad_network;
        assert_int_equal(firewall_change_peer(f, NULL, &to), -EINVAL);

        /* Without our table there is nothing to change */
        delete_table();
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, NULL, files), -ENOENT);
}

static void test_failed_batch_changes_nothing(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) FirewallPeer *peers = NULL;
        _cleanup_(freep) char *before = NULL, *after = NULL;
        int r;

        SKIP_UNLESS_OWN_NETNS();
        f = new_firewall(true);

        /* No table before: a failed first apply leaves none */
        delete_table();
        firewall_test_inject_failure(f, true);
        r = firewall_apply(f, two_peers, ELEMENTSOF(two_peers));
        assert_int_equal(r, -EINVAL);
        assert_int_equal(firewall_table_exists(f), 0);

        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        before = dump(f);

        /* A whole rebuild with other peers, refused at its last message */
        peers = many_peers(100);
        firewall_test_inject_failure(f, true);
        assert_int_equal(firewall_apply(f, peers, 100), -EINVAL);
        after = dump(f);
        assert_string_equal(before, after);

        /* A peer change, refused */
        free(after);
        firewall_test_inject_failure(f, true);
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files, mail), -EINVAL);
        after = dump(f);
        assert_string_equal(before, after);

        /* The hook is one-shot: the same change now goes through */
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files, mail), 0);
        free(after);
        after = dump(f);
        assert_string_not_equal(before, after);
}

static void test_foreign_table_survives(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) char *other_before = NULL;

        SKIP_UNLESS_OWN_NETNS();
        (void) nft_quiet("delete", "table", "inet", "other", NULL);
        assert_int_equal(nft(NULL, "add", "table", "inet", "other", NULL), 0);
        assert_int_equal(nft(NULL, "add", "chain", "inet", "other", "fw",
                             "{ type filter hook forward priority 10; policy accept; }", NULL), 0);
        assert_int_equal(nft(NULL, "add", "set", "inet", "other", "s", "{ type ipv4_addr; elements = { 10.1.1.1 } }", NULL), 0);
        assert_int_equal(nft(NULL, "add", "rule", "inet", "other", "fw", "ip daddr @s counter drop", NULL), 0);
        /* a table called pic in another family is not ours either */
        assert_int_equal(nft(NULL, "add", "table", "ip", "pic", NULL), 0);
        assert_int_equal(nft(&other_before, "list", "tables", NULL), 0);
        free(other_before);
        assert_int_equal(nft(&other_before, "-a", "list", "table", "inet", "other", NULL), 0);

#define CHECK_OTHER() do {                                                              \
                _cleanup_(freep) char *now_ = NULL;                                     \
                assert_int_equal(nft(&now_, "-a", "list", "table", "inet", "other", NULL), 0); \
                assert_string_equal(other_before, now_);                                \
                assert_int_equal(nft(NULL, "list", "table", "ip", "pic", NULL), 0);     \
        } while (0)

        f = new_firewall(true);
        delete_table();
        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        CHECK_OTHER();
        assert_int_equal(firewall_apply(f, two_peers, 1), 0);
        CHECK_OTHER();
        assert_int_equal(firewall_set_peer_access(f, 0x0a0a0002, files, files_mail), 0);
        CHECK_OTHER();
        assert_int_equal(firewall_remove_peer(f, 0x0a0a0002, files_mail), 0);
        CHECK_OTHER();
        firewall_test_inject_failure(f, true);
        assert_true(firewall_apply(f, two_peers, 2) < 0);
        CHECK_OTHER();
        _cleanup_(freep) char *text = dump(f);
        assert_null(strstr(text, "10.1.1.1"));
        assert_null(strstr(text, "fw"));

        (void) nft_quiet("delete", "table", "inet", "other", NULL);
        (void) nft_quiet("delete", "table", "ip", "pic", NULL);
}

/* Waits up to a second for the monitor to report; returns whether the table is gone. */
static bool monitor_wait(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        bool gone = false;
        double deadline = now() + 1.0;

        while (now() < deadline) {
                int r = poll(&p, 1, 100);
                assert_true(r >= 0);
                if (r == 0)
                        continue;
                assert_int_equal(firewall_monitor_process(fd, &gone), 0);
                if (gone)
                        return true;
        }
        return false;
}

static void test_monitor_sees_removal(void **state) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(closep) int fd = -EBADF;
        bool gone = true;

        SKIP_UNLESS_OWN_NETNS();
        f = new_firewall(true);
        assert_int_equal(firewall_open_monitor(&fd), 0);

        /* Our own rebuild deletes and recreates the table: not "gone" */
        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        assert_false(monitor_wait(fd));
        assert_int_equal(firewall_monitor_process(fd, &gone), 0);
        assert_false(gone);

        /* Somebody else's table coming and going is not our business */
        assert_int_equal(nft(NULL, "add", "table", "inet", "other2", NULL), 0);
        assert_int_equal(nft(NULL, "delete", "table", "inet", "other2", NULL), 0);
        assert_false(monitor_wait(fd));

        assert_int_equal(nft(NULL, "delete", "table", "inet", "pic", NULL), 0);
        assert_true(monitor_wait(fd));

        /* Rebuild, then the big hammer */
        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        assert_false(monitor_wait(fd));
        assert_int_equal(nft(NULL, "flush", "ruleset", NULL), 0);
        assert_true(monitor_wait(fd));
        assert_int_equal(firewall_table_exists(f), 0);
        assert_int_equal(firewall_apply(f, two_peers, ELEMENTSOF(two_peers)), 0);
        assert_int_equal(firewall_table_exists(f), 1);
}

/* What is shared with linked cells: one range element per linked subnet and
 * shared endpoint, one rule per chain, however many links. */
static void test_links_share_services(void **state) {
        static char *web_only[] = { "web", NULL }, *bogus[] = { "telnet", NULL };
        const FirewallLink links[] = {
                { .subnet = { 0x0a1e0000, 24 }, .services = web_only },   /* 10.30.0.0/24: web */
                { .subnet = { 0x0a280000, 16 }, .services = NULL },       /* 10.40.0.0/16: nothing */
        };
        FirewallConfig c = {
                .wg_ifname = "wgtest0", .vpn_address = 0x0a0a0001, .vpn_subnet = { 0x0a0a0000, 24 },
                .services = overrides, .n_services = ELEMENTSOF(overrides), .links = links, .n_links = 2,
        };
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) char *listing = NULL;
        Firewall *bad = NULL;

        FirewallLink wrong = { .subnet = { 0x0a1e0000, 24 }, .services = bogus };
        FirewallConfig cw = c;
        cw.links = &wrong;
        cw.n_links = 1;
        assert_int_equal(firewall_new(&bad, &cw), -EINVAL);

        SKIP_UNLESS_OWN_NETNS();
        assert_int_equal(firewall_new(&f, &c), 0);
        assert_int_equal(firewall_apply(f, NULL, 0), 0);
        assert_int_equal(nft(&listing, "list", "table", "inet", "pic", NULL), 0);
        assert_non_null(strstr(listing, "ip saddr . ip daddr . meta l4proto . th dport @link_access accept"));
        /* web is 80 and 443 on its service address (overridden to 10.99.0.80) */
        assert_non_null(strstr(listing, "10.30.0.0/24 . 10.99.0.80 . tcp . 80"));
        assert_non_null(strstr(listing, "10.30.0.0/24 . 10.99.0.80 . tcp . 443"));
        assert_null(strstr(listing, "10.40.0.0/16 . ")); /* in no element: only its bypass of the exits */
        delete_table();
}

/* Exits: a peer's mark by map, the kill-switch's paths opened and closed one
 * element at a time, a peer moved between exits, bad exits refused. */
static void test_exits(void **state) {
        FirewallExit exits[] = {
                { .mark = FIREWALL_EXIT_MARK_BASE | 1, .ifname = "exit1", .dns = { 0x0a400001 /* 10.64.0.1 */ }, .n_dns = 1 },
                { .mark = FIREWALL_EXIT_MARK_BASE | 2, .ifname = "exit2", .up = true },
                { .mark = FIREWALL_EXIT_MARK_BASE | 3, .tcp_port = 9040, .dns_port = 9053, .up = true }, /* tor */
        };
        FirewallConfig c = {
                .wg_ifname = "wgtest0", .uplink_ifname = "uplink0", .vpn_address = 0x0a0a0001,
                .vpn_subnet = { 0x0a0a0000, 24 }, .exits = exits, .n_exits = ELEMENTSOF(exits),
        };
        FirewallPeer peers[] = {
                { .address = 0x0a0a0002, .networks = internet, .exit_mark = exits[0].mark, .exit_dns = 0x0a400001 },
                { .address = 0x0a0a0003, .networks = internet },
                { .address = 0x0a0a0004, .networks = internet, .exit_mark = exits[2].mark, .exit_tcp_port = 9040,
                  .exit_dns_port = 9053 },
        };
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(freep) char *listing = NULL, *after = NULL, *moved = NULL;
        Firewall *bad = NULL;

        FirewallExit wrong = exits[0];
        wrong.mark = 7; /* not in our range */
        FirewallConfig cw = c;
        cw.exits = &wrong;
        cw.n_exits = 1;
        assert_int_equal(firewall_new(&bad, &cw), -EINVAL);

        SKIP_UNLESS_OWN_NETNS();
        delete_table();
        assert_int_equal(firewall_new(&f, &c), 0);
        assert_int_equal(firewall_apply(f, peers, ELEMENTSOF(peers)), 0);
        assert_int_equal(nft(&listing, "list", "table", "inet", "pic", NULL), 0);
        assert_non_null(strstr(listing, "meta mark set ip saddr map @peer_exits"));
        assert_non_null(strstr(listing, "meta mark . oifname != @exit_paths drop"));
        if (!strstr(listing, "10.10.0.2 : 0x00a50001")) fprintf(stderr, "%s", listing);
        assert_non_null(strstr(listing, "10.10.0.2 : 0x00a50001"));
        assert_non_null(strstr(listing, "dnat ip to ip saddr map @peer_exit_dns"));
        assert_non_null(strstr(listing, "10.10.0.2 : 10.64.0.1"));
        assert_non_null(strstr(listing, "0x00a50002 . \"exit2\""));
        assert_null(strstr(listing, "0x00a50001 . \"exit1\"")); /* not up: closed */
        assert_non_null(strstr(listing, "iifname @exit_interfaces drop"));
        /* the TCP-only exit: TCP and DNS redirected to its ports, which are open while it is up */
        assert_non_null(strstr(listing, "redirect to :ip saddr map @peer_exit_tcp_ports"));
        assert_non_null(strstr(listing, "redirect to :ip saddr map @peer_exit_dns_ports"));
        assert_non_null(strstr(listing, "10.10.0.4 : 9040"));
        assert_non_null(strstr(listing, "0x00a50003 . 9053"));
        assert_non_null(strstr(listing, "jump steer_tcp"));
        assert_int_equal(firewall_set_exit_up(f, exits[2].mark, false), 0);
        _cleanup_(freep) char *closed = NULL;
        assert_int_equal(nft(&closed, "list", "set", "inet", "pic", "exit_local_paths", NULL), 0);
        assert_null(strstr(closed, "0x00a50003"));

        assert_int_equal(firewall_set_exit_up(f, exits[0].mark, true), 0);
        assert_int_equal(firewall_set_exit_up(f, exits[1].mark, false), 0);
        assert_int_equal(firewall_set_exit_up(f, FIREWALL_EXIT_MARK_BASE | 9, true), -ENOENT);
        assert_int_equal(nft(&after, "list", "set", "inet", "pic", "exit_paths", NULL), 0);
        assert_non_null(strstr(after, "0x00a50001 . \"exit1\""));
        assert_null(strstr(after, "exit2"));

        /* peer 2 onto exit 2, peer 1 off its exit: one batch each */
        FirewallPeer p2 = peers[1], p1 = peers[0];
        p2.exit_mark = exits[1].mark;
        p1.exit_mark = p1.exit_dns = 0;
        assert_int_equal(firewall_change_peer(f, &peers[1], &p2), 0);
        assert_int_equal(firewall_change_peer(f, &peers[0], &p1), 0);
        assert_int_equal(nft(&moved, "list", "map", "inet", "pic", "peer_exits", NULL), 0);
        assert_non_null(strstr(moved, "10.10.0.3 : 0x00a50002"));
        assert_null(strstr(moved, "10.10.0.2"));
        delete_table();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_service_names),
                cmocka_unit_test(test_new_refuses_bad_config),
                cmocka_unit_test(test_apply_builds_table),
                cmocka_unit_test(test_links_share_services),
                cmocka_unit_test(test_no_uplink_no_masquerade),
                cmocka_unit_test(test_rules_do_not_grow_with_peers),
                cmocka_unit_test(test_set_peer_access_touches_only_that_peer),
                cmocka_unit_test(test_failed_batch_changes_nothing),
                cmocka_unit_test(test_foreign_table_survives),
                cmocka_unit_test(test_monitor_sees_removal),
                cmocka_unit_test(test_exits),
        };

        if (unshare(CLONE_NEWNET) >= 0)
                in_own_netns = true;
        else if (errno == EPERM)
                fprintf(stderr, "# no permission for a network namespace: skipping\n");
        else {
                fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
                return EXIT_FAILURE;
        }

        return tests_result(cmocka_run_group_tests(tests, NULL, NULL));
}
