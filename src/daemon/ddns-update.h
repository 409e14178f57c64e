/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeps the dynamic DNS name pointing at the cell's public address, on the
 * loop: the address is learned from the uplink's IPv4 address or an https
 * "what is my address" service every check interval (and when the uplink
 * changes); the provider is told when it differs from what it last took, and
 * once a day. Errors back off exponentially up to a cap; a provider's "stop"
 * (bad credentials, abuse, ...) ends updates until the settings change.
 * Requests go through http-client.c; neither a request nor a secret is ever
 * logged. */

#include "ddns.h"
#include "manager.h"

typedef enum DdnsState {
        DDNS_STATE_OFF,        /* no provider set */
        DDNS_STATE_CHECKING,   /* learning the address */
        DDNS_STATE_UPDATING,   /* telling the provider */
        DDNS_STATE_UP_TO_DATE, /* the provider has the address */
        DDNS_STATE_RETRYING,   /* the last attempt failed; another follows (DdnsLastError says why) */
        DDNS_STATE_STOPPED,    /* the provider said stop (DdnsLastError says why) */
        _DDNS_STATE_MAX,
} DdnsState;

typedef struct Ddns {
        DdnsConfig config;
        DdnsState state;
        char *address;                 /* the address learned last, NULL: none yet */
        char last_error[DDNS_ERROR_MAX];
        unsigned failures;             /* in a row, for the backoff */
        sd_event_source *timer;
        struct HttpRequest *request;   /* an address lookup or an update in flight */
        bool request_is_update;
} Ddns;

const char *ddns_state_to_string(DdnsState s);

/* At start: loads ddns.json and schedules the first check. */
int ddns_start(Manager *m);
void ddns_free(Manager *m);
/* Adopts c (taken; already stored with ddns_config_save()) and, when its settings differ,
 * starts over with it: a request in flight is dropped, the backoff and a stop forgotten. */
void ddns_adopt_config(Manager *m, DdnsConfig *c);
/* When endpoint ("host:port") names the dynamic DNS hostname, the address the provider last
 * took: what linked cells are told instead of the name (their WireGuard takes addresses only).
 * NULL otherwise. */
const char *ddns_endpoint_address(Manager *m, const char *endpoint);

/* The uplink changed: check the address now (unless stopped or busy). */
void ddns_uplink_changed(Manager *m);
