/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "password-worker.h"
#include "password.h"

#define ANSWER_KEEP_USEC (30ULL * 1000000ULL)

typedef struct Job {
        sd_bus_message *request;
        bool check, make_hash;
        char *check_password;
        char *password; /* make_hash: given, or made by the worker */
        PasswordAnswer answer;
        int error;
        uint64_t done_usec;
        struct Job *next;
} Job;

struct PasswordWorker {
        sd_bus *bus;
        sd_event_source *done_source;
        int done_fd;

        pthread_mutex_t lock;
        pthread_cond_t wake;
        Job *waiting, **waiting_tail; /* for the threads, oldest first */
        Job *running;                 /* a thread's, one each */
        Job *finished;                /* from the threads, for the loop */
        size_t n_waiting;
        bool stopping;

        Job *answered; /* the loop's: done, not yet picked up by the re-run handler */
        pthread_t *threads;
        unsigned n_threads, n_started;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void wipe_string(char **s) {
        if (*s)
                sodium_memzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
}

void password_answer_done(PasswordAnswer *a) {
        wipe_string(&a->checked_hash);
        wipe_string(&a->password);
        wipe_string(&a->hash);
}

static void job_free(Job *j) {
        if (!j)
                return;
        sd_bus_message_unref(j->request);
        wipe_string(&j->check_password);
        wipe_string(&j->password);
        password_answer_done(&j->answer);
        free(j);
}

static void job_run(Job *j) {
        if (j->check)
                j->answer.matches = password_verify(j->answer.checked_hash, j->check_password);
        if (!j->make_hash)
                return;
        if (!j->password) {
                j->error = password_generate(&j->password);
                if (j->error < 0)
                        return;
        }
        j->error = password_hash(j->password, &j->answer.hash);
        if (j->error >= 0)
                j->answer.password = TAKE_PTR(j->password);
}

static void *thread_main(void *userdata) {
        PasswordWorker *w = userdata;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                while (!w->waiting && !w->stopping)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (w->stopping)
                        break;
                Job *j = w->waiting;
                w->waiting = j->next;
                if (!w->waiting)
                        w->waiting_tail = &w->waiting;
                w->n_waiting--;
                j->next = w->running;
                w->running = j;
                pthread_mutex_unlock(&w->lock);

                job_run(j);

                pthread_mutex_lock(&w->lock);
                for (Job **i = &w->running; *i; i = &(*i)->next)
                        if (*i == j) {
                                *i = j->next;
                                break;
                        }
                j->next = w->finished;
                w->finished = j;
                uint64_t one = 1;
                (void) write(w->done_fd, &one, sizeof one);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* On the loop: hand each finished job's call back to sd-bus, whose handler runs again. */
static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PasswordWorker *w = userdata;
        uint64_t n;

        (void) read(fd, &n, sizeof n);
        pthread_mutex_lock(&w->lock);
        Job *list = w->finished;
        w->finished = NULL;
        pthread_mutex_unlock(&w->lock);

        for (Job *j = list, *next; j; j = next) {
                next = j->next;
                j->done_usec = now_usec();
                j->next = w->answered;
                w->answered = j;
                int r = sd_bus_enqueue_for_read(w->bus, j->request);
                if (r < 0) {
                        log_error_errno(r, "Failed to re-queue a call after its password check: %m");
                        (void) sd_bus_reply_method_errorf(j->request, SD_BUS_ERROR_FAILED,
                                                          "The password check could not complete.");
                }
        }
        return 0;
}

int password_worker_new(PasswordWorker **ret, sd_bus *bus, sd_event *event, unsigned n_threads) {
        PasswordWorker *w = calloc(1, sizeof *w);
        int r;

        if (!w)
                return -ENOMEM;
        w->bus = sd_bus_ref(bus);
        w->waiting_tail = &w->waiting;
        w->n_threads = MAX(n_threads, 1u);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        w->threads = calloc(w->n_threads, sizeof(pthread_t));
        if (w->done_fd < 0 || !w->threads) {
                r = w->done_fd < 0 ? -errno : -ENOMEM;
                password_worker_free(w);
                return r;
        }
        r = sd_event_add_io(event, &w->done_source, w->done_fd, EPOLLIN, on_done, w);
        if (r < 0) {
                password_worker_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

PasswordWorker *password_worker_free(PasswordWorker *w) {
        if (!w)
                return NULL;
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_broadcast(&w->wake);
        pthread_mutex_unlock(&w->lock);
        for (unsigned i = 0; i < w->n_started; i++)
                pthread_join(w->threads[i], NULL);
        for (Job *lists[] = { w->waiting, w->finished, w->answered }, **l = lists; l < lists + 3; l++)
                for (Job *j = *l, *next; j; j = next) {
                        next = j->next;
                        job_free(j);
                }
        sd_event_source_disable_unref(w->done_source);
        if (w->done_fd >= 0)
                close(w->done_fd);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        sd_bus_unref(w->bus);
        free(w->threads);
        free(w);
        return NULL;
}

/* The answered job for this call, unlinked, or NULL; stale answers nobody came back for are dropped. */
static Job *take_answer(PasswordWorker *w, sd_bus_message *m) {
        uint64_t now = now_usec();
        Job *found = NULL;

        for (Job **i = &w->answered; *i;) {
                Job *j = *i;
                if (!found && j->request == m) {
                        *i = j->next;
                        found = j;
                } else if (now - j->done_usec > ANSWER_KEEP_USEC) {
                        *i = j->next;
                        job_free(j);
                } else
                        i = &j->next;
        }
        return found;
}

/* Whether a job for this call is still with the threads (waiting, running or finished). */
static bool job_pending(PasswordWorker *w, sd_bus_message *m) {
        bool pending = false;

        pthread_mutex_lock(&w->lock);
        for (Job *l[] = { w->waiting, w->running, w->finished }, **i = l; i < l + 3 && !pending; i++)
                for (Job *j = *i; j && !pending; j = j->next)
                        pending = j->request == m;
        pthread_mutex_unlock(&w->lock);
        return pending;
}

int password_job_answer(PasswordWorker *w, sd_bus_message *m, PasswordAnswer *ret) {
        Job *j = take_answer(w, m);
        if (!j)
                return job_pending(w, m) ? 0 : -ENOENT;
        int r = j->error;
        if (r >= 0) {
                *ret = j->answer;
                j->answer = (PasswordAnswer) {};
        }
        job_free(j);
        return r < 0 ? r : 1;
}

int password_job_start(PasswordWorker *w, sd_bus_message *m, const PasswordRequest *req) {
        Job *j = calloc(1, sizeof *j);
        int r = 0;

        if (!j)
                return -ENOMEM;
        j->request = sd_bus_message_ref(m);
        j->check = req->check;
        j->make_hash = req->make_hash;
        if ((req->check && req->check_password && !(j->check_password = strdup(req->check_password))) ||
            (req->check && req->check_hash && !(j->answer.checked_hash = strdup(req->check_hash))) ||
            (req->make_hash && req->new_password && !(j->password = strdup(req->new_password)))) {
                job_free(j);
                return -ENOMEM;
        }

        pthread_mutex_lock(&w->lock);
        if (w->n_waiting >= PASSWORD_WORKER_QUEUE_MAX)
                r = -EBUSY;
        else if (w->n_started < w->n_threads) {
                /* threads start on demand, so a cell nobody logs in to has none */
                r = -pthread_create(&w->threads[w->n_started], NULL, thread_main, w);
                if (r == 0)
                        w->n_started++;
                else if (w->n_started > 0)
                        r = 0; /* the running ones will get to it */
        }
        if (r == 0) {
                *w->waiting_tail = j;
                w->waiting_tail = &j->next;
                w->n_waiting++;
                pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->lock);
        if (r < 0)
                job_free(j);
        return r;
}
