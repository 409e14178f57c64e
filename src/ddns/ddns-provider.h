/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Dynamic DNS providers as data: each is one table entry (method, URL
 * template, how it authenticates, how its answer reads). From settings and an
 * address this builds the HTTP request to send, and it reads the provider's
 * answer into one of four verdicts. No I/O, no bus, no curl here.
 *
 * Secrets (a token, a password) end up in the request's URL or headers, never
 * in an error or a verdict's reason: callers must not log a request. */

#include <stdbool.h>
#include <stddef.h>

#define DDNS_ERROR_MAX 256
#define DDNS_HEADERS_MAX 4

typedef enum DdnsProviderId {
        DDNS_PROVIDER_DUCKDNS,
        DDNS_PROVIDER_CLOUDFLARE,
        DDNS_PROVIDER_NOIP,
        DDNS_PROVIDER_FREEDNS,
        DDNS_PROVIDER_DYNDNS2, /* any dyndns2 server, at the settings' server URL */
        _DDNS_PROVIDER_MAX,
        _DDNS_PROVIDER_INVALID = -1,
} DdnsProviderId;

/* What a provider needs besides a hostname. */
typedef enum DdnsCredential {
        DDNS_CREDENTIAL_TOKEN,         /* token */
        DDNS_CREDENTIAL_USER_PASSWORD, /* username and password */
} DdnsCredential;

/* All strings borrowed; NULL when not given. */
typedef struct DdnsSettings {
        const char *provider;  /* a name from the table: "duckdns", "cloudflare", ... */
        const char *hostname;  /* the name to keep pointing at the address */
        const char *token;
        const char *username;
        const char *password;
        const char *zone_id;   /* cloudflare: the zone's id (32 hex digits) */
        const char *record_id; /* cloudflare: the A record's id (32 hex digits) */
        const char *server;    /* dyndns2: https://host[:port][/path] of the update URL */
} DdnsSettings;

typedef struct DdnsRequest {
        const char *method; /* "GET" or "PATCH" (static) */
        char *url;          /* may carry the token: never log it */
        char *headers[DDNS_HEADERS_MAX + 1]; /* "Name: value", NULL-terminated; may carry a secret */
        char *body;         /* NULL: none */
} DdnsRequest;

typedef enum DdnsAnswer {
        DDNS_ANSWER_UPDATED,   /* the record now holds the address */
        DDNS_ANSWER_UNCHANGED, /* it already did */
        DDNS_ANSWER_RETRY,     /* try again later (with backoff) */
        DDNS_ANSWER_STOP,      /* the provider refused the settings or asked us to stop: no more
                                * updates until the settings change */
} DdnsAnswer;

typedef struct DdnsVerdict {
        DdnsAnswer answer;
        unsigned retry_after_sec;     /* RETRY: the least wait the provider asks for (0: ours) */
        char reason[DDNS_ERROR_MAX];  /* RETRY and STOP: why, for a person; empty otherwise */
} DdnsVerdict;

DdnsProviderId ddns_provider_from_string(const char *s);
const char *ddns_provider_to_string(DdnsProviderId id);
DdnsCredential ddns_provider_credential(DdnsProviderId id);
/* The origin requests go to unless overridden ("https://www.duckdns.org"); NULL for dyndns2,
 * whose server comes from the settings. */
const char *ddns_provider_default_base(DdnsProviderId id);

/* Checks every field the provider needs (and refuses ones it does not take), each refusal naming
 * its setting (DdnsHostname, DdnsToken, ...) and never quoting a secret. 0 or -EINVAL with
 * error set. */
int ddns_settings_validate(const DdnsSettings *s, char error[DDNS_ERROR_MAX]);

/* Whether s is "https://HOST[:PORT]", with allow_path also followed by a path of
 * [A-Za-z0-9/._~-] (no query); HOST a lower-case DNS name or an IPv4 address. */
bool ddns_https_url_is_valid(const char *s, bool allow_path);

/* Whether s is a dotted-quad IPv4 address (what the request carries). */
bool ddns_address_is_valid(const char *s);

/* The request that points s->hostname at address. base: when not NULL, an "https://host[:port]"
 * replacing the provider's origin (tests' stand-in servers). 0, -EINVAL with error set, or
 * -ENOMEM. */
int ddns_request_build(const DdnsSettings *s, const char *address, const char *base, DdnsRequest **ret,
                       char error[DDNS_ERROR_MAX]);
/* Wipes the secrets it carried. Returns NULL. */
DdnsRequest *ddns_request_free(DdnsRequest *r);

/* Reads a provider's answer: status is the HTTP status, body its body (not necessarily
 * NUL-terminated, any bytes). Never fails: what it cannot read is RETRY with a reason. */
void ddns_answer_read(DdnsProviderId id, long status, const char *body, size_t size, DdnsVerdict *ret);
const char *ddns_answer_to_string(DdnsAnswer a);
