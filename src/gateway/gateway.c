/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>

#include "events.h"
#include "fileio.h"
#include "gateway.h"
#include "pairing-listener.h"
#include "peer-cache.h"
#include "strv.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "slow-clients.h"
#include "session-authority.h"
#include "sessions.h"

static void gateway_update_timer(Gateway *g) {
        MHD_UNSIGNED_LONG_LONG ms;
        uint64_t now;

        if (!g->mhd_timer)
                return;
        if (MHD_get_timeout(g->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(g->mhd_timer, SD_EVENT_OFF);
                return;
        }
        if (ms == 0) {
                /* MHD has work ready (e.g. a resumed connection): run again in this iteration */
                gateway_kick(g);
                (void) sd_event_source_set_enabled(g->mhd_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_now(g->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(g->mhd_timer, now + (uint64_t) ms * 1000ULL);
        (void) sd_event_source_set_enabled(g->mhd_timer, SD_EVENT_ONESHOT);
}

static void gateway_process(Gateway *g) {
        if (MHD_run(g->mhd) != MHD_YES)
                log_debug("MHD_run() reported a failure.");
        gateway_update_timer(g);
}

static int on_mhd_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        gateway_process(userdata);
        return 0;
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        gateway_process(userdata);
        return 0;
}

static int on_mhd_kick(sd_event_source *s, void *userdata) {
        gateway_process(userdata);
        return 0;
}

void gateway_kick(Gateway *g) {
        if (g->mhd_kick)
                (void) sd_event_source_set_enabled(g->mhd_kick, SD_EVENT_ONESHOT);
}

Gateway *gateway_free(Gateway *g) {
        if (!g)
                return NULL;
        g->stopping = true;
        g->pairing = pairing_listener_stop(g->pairing);
        if (g->mhd) {
                /* MHD must not stop with suspended connections */
                http_abort_suspended(g);
                if (g->events)
                        events_close_all(g->events);
                MHD_run(g->mhd);
                MHD_stop_daemon(g->mhd);
        }
        sd_event_source_disable_unref(g->mhd_io);
        sd_event_source_disable_unref(g->mhd_timer);
        sd_event_source_disable_unref(g->mhd_kick);
        /* pending calls of events.c die with the bus, before their userdata */
        sd_bus_flush_close_unref(g->bus);
        events_free(g->events);
        peer_cache_free(g->peers);
        session_authority_free(g->authority);
        slow_clients_free(g->slow_clients);
        strv_free(g->allowed_hosts);
        sessions_free(g->sessions);
        login_limiter_free(g->limiter);
        metrics_free(g->metrics);
        if (g->metrics_token)
                explicit_bzero(g->metrics_token, strlen(g->metrics_token));
        free(g->metrics_token);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

/* One line of printable ASCII without spaces (a final newline allowed), as a scraper's config takes it. */
static int read_metrics_token(const char *path, char **ret) {
        _cleanup_(freep) char *text = NULL;
        size_t size;
        int r;

        r = read_file_at(AT_FDCWD, path, 4096, &text, &size);
        if (r < 0)
                return log_error_errno(r, "--metrics-token-file=%s cannot be read: %m", path);
        while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == '\r'))
                text[--size] = 0;
        bool printable = size > 0;
        for (size_t i = 0; i < size; i++)
                printable = printable && text[i] > ' ' && text[i] < 0x7f;
        if (!printable) {
                explicit_bzero(text, size);
                return log_error_errno(-EINVAL, "--metrics-token-file=%s must hold one token: printable ASCII "
                                       "without spaces, not empty.", path);
        }
        *ret = TAKE_PTR(text);
        return 0;
}

int gateway_new(Gateway **ret, const GatewayConfig *config) {
        _cleanup_(gateway_freep) Gateway *g = calloc(1, sizeof(Gateway));
        int r;

        if (!g)
                return -ENOMEM;
        g->config = *config;
        g->setup = SETUP_UNKNOWN;
        if (sodium_init() < 0)
                return log_error_errno(-EIO, "Failed to initialise libsodium.");
        r = sessions_new(&g->sessions, config->session_idle_usec);
        if (r < 0)
                return r;
        g->allowed_hosts = strv_copy(config->allowed_hosts); /* the cell's names join them (cell-hosts.c) */
        if (!g->allowed_hosts)
                return -ENOMEM;
        r = login_limiter_new(&g->limiter, config->login_window_usec);
        g->check_budget.rate = config->login_rate;
        if (r < 0)
                return r;
        r = metrics_new(&g->metrics);
        if (r < 0)
                return r;
        if (config->metrics_token_file) {
                r = read_metrics_token(config->metrics_token_file, &g->metrics_token);
                if (r < 0)
                        return r;
        }
        r = sd_event_default(&g->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        *ret = TAKE_PTR(g);
        return 0;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric only. */
int gateway_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
        _cleanup_(freep) char *host = NULL;
        const char *port;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                host = strndup(s + 1, end - s - 1);
                port = end + 2;
        } else {
                const char *colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                host = strndup(s, colon - s);
                port = colon + 1;
        }
        if (!host)
                return -ENOMEM;

        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
        if (getaddrinfo(host, port, &hints, &ai) != 0)
                return -EINVAL;
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Gateway *g = userdata;
        g->stopping = true;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int gateway_start(Gateway *g) {
        struct sockaddr_storage ss = {};
        socklen_t sslen = 0;
        unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        int listen_fd = -1, pairing_fd = -1, n, r;
        char **names = NULL;

        /* pic-gatewayd.socket's, and pic-gatewayd-pairing.socket's when it is enabled
         * (FileDescriptorName=pairing: only pairing requests are served there) */
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to read sockets passed by systemd: %m");
        for (int i = 0; i < n; i++) {
                if (names && names[i] && streq(names[i], "pairing") && pairing_fd < 0)
                        pairing_fd = SD_LISTEN_FDS_START + i;
                else if (listen_fd < 0)
                        listen_fd = SD_LISTEN_FDS_START + i;
                else
                        log_warning("Got more sockets from systemd than one for each listener; ignoring fd %d.",
                                    SD_LISTEN_FDS_START + i);
        }
        strv_free(names);
        if (listen_fd < 0 && n > 0)
                return log_error_errno(-EINVAL, "systemd passed only a pairing socket; pic-gatewayd.socket is missing.");
        if (listen_fd < 0) {
                r = gateway_parse_listen(g->config.listen, &ss, &sslen);
                if (r < 0)
                        return log_error_errno(r, "--listen=%s is not ADDR:PORT with a numeric address.",
                                               g->config.listen);
                if (ss.ss_family == AF_INET6)
                        flags |= MHD_USE_IPv6;
        }

        r = slow_clients_new(g->event, g->config.header_timeout_usec, &g->slow_clients);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the header timeout: %m");
        if (listen_fd >= 0)
                g->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_access_handler, g,
                                          MHD_OPTION_LISTEN_SOCKET, listen_fd,
                                          MHD_OPTION_NOTIFY_COMPLETED, http_request_completed, g,
                                          MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned) 1024,
                                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, g->config.connections_per_client,
                                          MHD_OPTION_NOTIFY_CONNECTION, slow_clients_notify, g->slow_clients,
                                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 128 * 1024,
                                          MHD_OPTION_END);
        else
                g->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_access_handler, g,
                                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                          MHD_OPTION_NOTIFY_COMPLETED, http_request_completed, g,
                                          MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned) 1024,
                                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, g->config.connections_per_client,
                                          MHD_OPTION_NOTIFY_CONNECTION, slow_clients_notify, g->slow_clients,
                                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 128 * 1024,
                                          MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) 1024,
                                          MHD_OPTION_END);
        if (!g->mhd)
                return log_error_errno(-EADDRNOTAVAIL, "Failed to start the HTTP server on %s.",
                                       listen_fd >= 0 ? "the socket from systemd" : g->config.listen);

        const union MHD_DaemonInfo *info = MHD_get_daemon_info(g->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return log_error_errno(-EOPNOTSUPP, "libmicrohttpd gives no epoll fd.");
        r = sd_event_add_io(g->event, &g->mhd_io, info->epoll_fd, EPOLLIN, on_mhd_io, g);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the HTTP server: %m");
        /* accuracy 1 µs: sd-event would otherwise coalesce MHD's timeouts by up to 250 ms */
        r = sd_event_add_time(g->event, &g->mhd_timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_mhd_timer, g);
        if (r < 0)
                return log_error_errno(r, "Failed to add the HTTP timer: %m");
        r = sd_event_add_defer(g->event, &g->mhd_kick, on_mhd_kick, g);
        if (r < 0)
                return log_error_errno(r, "Failed to add the HTTP kick: %m");
        (void) sd_event_source_set_enabled(g->mhd_kick, SD_EVENT_OFF);
        info = MHD_get_daemon_info(g->mhd, MHD_DAEMON_INFO_BIND_PORT);
        g->port = info ? info->port : 0;

        r = sd_event_add_signal(g->event, NULL, SIGTERM, on_signal, g);
        if (r >= 0)
                r = sd_event_add_signal(g->event, NULL, SIGINT, on_signal, g);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = sd_bus_open_system(&g->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* the gateway never waits for a person at a polkit agent */
        (void) sd_bus_set_allow_interactive_authorization(g->bus, false);
        r = sd_bus_attach_event(g->bus, g->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* a lost bus ends the loop; systemd restarts us */
        (void) sd_bus_set_exit_on_disconnect(g->bus, true);

        if (pairing_fd >= 0 || g->config.pairing_listen) {
                r = pairing_listener_start(pairing_fd >= 0 ? NULL : g->config.pairing_listen, pairing_fd,
                                           g->config.bus_timeout_usec, &g->pairing);
                if (r < 0)
                        return r;
        }

        r = session_authority_start(g, &g->authority);
        if (r < 0)
                return r;
        r = peer_cache_new(&g->peers);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the peer list: %m");
        r = events_new(&g->events, g);
        if (r < 0)
                return r;
        r = events_start(g->events);
        if (r < 0)
                return r;

        if (listen_fd >= 0)
                log_info("Serving HTTP on the socket from systemd.");
        else
                log_info("Serving HTTP on %s (port %u).", g->config.listen, g->port);
        gateway_update_timer(g);
        return 0;
}

int gateway_run(Gateway *g) {
        return sd_event_loop(g->event);
}
