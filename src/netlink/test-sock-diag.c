/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs in a network namespace of its own: the TIME_WAIT sockets it makes and
 * ends are its own. */
#define _GNU_SOURCE 1 /* unshare() */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "netlink/sock-diag.h"

#define PORT_A 9040
#define PORT_B 9042

static struct sockaddr_in loopback(uint16_t port) {
        return (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(port),
                                      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static int bind_plain(uint16_t port, int reuse) {
        struct sockaddr_in a = loopback(port);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse), 0);
        if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* One connection to port that the listening side closes first: its end stays in TIME_WAIT. */
static void leave_time_wait(uint16_t port) {
        struct sockaddr_in a = loopback(port);
        int listener = bind_plain(port, 1), client, served;
        char c;

        assert_true(listener >= 0);
        assert_int_equal(listen(listener, 1), 0);
        client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(client, (struct sockaddr *) &a, sizeof a), 0);
        served = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        assert_true(served >= 0);
        close(served);
        assert_int_equal(read(client, &c, 1), 0); /* its FIN arrived */
        close(client);
        close(listener);
}

static void test_releases_only_that_port(void **state) {
        int fd;

        leave_time_wait(PORT_A);
        leave_time_wait(PORT_A);
        leave_time_wait(PORT_B);
        assert_int_equal(bind_plain(PORT_A, 0), -EADDRINUSE);
        assert_int_equal(bind_plain(PORT_B, 0), -EADDRINUSE);

        assert_int_equal(tcp_time_wait_release(htonl(INADDR_LOOPBACK), PORT_A), 2);
        fd = bind_plain(PORT_A, 0);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(bind_plain(PORT_B, 0), -EADDRINUSE); /* another port's are not ours to end */

        assert_int_equal(tcp_time_wait_release(htonl(INADDR_LOOPBACK), PORT_A), 0);
        assert_int_equal(tcp_time_wait_release(htonl(INADDR_LOOPBACK + 1), PORT_B), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_releases_only_that_port),
        };
        struct ifreq up = { .ifr_name = "lo" };
        int fd;

        if (unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "# unshare(CLONE_NEWNET): %s: skipped\n", strerror(errno));
                return errno == EPERM ? 77 : 1; /* 77: meson counts it as skipped, not passed */
        }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &up) < 0)
                return 1;
        up.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &up) < 0)
                return 1;
        close(fd);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
