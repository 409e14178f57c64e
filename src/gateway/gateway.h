/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-api.h"
#include "forwarded.h"
#include "macro.h"
#include "sessions.h"

struct MHD_Daemon;
typedef struct Request Request;
typedef struct Sessions Sessions;
typedef struct LoginLimiter LoginLimiter;
typedef struct Events Events;
typedef struct Metrics Metrics;


typedef struct GatewayConfig {
        const char *listen;            /* ADDR:PORT; ignored with sockets from systemd */
        const char *pairing_listen;    /* ADDR:PORT for other cells' pairing requests; NULL: none */
        const char *web_root;
        const char *metrics_token_file; /* the scrape token for /metrics (Authorization: Bearer) */
        char **allowed_hosts;          /* --allowed-host: NAME or NAME:PORT, besides loopback and the listen address */
        ProxyNet *trusted_proxies;     /* --trusted-proxy: peers whose X-Forwarded-* headers are believed */
        size_t n_trusted_proxies;
        uint64_t session_idle_usec;
        uint64_t bus_timeout_usec;     /* every bus call ends (504) after this; > the cell's polkit wait */
        unsigned login_attempts;       /* login attempts allowed per window for a user at an address (4x per address) */
        unsigned login_rate;           /* password checks per second for everyone together */
        unsigned connections_per_client; /* open connections one client address may hold */
        uint64_t header_timeout_usec;  /* a request's headers must arrive within this */
        uint64_t login_window_usec;
        uint64_t sse_keepalive_usec;
} GatewayConfig;

typedef enum SetupState {
        SETUP_UNKNOWN = -1,
        SETUP_NO = 0,
        SETUP_YES = 1,
} SetupState;

typedef struct Gateway {
        GatewayConfig config;
        sd_event *event;
        sd_bus *bus;
        struct MHD_Daemon *mhd;
        sd_event_source *mhd_io, *mhd_timer, *mhd_kick;
        Sessions *sessions;
        LoginLimiter *limiter;
        CheckBudget check_budget;
        Events *events;
        struct PeerCache *peers;            /* peer-cache.h: fed by events.c */
        struct SessionAuthority *authority; /* session-authority.h */
        struct SlowClients *slow_clients;   /* slow-clients.h */
        char **allowed_hosts;   /* config.allowed_hosts and the cell's own names (cell-hosts.h) */
        Metrics *metrics;
        struct PairingListener *pairing; /* pairing-listener.h */
        char *metrics_token;    /* from config.metrics_token_file; NULL: admin sessions only */
        SetupState setup;       /* cached Manager.SetupComplete, refreshed by signals */
        Request *suspended;     /* requests waiting for the bus; resumed before MHD stops */
        uint16_t port;
        bool stopping;
} Gateway;

int gateway_new(Gateway **ret, const GatewayConfig *config);
struct sockaddr_storage;
/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric only. */
int gateway_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned *len);
Gateway *gateway_free(Gateway *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Gateway *, gateway_free);
int gateway_start(Gateway *g);
int gateway_run(Gateway *g);
/* Makes MHD look at its connections again soon (after a resume from outside it). */
void gateway_kick(Gateway *g);
