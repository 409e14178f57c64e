/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cell's dynamic DNS settings and what was last published, in ddns.json
 * (0600: it holds the provider's token or password). No bus, no I/O but the
 * state file. */

#include <stdbool.h>
#include <stdint.h>

#include "ddns/ddns-provider.h"

#define DDNS_SOURCE_UPLINK "uplink"

typedef struct DdnsConfig {
        char *provider; /* NULL: no dynamic DNS */
        char *hostname, *token, *username, *password, *zone_id, *record_id, *server;
        char *address_source; /* "uplink" or an https URL answering with the caller's address */
        /* kept across restarts */
        char *published_address; /* what the provider last took, NULL: nothing yet */
        uint64_t published_usec; /* when (CLOCK_REALTIME) */
        char *stopped_reason;    /* the provider said stop: no updates until the settings change */
} DdnsConfig;

/* What Configure was given: NULL not given, "" clears (DdnsProvider "" turns it all off). */
typedef struct DdnsChange {
        const char *provider, *hostname, *token, *username, *password, *zone_id, *record_id, *server,
                *address_source;
        bool has_provider, has_hostname, has_token, has_username, has_password, has_zone_id, has_record_id,
                has_server, has_address_source;
} DdnsChange;

void ddns_config_done(DdnsConfig *c);
bool ddns_change_is_empty(const DdnsChange *ch);
/* old with ch applied into ret, checked whole (every refusal names its setting, never quotes a
 * secret). A change of any setting forgets what was published and a provider's stop.
 * 0, -EINVAL with error, -ENOMEM. */
int ddns_config_change(const DdnsConfig *old, const DdnsChange *ch, DdnsConfig *ret, char error[DDNS_ERROR_MAX]);
/* Whether the settings (not what was published) differ. */
bool ddns_config_settings_equal(const DdnsConfig *a, const DdnsConfig *b);
DdnsSettings ddns_config_settings(const DdnsConfig *c);
bool ddns_address_source_is_valid(const char *s);

/* Without a provider: {"schema": 1}, which reads back as off. */
int ddns_config_to_json(const DdnsConfig *c, char **ret);
int ddns_config_from_json(const char *text, DdnsConfig *ret, char *why, size_t size);
/* No ddns.json: an empty config. */
int ddns_config_load(int state_fd, DdnsConfig *ret);
/* Without a provider the file is removed. */
int ddns_config_save(int state_fd, const DdnsConfig *c);
