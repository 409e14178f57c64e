/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Blocking work (a backup streamed to a caller, a restore read from one) on a
 * thread of its own; its end is handed back to the loop. */

#include <systemd/sd-event.h>

typedef struct ThreadJob ThreadJob;

/* On the thread: abort_fd becomes readable when the job is to stop early. */
typedef void (*ThreadJobWork)(void *userdata, int abort_fd);
/* On the loop, once the thread has ended. */
typedef void (*ThreadJobDone)(void *userdata);

int thread_job_start(sd_event *event, ThreadJobWork work, ThreadJobDone done, void *userdata, ThreadJob **ret);
/* Stopping: tells the work to stop, waits for the thread and frees the job; done is not called. */
void thread_job_abandon(ThreadJob *j);

/* On the thread: waits until fd has events, up to timeout_sec. -ECANCELED: the job is to stop
 * (abort_fd); -ETIMEDOUT: the other end went quiet; -EPIPE: it hung up or failed. */
int thread_job_wait(int fd, short events, int abort_fd, int timeout_sec);
