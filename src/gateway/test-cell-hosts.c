/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "cell-hosts.h"
#include "host-check.h"
#include "strv.h"

static void assert_hosts(char **l, const char *const *want) {
        size_t n = 0;
        for (; want[n]; n++)
                if (!strv_contains(l, want[n]))
                        fail_msg("%s is missing", want[n]);
        assert_int_equal(strv_length(l), n);
        strv_free(l);
}

static void test_cell_hosts(void **state) {
        assert_hosts(cell_hosts_of("home", "home.lan", "cell.example.org:51820"),
                     (const char *const[]) { "home.lan", "home.home.lan", "cell.example.org", NULL });
        assert_hosts(cell_hosts_of("home", "home.lan", "[2001:db8::1]:51820"),
                     (const char *const[]) { "home.lan", "home.home.lan", "[2001:db8::1]", NULL });
        assert_hosts(cell_hosts_of("home", "home.lan", "home.lan:51820"),   /* once */
                     (const char *const[]) { "home.lan", "home.home.lan", NULL });
        assert_hosts(cell_hosts_of(NULL, NULL, NULL), (const char *const[]) { NULL });
        assert_hosts(cell_hosts_of("home", "", "not a host:1"), (const char *const[]) { NULL });

        /* as the Host check takes them: the cell's names at any port, nothing like them */
        char **l = cell_hosts_of("home", "home.lan", "cell.example.org:51820");
        struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(8080),
                                     .sin_addr.s_addr = htonl(0x7f000001) };
        assert_true(host_allowed("cell.example.org:8080", l, (struct sockaddr *) &local));
        assert_true(host_allowed("HOME.home.lan", l, (struct sockaddr *) &local));
        assert_false(host_allowed("evil.home.lan", l, (struct sockaddr *) &local));
        assert_false(host_allowed("cell.example.org.evil.example", l, (struct sockaddr *) &local));
        strv_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cell_hosts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
