/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "log.h"
#include "wireguard-start.h"

#define POLL_USEC (10ULL * 1000ULL)
static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int on_start_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r = wg_backend_check_started(m->wg);

        if (r == 0 && now_usec() < m->wg_start_deadline) {
                r = sd_event_source_set_time_relative(s, POLL_USEC);
                return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        if (r == 0) {
                wg_backend_abandon_start(m->wg);
                r = -ETIMEDOUT;
        }
        m->wg_start_timer = sd_event_source_disable_unref(m->wg_start_timer);
        if (r > 0) {
                manager_watch_wireguard_go(m);
                r = manager_reconcile(m); /* the socket answers now: configure it */
        }
        if (r < 0)
                log_error_errno(r, "WireGuard on %s is not up: %m", m->config.ifname);
        wait_list_answer_all(&m->wg_waiters, m->bus, r < 0 ? r : 1);
        return 0;
}

int manager_watch_wireguard_start(Manager *m) {
        if (m->wg_start_timer)
                return 0;
        m->wg_start_deadline = now_usec() + WIREGUARD_GO_START_TIMEOUT_USEC;
        return sd_event_add_time_relative(m->event, &m->wg_start_timer, CLOCK_MONOTONIC, POLL_USEC, 0,
                                          on_start_poll, m);
}

int manager_wireguard_answer(Manager *m, sd_bus_message *message) {
        return wait_list_answer(&m->wg_waiters, message);
}

int manager_queue_wireguard_waiter(Manager *m, sd_bus_message *message) {
        return wait_list_add(&m->wg_waiters, message);
}

int manager_wait_wireguard(Manager *m, sd_bus_message *message) {
        int r = manager_wireguard_answer(m, message);
        if (r != -ENOENT)
                return r;
        if (m->wg_ready)
                return 1;
        if (!m->wg_start_timer) {
                r = manager_reconcile(m);
                if (r >= 0)
                        return 1;
                if (r != -EINPROGRESS)
                        return r;
        }
        return manager_queue_wireguard_waiter(m, message);
}

int manager_finish_wireguard_start(Manager *m) {
        while (m->wg_start_timer) {
                int r = sd_event_run(m->event, UINT64_MAX);
                if (r < 0)
                        return r;
                if (sd_event_get_state(m->event) == SD_EVENT_FINISHED)
                        return -ECANCELED;
        }
        return m->wg_ready ? 0 : -EIO;
}
