/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-api.h"
#include "exit-steer.h"
#include "exit-test.h"
#include "log.h"
#include "manager.h"
#include "time-util.h"
#include "wg/wg.h"

typedef struct ExitTest {
        Exit *exit;
        sd_bus_message *message;
        int fd;
        uint64_t started_usec;
        sd_event_source *io, *timeout;
        struct ExitTest *next;
} ExitTest;

#define EXIT_TESTS_MAX 8 /* at a time per exit: each holds a socket and a reply */

static void test_free(ExitTest *t) {
        ExitTest **p = &t->exit->tests;
        while (*p && *p != t)
                p = &(*p)->next;
        if (*p)
                *p = t->next;
        sd_event_source_disable_unref(t->io);
        sd_event_source_disable_unref(t->timeout);
        if (t->fd >= 0)
                close(t->fd);
        sd_bus_message_unref(t->message);
        free(t);
}

static void test_finish(ExitTest *t, int error) {
        Exit *e = t->exit;
        if (error == 0)
                (void) sd_bus_reply_method_return(t->message, "t", now_usec(CLOCK_MONOTONIC) - t->started_usec);
        else
                (void) sd_bus_reply_method_errorf(t->message, PIC_ERROR_UNREACHABLE,
                                                  "Exit %s: cannot reach %s through it: %s.", e->name, e->test_target,
                                                  error == ETIMEDOUT ? "no answer within 5 s" : strerror(error));
        test_free(t);
}

static int on_connected(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ExitTest *t = userdata;
        int error = 0;
        socklen_t len = sizeof error;

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        test_finish(t, error);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        test_finish(userdata, ETIMEDOUT);
        return 0;
}

int exit_test_start(Exit *e, sd_bus_message *message) {
        Manager *m = e->manager;
        WgEndpoint target;
        size_t n = 0;
        uint32_t mark = exit_mark(e);

        for (ExitTest *t = e->tests; t; t = t->next)
                n++;
        if (n >= EXIT_TESTS_MAX)
                return -EBUSY;
        if (wg_endpoint_parse(e->test_target, &target) < 0) /* checked when it was set */
                return -EINVAL;
        ExitTest *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->exit = e;
        t->next = e->tests;
        e->tests = t;
        t->message = sd_bus_message_ref(message);
        t->started_usec = now_usec(CLOCK_MONOTONIC);
        t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int r = t->fd < 0 ? -errno : 0;
        /* the exit's mark: its policy rule routes it into the tunnel, or nowhere */
        if (r >= 0 && setsockopt(t->fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
                r = -errno;
        if (r >= 0 && connect(t->fd, &target.addr, sizeof target.addr4) < 0 && errno != EINPROGRESS) {
                test_finish(t, errno); /* e.g. unreachable at once: no route while the tunnel is down */
                return 0;
        }
        if (r >= 0)
                r = sd_event_add_io(m->event, &t->io, t->fd, EPOLLOUT, on_connected, t);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &t->timeout, CLOCK_MONOTONIC, EXIT_TEST_TIMEOUT_USEC, 0,
                                               on_timeout, t);
        if (r < 0) {
                test_free(t);
                return r;
        }
        return 0;
}

void exit_test_cancel_all(Exit *e) {
        while (e->tests) {
                ExitTest *t = e->tests;
                (void) sd_bus_reply_method_errorf(t->message, PIC_ERROR_UNREACHABLE, "Exit %s was removed.", e->name);
                test_free(t);
        }
}
