/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns-hosts.h"
#include "dnsmasq.h"
#include "fileio.h"
#include "macro.h"
#include "strv.h"

#define ADDR(a, b, c, d) (((uint32_t) (a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static void test_hosts_text(void **state) {
        DnsHostsText t = {};
        const char *cell[] = { "home.home.lan", "home.lan", NULL };
        const char *peer[] = { "laptop.home.lan", NULL };
        (void) state;

        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 1), cell), 0);
        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 2), peer), 0);
        assert_string_equal(t.data, "10.64.0.1 home.home.lan home.lan\n10.64.0.2 laptop.home.lan\n");

        /* a name that would add a field or a line is refused, and nothing of it is kept */
        const char *injected[] = { "ok.lan", "evil.lan\n10.0.0.1 bank.com", NULL };
        const char *spaced[] = { "a b", NULL };
        const char *none[] = { NULL };
        const char *leading_dot[] = { ".lan", NULL };
        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 3), injected), -EINVAL);
        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 3), spaced), -EINVAL);
        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 3), none), -EINVAL);
        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 3), leading_dot), -EINVAL);
        assert_string_equal(t.data, "10.64.0.1 home.home.lan home.lan\n10.64.0.2 laptop.home.lan\n");

        char long_name[300];
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        const char *too_long[] = { long_name, NULL };
        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 3), too_long), -EINVAL);
        dns_hosts_text_done(&t);
}

static void test_hosts_files(void **state) {
        char dir[] = "/tmp/pic-test-dns-XXXXXX";
        DnsHostsText t = {};
        const char *peer[] = { "laptop.home.lan", NULL };
        char *content = NULL;
        size_t size;
        (void) state;

        assert_non_null(mkdtemp(dir));
        _cleanup_(closep) int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_int_equal(dns_hosts_text_add(&t, ADDR(10, 64, 0, 2), peer), 0);
        assert_int_equal(dns_hosts_put(fd, "peer-laptop", &t), 0);
        assert_int_equal(dns_hosts_put(fd, "cell", &t), 0);
        assert_int_equal(read_file_at(fd, "peer-laptop", 4096, &content, &size), 0);
        assert_string_equal(content, "10.64.0.2 laptop.home.lan\n");
        free(content);

        /* file names are checked like the text: no path, no hidden file */
        assert_int_equal(dns_hosts_put(fd, "../escape", &t), -EINVAL);
        assert_int_equal(dns_hosts_put(fd, ".hidden", &t), -EINVAL);
        assert_int_equal(dns_hosts_put(fd, "", &t), -EINVAL);

        assert_int_equal(dns_hosts_remove(fd, "peer-laptop"), 0);
        assert_int_equal(dns_hosts_remove(fd, "peer-laptop"), 0); /* already gone: fine */
        assert_int_equal(faccessat(fd, "peer-laptop", F_OK, 0), -1);

        assert_int_equal(dns_hosts_put(fd, "peer-a", &t), 0);
        assert_int_equal(dns_hosts_put(fd, "peer-b", &t), 0);
        char *keep[] = { "cell", "peer-b", NULL };
        assert_int_equal(dns_hosts_prune(fd, keep), 1);
        assert_int_equal(faccessat(fd, "peer-a", F_OK, 0), -1);
        assert_int_equal(faccessat(fd, "peer-b", F_OK, 0), 0);
        assert_int_equal(dns_hosts_prune(fd, NULL), 2);
        assert_int_equal(rmdir(dir), 0);
        dns_hosts_text_done(&t);
}

static void test_argv(void **state) {
        DnsmasqCommand c = {
                .binary = "/usr/sbin/dnsmasq",
                .bus_name = "org.pic.Cell1.Dns",
                .hosts_dir = "/run/pic-dns",
                .interface = "pic0",
        };
        char **argv = NULL;
        (void) state;

        assert_int_equal(dnsmasq_argv(&c, &argv), 0);
        assert_string_equal(argv[0], "/usr/sbin/dnsmasq");
        assert_true(strv_contains(argv, "--enable-dbus=org.pic.Cell1.Dns"));
        assert_true(strv_contains(argv, "--hostsdir=/run/pic-dns"));
        assert_true(strv_contains(argv, "--interface=pic0"));
        assert_true(strv_contains(argv, "--conf-file=/dev/null"));
        assert_true(strv_contains(argv, "--no-resolv"));
        assert_true(strv_contains(argv, "--no-hosts"));
        argv = strv_free(argv);

        c.hosts_dir = "relative";
        assert_int_equal(dnsmasq_argv(&c, &argv), -EINVAL);
        c.hosts_dir = "/with space";
        assert_int_equal(dnsmasq_argv(&c, &argv), -EINVAL);
        c.hosts_dir = "/run/pic-dns";
        c.bus_name = "uk.org.thekelleys.dnsmasq --conf-file=/etc/x";
        assert_int_equal(dnsmasq_argv(&c, &argv), -EINVAL);
        c.bus_name = "org.pic.Cell1.Dns";
        c.interface = "averyveryverylongname";
        assert_int_equal(dnsmasq_argv(&c, &argv), -EINVAL);
        assert_null(argv);
}

static void test_servers(void **state) {
        char *upstreams[] = { "192.0.2.53", "2001:db8::53#5353", NULL };
        DnsForward forwards[] = { { "cellb.lan", "10.0.1.1" } };
        char **l = NULL;
        (void) state;

        assert_int_equal(dns_server_check("192.0.2.1"), 0);
        assert_int_equal(dns_server_check("192.0.2.1#53"), 0);
        assert_int_equal(dns_server_check("::1"), 0);
        assert_int_equal(dns_server_check("192.0.2.1#0"), -EINVAL);
        assert_int_equal(dns_server_check("192.0.2.1#65536"), -EINVAL);
        assert_int_equal(dns_server_check("192.0.2.1#"), -EINVAL);
        assert_int_equal(dns_server_check("dns.example"), -EINVAL);
        assert_int_equal(dns_server_check("/evil.lan/1.2.3.4"), -EINVAL);
        assert_int_equal(dns_server_check(""), -EINVAL);

        assert_int_equal(dnsmasq_server_list("home.lan", upstreams, forwards, 1, &l), 0);
        assert_int_equal(strv_length(l), 4);
        assert_string_equal(l[0], "/home.lan/");
        assert_string_equal(l[1], "/cellb.lan/10.0.1.1");
        assert_string_equal(l[2], "192.0.2.53");
        assert_string_equal(l[3], "2001:db8::53#5353");
        l = strv_free(l);

        assert_int_equal(dnsmasq_server_list(NULL, NULL, NULL, 0, &l), 0);
        assert_non_null(l);
        assert_int_equal(strv_length(l), 0);
        l = strv_free(l);

        char *bad[] = { "1.2.3.4", "/x/", NULL };
        assert_int_equal(dnsmasq_server_list("home.lan", bad, NULL, 0, &l), -EINVAL);
        DnsForward bad_forward[] = { { "bad domain", "10.0.1.1" } };
        assert_int_equal(dnsmasq_server_list("home.lan", NULL, bad_forward, 1, &l), -EINVAL);
        assert_null(l);
}

static void test_resolv_conf(void **state) {
        char path[] = "/tmp/pic-test-resolv-XXXXXX";
        char **l = NULL;
        int fd = mkstemp(path);
        (void) state;

        assert_true(fd >= 0);
        const char *text = "# comment\nsearch lan\nnameserver 192.0.2.1\nnameserver  2001:db8::1 # v6\n"
                           "nameserver bogus\nnameserver 192.0.2.1\nnameservers 192.0.2.9\n";
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        assert_int_equal(resolv_conf_servers(path, &l), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], "192.0.2.1");
        assert_string_equal(l[1], "2001:db8::1");
        l = strv_free(l);
        unlink(path);
        assert_int_equal(resolv_conf_servers(path, &l), 0);
        assert_int_equal(strv_length(l), 0);
        l = strv_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hosts_text),
                cmocka_unit_test(test_hosts_files),
                cmocka_unit_test(test_argv),
                cmocka_unit_test(test_servers),
                cmocka_unit_test(test_resolv_conf),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
