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
        bool request_sent; /* a TCP-only exit's: waiting for the answer's first byte */
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

/* A TCP-only exit's program accepts at once, wherever the connection goes: the far side's first
 * byte is what shows it got there (a web server or a TLS one answers this, even with an error). */
#define TCP_ONLY_REQUEST "HEAD / HTTP/1.0\r\n\r\n"
#define ERROR_CLOSED_EARLY (-1) /* not an errno: the exit ended the connection before an answer */

static void test_finish(ExitTest *t, int error) {
        Exit *e = t->exit;
        if (error == 0)
                (void) sd_bus_reply_method_return(t->message, "t", now_usec(CLOCK_MONOTONIC) - t->started_usec);
        else
                (void) sd_bus_reply_method_errorf(t->message, PIC_ERROR_UNREACHABLE,
                                                  "Exit %s: cannot reach %s through it: %s.", e->name, e->test_target,
                                                  error == ETIMEDOUT ? "no answer within 5 s" :
                                                  error == ERROR_CLOSED_EARLY ? "the exit closed the connection "
                                                                                "before an answer came" :
                                                  strerror(error));
        test_free(t);
}

static void on_answer(ExitTest *t, int fd) {
        char byte;
        ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        test_finish(t, n > 0 ? 0 : n == 0 ? ERROR_CLOSED_EARLY : errno);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ExitTest *t = userdata;
        int error = 0;

        if (t->request_sent) {
                on_answer(t, fd);
                return 0;
        }
        socklen_t len = sizeof error;

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        if (error != 0 || !exit_is_tcp_only(t->exit->type)) {
                test_finish(t, error);
                return 0;
        }
        /* a few bytes into an empty socket buffer: sent whole or not at all */
        if (send(fd, TCP_ONLY_REQUEST, strlen(TCP_ONLY_REQUEST), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                test_finish(t, errno);
                return 0;
        }
        t->request_sent = true;
        int r = sd_event_source_set_io_events(s, EPOLLIN);
        if (r < 0)
                test_finish(t, -r);
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
        /* a tunnel's mark routes into it; a TCP-only exit's test mark is sent to its port (firewall.h) */
        uint32_t mark = exit_is_tcp_only(e->type) ? FIREWALL_EXIT_TEST_MARK_BASE | e->number : exit_mark(e);

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
                r = sd_event_add_io(m->event, &t->io, t->fd, EPOLLOUT, on_io, t);
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
