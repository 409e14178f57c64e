/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddns.h"
#include "fileio.h"
#include "json-strict.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "names.h"
#include "state.h"

#define DDNS_FILE "ddns.json"

void ddns_config_done(DdnsConfig *c) {
        char **secrets[] = { &c->token, &c->password };
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                erase_and_freep(secrets[i]);
        free(c->provider);
        free(c->hostname);
        free(c->username);
        free(c->zone_id);
        free(c->record_id);
        free(c->server);
        free(c->address_source);
        free(c->published_address);
        free(c->stopped_reason);
        *c = (DdnsConfig) {};
}

bool ddns_change_is_empty(const DdnsChange *ch) {
        return !ch->has_provider && !ch->has_hostname && !ch->has_token && !ch->has_username && !ch->has_password &&
               !ch->has_zone_id && !ch->has_record_id && !ch->has_server && !ch->has_address_source;
}

bool ddns_address_source_is_valid(const char *s) {
        return s && (streq(s, DDNS_SOURCE_UPLINK) || ddns_https_url_is_valid(s, true));
}

DdnsSettings ddns_config_settings(const DdnsConfig *c) {
        return (DdnsSettings) {
                .provider = c->provider, .hostname = c->hostname, .token = c->token, .username = c->username,
                .password = c->password, .zone_id = c->zone_id, .record_id = c->record_id, .server = c->server,
        };
}

bool ddns_config_settings_equal(const DdnsConfig *a, const DdnsConfig *b) {
        return streq_ptr(a->provider, b->provider) && streq_ptr(a->hostname, b->hostname) &&
               streq_ptr(a->token, b->token) && streq_ptr(a->username, b->username) &&
               streq_ptr(a->password, b->password) && streq_ptr(a->zone_id, b->zone_id) &&
               streq_ptr(a->record_id, b->record_id) && streq_ptr(a->server, b->server) &&
               streq_ptr(a->address_source, b->address_source);
}

/* given: the new value ("" clears) when has, else the old one. */
static int pick(char **dst, bool has, const char *given, const char *old) {
        const char *v = has ? (isempty(given) ? NULL : given) : old;
        *dst = v ? strdup(v) : NULL;
        return v && !*dst ? -ENOMEM : 0;
}

int ddns_config_change(const DdnsConfig *old, const DdnsChange *ch, DdnsConfig *ret, char error[DDNS_ERROR_MAX]) {
        DdnsConfig c = {};
        int r;

        if (ch->has_provider && isempty(ch->provider)) { /* off: nothing else may be given */
                if (ch->has_hostname || ch->has_token || ch->has_username || ch->has_password || ch->has_zone_id ||
                    ch->has_record_id || ch->has_server || ch->has_address_source) {
                        snprintf(error, DDNS_ERROR_MAX, "DdnsProvider \"\" turns dynamic DNS off and takes no other "
                                 "Ddns setting");
                        return -EINVAL;
                }
                *ret = c;
                return 0;
        }
        if ((r = pick(&c.provider, ch->has_provider, ch->provider, old->provider)) < 0 ||
            (r = pick(&c.hostname, ch->has_hostname, ch->hostname, old->hostname)) < 0 ||
            (r = pick(&c.token, ch->has_token, ch->token, old->token)) < 0 ||
            (r = pick(&c.username, ch->has_username, ch->username, old->username)) < 0 ||
            (r = pick(&c.password, ch->has_password, ch->password, old->password)) < 0 ||
            (r = pick(&c.zone_id, ch->has_zone_id, ch->zone_id, old->zone_id)) < 0 ||
            (r = pick(&c.record_id, ch->has_record_id, ch->record_id, old->record_id)) < 0 ||
            (r = pick(&c.server, ch->has_server, ch->server, old->server)) < 0 ||
            (r = pick(&c.address_source, ch->has_address_source, ch->address_source, old->address_source)) < 0)
                goto fail;
        if (!c.address_source && !(c.address_source = strdup(DDNS_SOURCE_UPLINK))) {
                r = -ENOMEM;
                goto fail;
        }
        if (!c.provider) {
                snprintf(error, DDNS_ERROR_MAX, "DdnsProvider is needed first: duckdns, cloudflare, noip, freedns or "
                         "dyndns2");
                r = -EINVAL;
                goto fail;
        }
        DdnsSettings s = ddns_config_settings(&c);
        r = ddns_settings_validate(&s, error);
        if (r < 0)
                goto fail;
        if (!ddns_address_source_is_valid(c.address_source)) {
                snprintf(error, DDNS_ERROR_MAX, "DdnsAddressSource must be \"uplink\" or an https URL answering with "
                         "the address (https://HOST[:PORT][/PATH])");
                r = -EINVAL;
                goto fail;
        }
        if (ddns_config_settings_equal(old, &c)) { /* same settings: what was published still holds */
                if ((old->published_address && !(c.published_address = strdup(old->published_address))) ||
                    (old->stopped_reason && !(c.stopped_reason = strdup(old->stopped_reason)))) {
                        r = -ENOMEM;
                        goto fail;
                }
                c.published_usec = old->published_usec;
        }
        *ret = c;
        return 0;
fail:
        ddns_config_done(&c);
        return r;
}

int ddns_config_to_json(const DdnsConfig *c, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        const struct {
                const char *key, *value;
        } strings[] = {
                { "provider", c->provider },   { "hostname", c->hostname },   { "token", c->token },
                { "username", c->username },   { "password", c->password },   { "zone_id", c->zone_id },
                { "record_id", c->record_id }, { "server", c->server },       { "address_source", c->address_source },
                { "published_address", c->published_address }, { "stopped_reason", c->stopped_reason },
        };
        if (!o || !cJSON_AddNumberToObject(o, "schema", STATE_SCHEMA_VERSION))
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strings[i].value && !cJSON_AddStringToObject(o, strings[i].key, strings[i].value))
                        return -ENOMEM;
        char usec[24];
        snprintf(usec, sizeof usec, "%" PRIu64, c->published_usec); /* a string: a double would round it */
        if (c->published_address && !cJSON_AddStringToObject(o, "published_usec", usec))
                return -ENOMEM;
        char *text = cJSON_PrintUnformatted(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int ddns_config_from_json(const char *text, DdnsConfig *ret, char *why, size_t size) {
        _cleanup_(cjson_deletep) cJSON *o = json_parse_strict(text, strlen(text), why, size);
        if (!o)
                return -EINVAL;
        if (!cJSON_IsObject(o)) {
                snprintf(why, size, "not a JSON object");
                return -EINVAL;
        }
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(o, "schema");
        if (!cJSON_IsNumber(schema) || schema->valuedouble != STATE_SCHEMA_VERSION) {
                snprintf(why, size, "schema is not %d", STATE_SCHEMA_VERSION);
                return -EINVAL;
        }
        DdnsConfig c = {};
        struct {
                const char *key;
                char **target;
        } strings[] = {
                { "provider", &c.provider },   { "hostname", &c.hostname },   { "token", &c.token },
                { "username", &c.username },   { "password", &c.password },   { "zone_id", &c.zone_id },
                { "record_id", &c.record_id }, { "server", &c.server },       { "address_source", &c.address_source },
                { "published_address", &c.published_address }, { "stopped_reason", &c.stopped_reason },
        };
        const cJSON *item;
        int r = 0;
        cJSON_ArrayForEach(item, o) {
                size_t i;
                if (streq(item->string, "schema"))
                        continue;
                if (streq(item->string, "published_usec")) {
                        char *end = NULL;
                        if (!cJSON_IsString(item) || !item->valuestring[0] ||
                            (c.published_usec = strtoull(item->valuestring, &end, 10), *end)) {
                                snprintf(why, size, "published_usec is not a number");
                                r = -EINVAL;
                                goto fail;
                        }
                        continue;
                }
                for (i = 0; i < ELEMENTSOF(strings); i++)
                        if (streq(item->string, strings[i].key))
                                break;
                if (i == ELEMENTSOF(strings)) {
                        snprintf(why, size, "unknown member %.*s", utf8_prefix_len(item->string, 32), item->string);
                        r = -EINVAL;
                        goto fail;
                }
                if (!cJSON_IsString(item)) {
                        snprintf(why, size, "%s is not a string", strings[i].key);
                        r = -EINVAL;
                        goto fail;
                }
                if (!(*strings[i].target = strdup(item->valuestring))) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (!c.provider && ddns_config_settings_equal(&c, &(DdnsConfig) {}) && !c.published_address &&
            !c.stopped_reason) {
                *ret = c; /* {"schema": 1}: off (what a restore stages for a backup without one) */
                return 0;
        }
        char error[DDNS_ERROR_MAX] = "no provider";
        DdnsSettings s = ddns_config_settings(&c);
        if (!c.provider || ddns_settings_validate(&s, error) < 0) {
                snprintf(why, size, "%s", error);
                r = -EINVAL;
                goto fail;
        }
        if (!ddns_address_source_is_valid(c.address_source) ||
            (c.published_address && !ddns_address_is_valid(c.published_address)) ||
            (c.stopped_reason && !string_is_printable_ascii(c.stopped_reason, DDNS_ERROR_MAX))) {
                snprintf(why, size, "address_source, published_address or stopped_reason is not valid");
                r = -EINVAL;
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        ddns_config_done(&c);
        return r;
}

int ddns_config_load(int state_fd, DdnsConfig *ret) {
        _cleanup_(erase_and_freep) char *text = NULL;
        char why[256];
        int r = read_file_at(state_fd, DDNS_FILE, STATE_FILE_MAX, &text, NULL);
        if (r == -ENOENT) {
                *ret = (DdnsConfig) {};
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read " DDNS_FILE ": %m");
        r = ddns_config_from_json(text, ret, why, sizeof why);
        if (r == -EINVAL)
                return log_error_errno(r, DDNS_FILE " is unusable: %s. It was left as it is.", why);
        return r;
}

int ddns_config_save(int state_fd, const DdnsConfig *c) {
        if (!c->provider) {
                int r = unlink_durable(state_fd, DDNS_FILE);
                return r == -ENOENT ? 0 : r;
        }
        _cleanup_(erase_and_freep) char *text = NULL;
        int r = ddns_config_to_json(c, &text);
        if (r < 0)
                return r;
        return write_file_atomic(state_fd, DDNS_FILE, text, strlen(text), 0600);
}
