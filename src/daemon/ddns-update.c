/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <time.h>

#include "cell-bus.h"
#include "ddns-update.h"
#include "ddns-bus.h"
#include "http-client.h"
#include "link-push.h"
#include "log.h"

#define DDNS_TIMEOUT_USEC (30 * 1000000ULL)
#define DDNS_ANSWER_MAX 16384

static const char *const state_names[_DDNS_STATE_MAX] = {
        [DDNS_STATE_OFF] = "off",
        [DDNS_STATE_CHECKING] = "checking",
        [DDNS_STATE_UPDATING] = "updating",
        [DDNS_STATE_UP_TO_DATE] = "up-to-date",
        [DDNS_STATE_RETRYING] = "retrying",
        [DDNS_STATE_STOPPED] = "stopped",
};

const char *ddns_state_to_string(DdnsState s) {
        return s < _DDNS_STATE_MAX ? state_names[s] : NULL;
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void emit(Manager *m) {
        char *names[] = { DDNS_PROPERTY_NAMES, NULL };
        cell_bus_emit_changed(m, names);
}

static void set_state(Manager *m, DdnsState s, const char *error) {
        Ddns *d = m->ddns;
        d->state = s;
        snprintf(d->last_error, sizeof d->last_error, "%s", strempty(error));
        emit(m);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void schedule(Manager *m, uint64_t delay_usec) {
        Ddns *d = m->ddns;
        int r;
        if (!d->timer)
                r = sd_event_add_time_relative(m->event, &d->timer, CLOCK_MONOTONIC, delay_usec, 0, on_timer, m);
        else {
                r = sd_event_source_set_time_relative(d->timer, delay_usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_error_errno(r, "Failed to schedule the next dynamic DNS check: %m");
}

static void cancel(Manager *m) {
        Ddns *d = m->ddns;
        http_request_cancel(d->request);
        d->request = NULL;
        if (d->timer)
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
}

/* After a failure: FIRST, twice that, ... up to MAX, and never sooner than the provider asked. */
static void retry_later(Manager *m, const char *reason, unsigned retry_after_sec) {
        Ddns *d = m->ddns;
        uint64_t delay = m->config.ddns_backoff_first_usec;
        for (unsigned i = 0; i < d->failures && delay < m->config.ddns_backoff_max_usec; i++)
                delay *= 2;
        delay = MIN(delay, m->config.ddns_backoff_max_usec);
        delay = MAX(delay, (uint64_t) retry_after_sec * 1000000ULL);
        d->failures++;
        log_warning("Dynamic DNS: %s; trying again in %" PRIu64 " s.", reason, delay / 1000000);
        set_state(m, DDNS_STATE_RETRYING, reason);
        schedule(m, delay);
}

/* Why a request got no answer, for a person. */
static const char *transport_error(int error) {
        return error == -EKEYREJECTED ? "its TLS certificate was not accepted" : strerror(-error);
}

static void stop(Manager *m, const char *reason) {
        Ddns *d = m->ddns;
        char *copy = strdup(reason);
        if (copy) {
                free(d->config.stopped_reason);
                d->config.stopped_reason = copy;
                int r = ddns_config_save(m->state_fd, &d->config);
                if (r < 0)
                        log_warning_errno(r, "Failed to store that dynamic DNS is stopped (%m); a restart tries again.");
        }
        log_warning("Dynamic DNS stopped: %s. It starts again when its settings change.", reason);
        set_state(m, DDNS_STATE_STOPPED, reason);
}

static void on_update_done(HttpRequest *req, int error, long status, const char *body, size_t size, void *userdata) {
        Manager *m = userdata;
        Ddns *d = m->ddns;
        char reason[DDNS_ERROR_MAX];

        d->request = NULL;
        DdnsProviderId id = ddns_provider_from_string(d->config.provider);
        if (error < 0) {
                snprintf(reason, sizeof reason, "could not reach %s: %s", d->config.provider, transport_error(error));
                return retry_later(m, reason, 0);
        }
        DdnsVerdict v;
        ddns_answer_read(id, status, body, size, &v);
        switch (v.answer) {
        case DDNS_ANSWER_UPDATED:
        case DDNS_ANSWER_UNCHANGED: {
                char *a = strdup(d->address);
                if (!a)
                        return retry_later(m, "out of memory", 0);
                bool moved = !streq_ptr(d->config.published_address, a);
                free(d->config.published_address);
                d->config.published_address = a;
                d->config.published_usec = now_realtime_usec();
                int r = ddns_config_save(m->state_fd, &d->config);
                if (r < 0)
                        log_warning_errno(r, "Failed to store the published address (%m); it is told again after a restart.");
                d->failures = 0;
                log_info("Dynamic DNS: %s points at %s (%s).", d->config.hostname, d->address,
                         ddns_answer_to_string(v.answer));
                set_state(m, DDNS_STATE_UP_TO_DATE, NULL);
                /* linked cells reach this cell by that address: they are told, signed, as after Configure */
                if (moved && ddns_endpoint_address(m, m->cell.endpoint) && link_push_mark_identity(m) >= 0)
                        link_push_restart(m);
                return schedule(m, m->config.ddns_check_interval_usec);
        }
        case DDNS_ANSWER_RETRY:
                return retry_later(m, v.reason, v.retry_after_sec);
        case DDNS_ANSWER_STOP:
                return stop(m, v.reason);
        }
}

static void address_learned(Manager *m, const char *address) {
        Ddns *d = m->ddns;
        char error[DDNS_ERROR_MAX];

        if (!streq_ptr(address, d->address)) {
                char *a = strdup(address);
                if (!a)
                        return retry_later(m, "out of memory", 0);
                free(d->address);
                d->address = a;
        }
        if (streq_ptr(d->config.published_address, address) &&
            now_realtime_usec() - d->config.published_usec < m->config.ddns_refresh_usec) {
                d->failures = 0;
                if (d->state != DDNS_STATE_UP_TO_DATE)
                        set_state(m, DDNS_STATE_UP_TO_DATE, NULL);
                return schedule(m, m->config.ddns_check_interval_usec);
        }

        DdnsProviderId id = ddns_provider_from_string(d->config.provider);
        DdnsSettings s = ddns_config_settings(&d->config);
        DdnsRequest *req = NULL;
        int r = ddns_request_build(&s, address, m->config.test_ddns_base[id], &req, error);
        if (r < 0)
                return r == -EINVAL ? stop(m, error) : retry_later(m, "out of memory", 0);
        HttpCall call = {
                .method = req->method,
                .url = req->url,
                .headers = req->headers,
                .body = req->body,
                .ca_file = m->config.test_ddns_ca_file,
                .timeout_usec = DDNS_TIMEOUT_USEC,
                .max_answer = DDNS_ANSWER_MAX,
        };
        if (!m->http)
                r = http_client_new(m->event, &m->http);
        if (r >= 0)
                r = http_send(m->http, &call, on_update_done, m, &d->request);
        ddns_request_free(req); /* curl keeps its copies */
        if (r < 0) {
                char reason[DDNS_ERROR_MAX];
                snprintf(reason, sizeof reason, "could not send the update: %s", strerror(-r));
                return retry_later(m, reason, 0);
        }
        d->request_is_update = true;
        log_debug("Dynamic DNS: telling %s that %s is at %s.", d->config.provider, d->config.hostname, address);
        set_state(m, DDNS_STATE_UPDATING, NULL);
}

/* The uplink's first global IPv4 address into buf, or -ENOENT. */
static int uplink_address(const char *ifname, char buf[INET_ADDRSTRLEN]) {
        struct ifaddrs *list = NULL;
        int r = -ENOENT;

        if (isempty(ifname))
                return -ENOENT;
        if (getifaddrs(&list) < 0)
                return -errno;
        for (struct ifaddrs *i = list; i; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !streq(i->ifa_name, ifname))
                        continue;
                const struct in_addr *a = &((const struct sockaddr_in *) i->ifa_addr)->sin_addr;
                uint32_t h = ntohl(a->s_addr);
                if ((h >> 16) == 0xa9fe) /* 169.254/16: link-local, never a public address */
                        continue;
                inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
                r = 0;
                break;
        }
        freeifaddrs(list);
        return r;
}

static void on_lookup_done(HttpRequest *req, int error, long status, const char *body, size_t size, void *userdata) {
        Manager *m = userdata;
        char reason[DDNS_ERROR_MAX], address[INET_ADDRSTRLEN + 1];

        m->ddns->request = NULL;
        if (error < 0) {
                snprintf(reason, sizeof reason, "could not reach the address service: %s", transport_error(error));
                return retry_later(m, reason, 0);
        }
        if (status != 200) {
                snprintf(reason, sizeof reason, "the address service answered HTTP %ld", status);
                return retry_later(m, reason, 0);
        }
        /* one address, maybe with a line end */
        while (size > 0 && (body[size - 1] == '\n' || body[size - 1] == '\r' || body[size - 1] == ' '))
                size--;
        if (size >= sizeof address || memchr(body, '\0', size)) {
                snprintf(reason, sizeof reason, "the address service's answer is not an IPv4 address");
                return retry_later(m, reason, 0);
        }
        memcpy(address, body, size);
        address[size] = '\0';
        if (!ddns_address_is_valid(address))
                return retry_later(m, "the address service's answer is not an IPv4 address", 0);
        address_learned(m, address);
}

static void check(Manager *m) {
        Ddns *d = m->ddns;
        char address[INET_ADDRSTRLEN];

        if (!d->config.provider || d->config.stopped_reason || d->request)
                return;
        if (streq(d->config.address_source, DDNS_SOURCE_UPLINK)) {
                if (uplink_address(m->uplink, address) < 0) {
                        char reason[DDNS_ERROR_MAX];
                        snprintf(reason, sizeof reason, "the uplink %s has no IPv4 address",
                                 m->uplink[0] ? m->uplink : "(none)");
                        return retry_later(m, reason, 0);
                }
                return address_learned(m, address);
        }
        char *const headers[] = { "Accept: text/plain", NULL };
        HttpCall call = {
                .method = "GET",
                .url = d->config.address_source,
                .headers = headers,
                .ca_file = m->config.test_ddns_ca_file,
                .timeout_usec = DDNS_TIMEOUT_USEC,
                .max_answer = 256,
        };
        int r = m->http ? 0 : http_client_new(m->event, &m->http);
        if (r >= 0)
                r = http_send(m->http, &call, on_lookup_done, m, &d->request);
        if (r < 0) {
                char reason[DDNS_ERROR_MAX];
                snprintf(reason, sizeof reason, "could not ask the address service: %s", strerror(-r));
                return retry_later(m, reason, 0);
        }
        d->request_is_update = false;
        if (d->state != DDNS_STATE_RETRYING && d->state != DDNS_STATE_UP_TO_DATE)
                set_state(m, DDNS_STATE_CHECKING, NULL);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        check(userdata);
        return 0;
}

static void start_over(Manager *m) {
        Ddns *d = m->ddns;
        cancel(m);
        d->failures = 0;
        if (!d->config.provider)
                return set_state(m, DDNS_STATE_OFF, NULL);
        if (d->config.stopped_reason)
                return set_state(m, DDNS_STATE_STOPPED, d->config.stopped_reason);
        set_state(m, DDNS_STATE_CHECKING, NULL);
        schedule(m, 0);
}

int ddns_start(Manager *m) {
        m->ddns = calloc(1, sizeof(Ddns));
        if (!m->ddns)
                return -ENOMEM;
        int r = ddns_config_load(m->state_fd, &m->ddns->config);
        if (r < 0)
                log_warning_errno(r, "Dynamic DNS is off until it is configured again: %m");
        start_over(m);
        return 0;
}

void ddns_free(Manager *m) {
        Ddns *d = m->ddns;
        if (!d)
                return;
        http_request_cancel(d->request);
        sd_event_source_disable_unref(d->timer);
        ddns_config_done(&d->config);
        free(d->address);
        free(d);
        m->ddns = NULL;
}

void ddns_adopt_config(Manager *m, DdnsConfig *c) {
        Ddns *d = m->ddns;
        bool same = ddns_config_settings_equal(&d->config, c);
        ddns_config_done(&d->config);
        d->config = *c;
        *c = (DdnsConfig) {};
        if (!same) {
                log_info("Dynamic DNS settings changed: %s%s%s.", d->config.provider ? d->config.provider : "off",
                         d->config.provider ? " for " : "", strempty(d->config.hostname));
                start_over(m);
        }
}

const char *ddns_endpoint_address(Manager *m, const char *endpoint) {
        const Ddns *d = m->ddns;
        const char *colon = endpoint ? strrchr(endpoint, ':') : NULL;
        if (!d || !colon || !d->config.hostname || !d->config.published_address)
                return NULL;
        size_t n = (size_t) (colon - endpoint);
        return strlen(d->config.hostname) == n && strncmp(endpoint, d->config.hostname, n) == 0
                       ? d->config.published_address
                       : NULL;
}

void ddns_uplink_changed(Manager *m) {
        Ddns *d = m->ddns;
        if (d && d->config.provider && !d->config.stopped_reason && !d->request &&
            streq(d->config.address_source, DDNS_SOURCE_UPLINK))
                schedule(m, 0);
}
