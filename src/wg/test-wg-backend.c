/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test-skip.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wg-backend.h"

#define WIREGUARD_GO "/usr/bin/wireguard-go"
#define STARTS 25

/* The daemon polls a starting wireguard-go's UAPI socket. A poll that found
 * the socket bound but not yet listening once removed it as "stale", and
 * wireguard-go then failed with "Failed to listen on uapi socket: no such
 * file or directory" (4 starts in 30 under a busy poll). Polling as fast as
 * possible, every start must succeed. */
static void test_busy_polling_never_breaks_a_start(void **state) {
        if (geteuid() != 0 || access(WIREGUARD_GO, X_OK) < 0)
                skip_here();
        /* our own network and mount namespaces and /run: nothing here touches the host */
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                skip_here();
        assert_int_equal(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
        assert_int_equal(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0);
        if (access("/dev/net/tun", R_OK | W_OK) < 0)
                skip_here();
        (void) setenv("WG_PROCESS_FOREGROUND", "1", 1);
        (void) setenv("LOG_LEVEL", "error", 1);

        for (int i = 0; i < STARTS; i++) {
                char ifname[16];
                _cleanup_(wg_backend_freep) WgBackend *b = NULL;
                struct timespec start, now;

                snprintf(ifname, sizeof ifname, "picbt%d", i);
                assert_int_equal(wg_backend_new(&b, ifname, "/run/wireguard", WIREGUARD_GO), 0);
                assert_int_equal(wg_backend_ensure_device(b, WG_BACKEND_CHOICE_USERSPACE), WG_BACKEND_STARTING);
                clock_gettime(CLOCK_MONOTONIC, &start);
                int r;
                while ((r = wg_backend_check_started(b)) == 0) {
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        if (now.tv_sec - start.tv_sec > 10)
                                fail_msg("wireguard-go for %s did not start in 10 s", ifname);
                }
                if (r < 0)
                        fail_msg("start %d of %d failed: %s", i + 1, STARTS, strerror(-r));
                (void) kill(b->child, SIGKILL);
                (void) waitpid(b->child, NULL, 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_busy_polling_never_breaks_a_start),
        };
        return tests_result(cmocka_run_group_tests(tests, NULL, NULL));
}
