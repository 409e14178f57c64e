/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "wait-list.h"

#define ANSWER_KEEP_USEC (30ULL * 1000000ULL)

struct Waiter {
        sd_bus_message *request;
        bool answered;
        int result;
        uint64_t answered_usec;
        Waiter *next;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void waiter_free(Waiter *w) {
        sd_bus_message_unref(w->request);
        free(w);
}

void wait_list_done(WaitList *l) {
        for (Waiter *w = l->waiters, *next; w; w = next) {
                next = w->next;
                waiter_free(w);
        }
        l->waiters = NULL;
}

int wait_list_add(WaitList *l, sd_bus_message *m) {
        for (Waiter *w = l->waiters; w; w = w->next)
                if (w->request == m && !w->answered)
                        return 0; /* delivered again before the answer */
        Waiter *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->request = sd_bus_message_ref(m);
        w->next = l->waiters;
        l->waiters = w;
        return 0;
}

int wait_list_answer(WaitList *l, sd_bus_message *m) {
        uint64_t now = now_usec();
        Waiter *found = NULL;

        for (Waiter **i = &l->waiters; *i;) {
                Waiter *w = *i;
                if (!found && w->request == m && w->answered) {
                        *i = w->next;
                        found = w;
                } else if (w->answered && now - w->answered_usec > ANSWER_KEEP_USEC) {
                        *i = w->next; /* nobody came back for it (the call was refused on its re-run) */
                        waiter_free(w);
                } else
                        i = &w->next;
        }
        if (!found)
                return -ENOENT;
        int result = found->result;
        waiter_free(found);
        return result;
}

void wait_list_answer_all(WaitList *l, sd_bus *bus, int result) {
        for (Waiter *w = l->waiters; w; w = w->next) {
                if (w->answered)
                        continue;
                w->answered = true;
                w->result = result;
                w->answered_usec = now_usec();
                int r = sd_bus_enqueue_for_read(bus, w->request);
                if (r < 0) {
                        log_error_errno(r, "Failed to re-queue a waiting call: %m");
                        (void) sd_bus_reply_method_errorf(w->request, SD_BUS_ERROR_FAILED,
                                                          "Waiting could not complete.");
                }
        }
}
