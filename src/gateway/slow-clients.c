/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"
#include "macro.h"
#include "slow-clients.h"

typedef struct Tracked Tracked;
struct Tracked {
        int fd;
        uint64_t since;    /* CLOCK_MONOTONIC µs: accepted, or its last request ended */
        bool waiting;      /* no headers yet */
        Tracked *prev, *next;
};

struct SlowClients {
        sd_event *event;
        sd_event_source *timer;
        uint64_t timeout;
        Tracked *list;
};

static uint64_t now_usec(SlowClients *s) {
        uint64_t now = 0;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        return now;
}

static int on_tick(sd_event_source *source, uint64_t usec, void *userdata) {
        SlowClients *s = userdata;
        uint64_t now = now_usec(s);

        for (Tracked *t = s->list; t; t = t->next)
                if (t->waiting && now - t->since > s->timeout && t->fd >= 0) {
                        log_debug("A connection sent no request headers in %llu s: closing it.",
                                  (unsigned long long) (s->timeout / 1000000));
                        (void) shutdown(t->fd, SHUT_RDWR); /* libmicrohttpd reads the end and closes it */
                        t->waiting = false;
                }
        return sd_event_source_set_time(source, now + 1000000);
}

int slow_clients_new(sd_event *event, uint64_t header_timeout_usec, SlowClients **ret) {
        SlowClients *s = calloc(1, sizeof(SlowClients));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->timeout = header_timeout_usec;
        int r = sd_event_add_time_relative(event, &s->timer, CLOCK_MONOTONIC, 1000000, 100000, on_tick, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ON);
        if (r < 0) {
                slow_clients_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

SlowClients *slow_clients_free(SlowClients *s) {
        if (!s)
                return NULL;
        while (s->list) {
                Tracked *t = s->list;
                s->list = t->next;
                free(t);
        }
        sd_event_source_disable_unref(s->timer);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void slow_clients_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                         enum MHD_ConnectionNotificationCode code) {
        SlowClients *s = cls;
        Tracked *t = *socket_context;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection,
                                                                               MHD_CONNECTION_INFO_CONNECTION_FD);
                t = calloc(1, sizeof(Tracked));
                if (!t)
                        return; /* not followed: only the idle timeout holds it */
                t->fd = info ? info->connect_fd : -1;
                t->since = now_usec(s);
                t->waiting = true;
                t->next = s->list;
                if (s->list)
                        s->list->prev = t;
                s->list = t;
                *socket_context = t;
        } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && t) {
                if (t->prev)
                        t->prev->next = t->next;
                else
                        s->list = t->next;
                if (t->next)
                        t->next->prev = t->prev;
                free(t);
                *socket_context = NULL;
        }
}

static Tracked *tracked(struct MHD_Connection *connection) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return info ? info->socket_context : NULL;
}

void slow_clients_headers_done(struct MHD_Connection *connection) {
        Tracked *t = tracked(connection);
        if (t)
                t->waiting = false;
}

void slow_clients_request_done(SlowClients *s, struct MHD_Connection *connection) {
        Tracked *t = tracked(connection);
        if (t) {
                t->waiting = true;
                t->since = now_usec(s);
        }
}
