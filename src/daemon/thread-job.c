/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "thread-job.h"

struct ThreadJob {
        ThreadJobWork work;
        ThreadJobDone done;
        void *userdata;
        pthread_t thread;
        int done_fd, abort_fd;
        sd_event_source *done_source;
};

static void job_free(ThreadJob *j) {
        sd_event_source_disable_unref(j->done_source);
        if (j->done_fd >= 0)
                close(j->done_fd);
        if (j->abort_fd >= 0)
                close(j->abort_fd);
        free(j);
}

static void *job_thread(void *userdata) {
        ThreadJob *j = userdata;
        uint64_t one = 1;

        j->work(j->userdata, j->abort_fd);
        (void) write(j->done_fd, &one, sizeof one);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ThreadJob *j = userdata;
        ThreadJobDone done = j->done;
        void *data = j->userdata;

        pthread_join(j->thread, NULL);
        job_free(j);
        done(data);
        return 0;
}

int thread_job_start(sd_event *event, ThreadJobWork work, ThreadJobDone done, void *userdata, ThreadJob **ret) {
        ThreadJob *j = calloc(1, sizeof *j);
        int r;

        if (!j)
                return -ENOMEM;
        *j = (ThreadJob) { .work = work, .done = done, .userdata = userdata };
        j->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        j->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r = j->done_fd < 0 || j->abort_fd < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(event, &j->done_source, j->done_fd, EPOLLIN, on_done, j);
        if (r >= 0)
                r = -pthread_create(&j->thread, NULL, job_thread, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

void thread_job_abandon(ThreadJob *j) {
        uint64_t one = 1;

        if (!j)
                return;
        (void) write(j->abort_fd, &one, sizeof one);
        pthread_join(j->thread, NULL);
        job_free(j);
}

int thread_job_wait(int fd, short events, int abort_fd, int timeout_sec) {
        struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = abort_fd, .events = POLLIN } };

        for (;;) {
                int n = poll(p, 2, timeout_sec * 1000);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ETIMEDOUT;
                if (p[1].revents)
                        return -ECANCELED;
                if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL) && !(p[0].revents & events))
                        return -EPIPE;
                return 0;
        }
}
