/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1 /* asprintf */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "ddns-provider.h"
#include "macro.h"
#include "names.h"

typedef enum DdnsAuth {
        DDNS_AUTH_IN_URL, /* the token is part of the URL template */
        DDNS_AUTH_BASIC,
        DDNS_AUTH_BEARER,
} DdnsAuth;

typedef enum DdnsDialect {
        DDNS_DIALECT_DUCKDNS,    /* "OK" / "KO", with verbose=true a line UPDATED or NOCHANGE */
        DDNS_DIALECT_DYNDNS2,    /* a return code as the first word: good, nochg, badauth, ... */
        DDNS_DIALECT_FREEDNS,    /* "Updated ..." or "ERROR: ..." */
        DDNS_DIALECT_CLOUDFLARE, /* API v4's JSON envelope: success, errors[].code */
} DdnsDialect;

typedef struct DdnsProvider {
        const char *name;
        const char *method;
        const char *base;        /* NULL: the settings' server */
        const char *url_template; /* after the base; {host} {sub} {token} {ip} {zone} {record} */
        const char *body_template; /* NULL: no body */
        DdnsAuth auth;
        DdnsCredential credential;
        const char *token_doc;   /* for a refusal; NULL when no token is taken */
        const char *token_chars; /* besides letters and digits */
        size_t token_min, token_max;
        const char *host_suffix; /* the provider's domain a hostname must be one label under */
        bool needs_zone;         /* zone and record ids */
        bool needs_server;
        DdnsDialect dialect;
} DdnsProvider;

/* Protocols as each provider documents them:
 * duckdns: https://www.duckdns.org/spec.jsp
 * cloudflare: https://developers.cloudflare.com/api/ (PATCH zones/{zone}/dns_records/{record})
 * noip and dyndns2: https://www.noip.com/integrate/request, the dyndns2 return codes
 * freedns: https://freedns.afraid.org/dynamic/ (the per-host update token) */
static const DdnsProvider providers[_DDNS_PROVIDER_MAX] = {
        [DDNS_PROVIDER_DUCKDNS] = {
                .name = "duckdns",
                .method = "GET",
                .base = "https://www.duckdns.org",
                .url_template = "/update?domains={sub}&token={token}&ip={ip}&verbose=true",
                .auth = DDNS_AUTH_IN_URL,
                .credential = DDNS_CREDENTIAL_TOKEN,
                .token_doc = "a duckdns token: 36 characters of hex digits and '-'",
                .token_chars = "-",
                .token_min = 36, .token_max = 36,
                .host_suffix = "duckdns.org",
                .dialect = DDNS_DIALECT_DUCKDNS,
        },
        [DDNS_PROVIDER_CLOUDFLARE] = {
                .name = "cloudflare",
                .method = "PATCH",
                .base = "https://api.cloudflare.com",
                .url_template = "/client/v4/zones/{zone}/dns_records/{record}",
                .body_template = "{\"type\":\"A\",\"name\":\"{host}\",\"content\":\"{ip}\"}",
                .auth = DDNS_AUTH_BEARER,
                .credential = DDNS_CREDENTIAL_TOKEN,
                .token_doc = "a cloudflare API token: 40-64 characters of letters, digits, '-' and '_'",
                .token_chars = "-_",
                .token_min = 40, .token_max = 64,
                .needs_zone = true,
                .dialect = DDNS_DIALECT_CLOUDFLARE,
        },
        [DDNS_PROVIDER_NOIP] = {
                .name = "noip",
                .method = "GET",
                .base = "https://dynupdate.no-ip.com",
                .url_template = "/nic/update?hostname={host}&myip={ip}",
                .auth = DDNS_AUTH_BASIC,
                .credential = DDNS_CREDENTIAL_USER_PASSWORD,
                .dialect = DDNS_DIALECT_DYNDNS2,
        },
        [DDNS_PROVIDER_FREEDNS] = {
                .name = "freedns",
                .method = "GET",
                .base = "https://freedns.afraid.org",
                .url_template = "/dynamic/update.php?{token}&address={ip}",
                .auth = DDNS_AUTH_IN_URL,
                .credential = DDNS_CREDENTIAL_TOKEN,
                .token_doc = "a freedns update token: 16-128 characters of letters, digits, '+', '/' and '='",
                .token_chars = "+/=",
                .token_min = 16, .token_max = 128,
                .dialect = DDNS_DIALECT_FREEDNS,
        },
        [DDNS_PROVIDER_DYNDNS2] = {
                .name = "dyndns2",
                .method = "GET",
                .url_template = "?hostname={host}&myip={ip}",
                .auth = DDNS_AUTH_BASIC,
                .credential = DDNS_CREDENTIAL_USER_PASSWORD,
                .needs_server = true,
                .dialect = DDNS_DIALECT_DYNDNS2,
        },
};

#define PROVIDER_NAMES_DOC "duckdns, cloudflare, noip, freedns or dyndns2"
#define CREDENTIAL_MAX 128
#define CLOUDFLARE_ID_LEN 32

DdnsProviderId ddns_provider_from_string(const char *s) {
        if (!s)
                return _DDNS_PROVIDER_INVALID;
        for (int i = 0; i < _DDNS_PROVIDER_MAX; i++)
                if (streq(providers[i].name, s))
                        return (DdnsProviderId) i;
        return _DDNS_PROVIDER_INVALID;
}

const char *ddns_provider_to_string(DdnsProviderId id) {
        return id >= 0 && id < _DDNS_PROVIDER_MAX ? providers[id].name : NULL;
}

DdnsCredential ddns_provider_credential(DdnsProviderId id) {
        return providers[id].credential;
}

const char *ddns_provider_default_base(DdnsProviderId id) {
        return providers[id].base;
}

const char *ddns_answer_to_string(DdnsAnswer a) {
        static const char *const names[] = {
                [DDNS_ANSWER_UPDATED] = "updated",
                [DDNS_ANSWER_UNCHANGED] = "unchanged",
                [DDNS_ANSWER_RETRY] = "retry",
                [DDNS_ANSWER_STOP] = "stop",
        };
        return a >= 0 && a < (DdnsAnswer) ELEMENTSOF(names) ? names[a] : NULL;
}

_printf_(2, 3) static int refuse(char error[DDNS_ERROR_MAX], const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, DDNS_ERROR_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool token_is_valid(const DdnsProvider *p, const char *t) {
        size_t n = strlen(t);
        if (n < p->token_min || n > p->token_max)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (p->dialect == DDNS_DIALECT_DUCKDNS ? !is_hex(t[i]) && t[i] != '-'
                                                       : !is_alnum(t[i]) && !strchr(p->token_chars, t[i]))
                        return false;
        }
        return true;
}

static bool hex_id_is_valid(const char *s) {
        if (strlen(s) != CLOUDFLARE_ID_LEN)
                return false;
        for (const char *c = s; *c; c++)
                if (!is_hex(*c))
                        return false;
        return true;
}

bool ddns_address_is_valid(const char *s) {
        struct in_addr a;
        /* inet_pton takes exactly the dotted quad (no octal, no short forms) */
        return s && strlen(s) <= 15 && inet_pton(AF_INET, s, &a) == 1;
}

bool ddns_https_url_is_valid(const char *s, bool allow_path) {
        if (!s || !startswith(s, "https://") || strlen(s) > 512)
                return false;
        const char *host = s + strlen("https://");
        size_t hl = strcspn(host, ":/");
        if (hl == 0 || hl > 253)
                return false;
        char h[254];
        memcpy(h, host, hl);
        h[hl] = '\0';
        if (!dns_domain_is_valid(h) && !ddns_address_is_valid(h))
                return false;
        const char *rest = host + hl;
        if (*rest == ':') {
                rest++;
                unsigned long port = 0;
                size_t digits = 0;
                for (; *rest >= '0' && *rest <= '9' && digits < 6; rest++, digits++)
                        port = port * 10 + (unsigned long) (*rest - '0');
                if (digits == 0 || port == 0 || port > 65535)
                        return false;
        }
        if (*rest == '\0')
                return true;
        if (!allow_path || *rest != '/')
                return false;
        for (; *rest; rest++)
                if (!is_alnum(*rest) && !strchr("/._~-", *rest))
                        return false;
        return true;
}

static bool credential_is_valid(const char *s, bool is_user) {
        size_t n = strlen(s);
        if (n == 0 || n > CREDENTIAL_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c > 0x7e || (is_user && (c == ':' || c == ' ')))
                        return false;
        }
        return true;
}

int ddns_settings_validate(const DdnsSettings *s, char error[DDNS_ERROR_MAX]) {
        DdnsProviderId id = ddns_provider_from_string(s->provider);
        if (id < 0)
                return refuse(error, "DdnsProvider must be one of " PROVIDER_NAMES_DOC);
        const DdnsProvider *p = &providers[id];

        if (!s->hostname)
                return refuse(error, "DdnsHostname is needed for %s", p->name);
        if (!dns_domain_is_valid(s->hostname) || !strchr(s->hostname, '.'))
                return refuse(error, "DdnsHostname must be a fully qualified name: labels of " DNS_LABEL_DOC
                              ", joined by '.', at most 253 characters");
        if (p->host_suffix) {
                const char *dot = strchr(s->hostname, '.');
                if (!streq(dot + 1, p->host_suffix))
                        return refuse(error, "DdnsHostname must be one name under %s (NAME.%s) for %s", p->host_suffix,
                                      p->host_suffix, p->name);
        }

        if (p->credential == DDNS_CREDENTIAL_TOKEN) {
                if (s->username || s->password)
                        return refuse(error, "%s takes DdnsToken, not DdnsUsername or DdnsPassword", p->name);
                if (!s->token)
                        return refuse(error, "DdnsToken is needed for %s", p->name);
                if (!token_is_valid(p, s->token))
                        return refuse(error, "DdnsToken must be %s", p->token_doc);
        } else {
                if (s->token)
                        return refuse(error, "%s takes DdnsUsername and DdnsPassword, not DdnsToken", p->name);
                if (!s->username)
                        return refuse(error, "DdnsUsername is needed for %s", p->name);
                if (!credential_is_valid(s->username, true))
                        return refuse(error, "DdnsUsername must be 1-%d printable ASCII characters without ':' or spaces",
                                      CREDENTIAL_MAX);
                if (!s->password)
                        return refuse(error, "DdnsPassword is needed for %s", p->name);
                if (!credential_is_valid(s->password, false))
                        return refuse(error, "DdnsPassword must be 1-%d printable ASCII characters", CREDENTIAL_MAX);
        }

        if (p->needs_zone) {
                if (!s->zone_id || !hex_id_is_valid(s->zone_id))
                        return refuse(error, "DdnsZoneId must be the zone's id for %s: %d hex digits", p->name,
                                      CLOUDFLARE_ID_LEN);
                if (!s->record_id || !hex_id_is_valid(s->record_id))
                        return refuse(error, "DdnsRecordId must be the A record's id for %s: %d hex digits", p->name,
                                      CLOUDFLARE_ID_LEN);
        } else if (s->zone_id || s->record_id)
                return refuse(error, "DdnsZoneId and DdnsRecordId are for cloudflare only, not %s", p->name);

        if (p->needs_server) {
                if (!s->server)
                        return refuse(error, "DdnsServer is needed for %s", p->name);
                if (!ddns_https_url_is_valid(s->server, true))
                        return refuse(error, "DdnsServer must be https://HOST[:PORT][/PATH] (a lower-case name or an "
                                      "IPv4 address; the path of letters, digits and '/._~-', no query)");
        } else if (s->server)
                return refuse(error, "DdnsServer is for dyndns2 only, not %s", p->name);
        return 0;
}

typedef struct Buf {
        char *data;
        size_t len, allocated;
} Buf;

static int buf_add(Buf *b, const char *s, size_t n) {
        if (greedy_realloc((void **) &b->data, &b->allocated, b->len + n + 1, 1) < 0)
                return -ENOMEM;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

/* Values are validated already; in a URL anything outside the unreserved set is escaped all
 * the same (a freedns token's '+', '/', '='). */
static int buf_add_value(Buf *b, const char *v, bool url) {
        for (; *v; v++) {
                int r;
                if (!url || is_alnum(*v) || strchr("-._~", *v))
                        r = buf_add(b, v, 1);
                else {
                        char esc[4];
                        snprintf(esc, sizeof esc, "%%%02X", (unsigned char) *v);
                        r = buf_add(b, esc, 3);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static void buf_wipe(Buf *b) {
        if (b->data) {
                explicit_bzero(b->data, b->allocated);
                free(b->data);
        }
        *b = (Buf) {};
}

static int expand(Buf *b, const char *template, const DdnsSettings *s, const char *address, bool url) {
        char sub[DNS_LABEL_MAX + 1];
        const char *dot = strchr(s->hostname, '.');
        size_t sl = MIN((size_t) (dot - s->hostname), sizeof sub - 1);
        memcpy(sub, s->hostname, sl);
        sub[sl] = '\0';

        const struct {
                const char *name, *value;
        } vars[] = {
                { "{host}", s->hostname }, { "{sub}", sub },         { "{token}", s->token },
                { "{ip}", address },       { "{zone}", s->zone_id }, { "{record}", s->record_id },
        };
        for (const char *t = template; *t;) {
                const char *open = strchr(t, '{');
                size_t lit = open ? (size_t) (open - t) : strlen(t);
                if (buf_add(b, t, lit) < 0)
                        return -ENOMEM;
                t += lit;
                if (!open)
                        break;
                size_t i;
                for (i = 0; i < ELEMENTSOF(vars); i++)
                        if (startswith(t, vars[i].name))
                                break;
                if (i == ELEMENTSOF(vars)) { /* a literal brace (JSON) */
                        if (buf_add(b, t, 1) < 0)
                                return -ENOMEM;
                        t++;
                        continue;
                }
                if (vars[i].value && buf_add_value(b, vars[i].value, url) < 0)
                        return -ENOMEM;
                t += strlen(vars[i].name);
        }
        return 0;
}

static char *basic_auth_header(const char *user, const char *password) {
        size_t ul = strlen(user), pl = strlen(password);
        size_t raw_len = ul + 1 + pl;
        char *raw = malloc(raw_len + 1);
        if (!raw)
                return NULL;
        snprintf(raw, raw_len + 1, "%s:%s", user, password);
        size_t b64_len = sodium_base64_encoded_len(raw_len, sodium_base64_VARIANT_ORIGINAL);
        const char prefix[] = "Authorization: Basic ";
        char *h = malloc(sizeof prefix - 1 + b64_len);
        if (h) {
                memcpy(h, prefix, sizeof prefix - 1);
                sodium_bin2base64(h + sizeof prefix - 1, b64_len, (const unsigned char *) raw, raw_len,
                                  sodium_base64_VARIANT_ORIGINAL);
        }
        explicit_bzero(raw, raw_len);
        free(raw);
        return h;
}

static char *bearer_auth_header(const char *token) {
        char *s = NULL;
        return asprintf(&s, "Authorization: Bearer %s", token) < 0 ? NULL : s;
}

static char *header(const char *name, const char *value) {
        char *s = NULL;
        return asprintf(&s, "%s: %s", name, value) < 0 ? NULL : s;
}

DdnsRequest *ddns_request_free(DdnsRequest *r) {
        if (!r)
                return NULL;
        erase_and_freep(&r->url);
        for (size_t i = 0; i < DDNS_HEADERS_MAX; i++)
                erase_and_freep(&r->headers[i]);
        erase_and_freep(&r->body);
        free(r);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DdnsRequest *, ddns_request_free);

int ddns_request_build(const DdnsSettings *s, const char *address, const char *base, DdnsRequest **ret,
                       char error[DDNS_ERROR_MAX]) {
        int r = ddns_settings_validate(s, error);
        if (r < 0)
                return r;
        if (!ddns_address_is_valid(address))
                return refuse(error, "the address to publish must be an IPv4 address (a.b.c.d)");
        if (base && !ddns_https_url_is_valid(base, false))
                return refuse(error, "the provider's base URL must be https://HOST[:PORT]");

        const DdnsProvider *p = &providers[ddns_provider_from_string(s->provider)];
        _cleanup_(ddns_request_freep) DdnsRequest *req = calloc(1, sizeof *req);
        if (!req)
                return -ENOMEM;
        req->method = p->method;

        Buf url = {};
        const char *origin = p->needs_server ? s->server : (base ? base : p->base);
        if (buf_add(&url, origin, strlen(origin)) < 0 || expand(&url, p->url_template, s, address, true) < 0) {
                buf_wipe(&url);
                return -ENOMEM;
        }
        req->url = url.data;

        if (p->body_template) {
                Buf body = {};
                if (expand(&body, p->body_template, s, address, false) < 0) {
                        buf_wipe(&body);
                        return -ENOMEM;
                }
                req->body = body.data;
        }

        size_t n = 0;
        req->headers[n++] = header("User-Agent", "pic-celld/" PIC_VERSION);
        if (p->auth == DDNS_AUTH_BASIC)
                req->headers[n++] = basic_auth_header(s->username, s->password);
        else if (p->auth == DDNS_AUTH_BEARER)
                req->headers[n++] = bearer_auth_header(s->token);
        if (p->body_template)
                req->headers[n++] = strdup("Content-Type: application/json");
        for (size_t i = 0; i < n; i++)
                if (!req->headers[i])
                        return -ENOMEM;

        *ret = TAKE_PTR(req);
        return 0;
}

/* ---- answers ---- */

_printf_(4, 5) static void verdict(DdnsVerdict *v, DdnsAnswer a, unsigned retry_after_sec, const char *fmt, ...) {
        v->answer = a;
        v->retry_after_sec = retry_after_sec;
        v->reason[0] = '\0';
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(v->reason, sizeof v->reason, fmt, ap);
                va_end(ap);
        }
}

/* The first line of body (at most size - 1 bytes), trailing spaces and '\r' dropped. */
static void first_line(const char *body, size_t size, char *line, size_t line_size) {
        size_t n = 0;
        while (n < size && n < line_size - 1 && body[n] != '\n' && body[n] != '\0')
                n++;
        while (n > 0 && (body[n - 1] == '\r' || body[n - 1] == ' ' || body[n - 1] == '\t'))
                n--;
        memcpy(line, body, n);
        line[n] = '\0';
}

/* Whether one of body's lines (before any NUL) is exactly word. */
static bool has_line(const char *body, size_t size, const char *word) {
        size_t wl = strlen(word);
        for (size_t i = 0; i < size;) {
                size_t end = i;
                while (end < size && body[end] != '\n' && body[end] != '\0')
                        end++;
                size_t l = end - i;
                if (l > 0 && body[i + l - 1] == '\r')
                        l--;
                if (l == wl && memcmp(body + i, word, wl) == 0)
                        return true;
                if (end < size && body[end] == '\0')
                        return false;
                i = end + 1;
        }
        return false;
}

static void read_duckdns(const char *body, size_t size, DdnsVerdict *v) {
        char line[16];
        first_line(body, size, line, sizeof line);
        if (streq(line, "KO"))
                return verdict(v, DDNS_ANSWER_STOP, 0, "duckdns refused the update (KO): a wrong token or a domain "
                               "not in this account");
        if (!streq(line, "OK"))
                return verdict(v, DDNS_ANSWER_RETRY, 0, "duckdns answered something other than OK or KO");
        if (has_line(body, size, "NOCHANGE"))
                return verdict(v, DDNS_ANSWER_UNCHANGED, 0, NULL);
        return verdict(v, DDNS_ANSWER_UPDATED, 0, NULL);
}

/* dyndns2's return codes (the first word of the answer's first line). */
static const struct {
        const char *code;
        DdnsAnswer answer;
        unsigned retry_after_sec;
        const char *reason;
} dyndns2_codes[] = {
        { "good", DDNS_ANSWER_UPDATED, 0, NULL },
        { "nochg", DDNS_ANSWER_UNCHANGED, 0, NULL },
        { "badauth", DDNS_ANSWER_STOP, 0, "the provider refused the username or password (badauth)" },
        { "nohost", DDNS_ANSWER_STOP, 0, "the hostname is not in this account (nohost)" },
        { "notfqdn", DDNS_ANSWER_STOP, 0, "the provider does not take the hostname as a full name (notfqdn)" },
        { "numhost", DDNS_ANSWER_STOP, 0, "too many hosts in one update (numhost)" },
        { "abuse", DDNS_ANSWER_STOP, 0, "the provider blocked updates of this hostname for abuse (abuse)" },
        { "badagent", DDNS_ANSWER_STOP, 0, "the provider refused this client (badagent)" },
        { "!donator", DDNS_ANSWER_STOP, 0, "the update asks for a feature this account does not have (!donator)" },
        { "!yours", DDNS_ANSWER_STOP, 0, "the hostname belongs to another account (!yours)" },
        /* the protocol asks clients to wait at least 30 minutes after these */
        { "911", DDNS_ANSWER_RETRY, 1800, "the provider has a problem on its side (911)" },
        { "dnserr", DDNS_ANSWER_RETRY, 1800, "the provider's DNS failed (dnserr)" },
};

static void read_dyndns2(const char *body, size_t size, DdnsVerdict *v) {
        char line[64];
        first_line(body, size, line, sizeof line);
        line[strcspn(line, " \t")] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(dyndns2_codes); i++)
                if (streq(line, dyndns2_codes[i].code))
                        return verdict(v, dyndns2_codes[i].answer, dyndns2_codes[i].retry_after_sec,
                                       dyndns2_codes[i].reason ? "%s" : NULL, dyndns2_codes[i].reason);
        verdict(v, DDNS_ANSWER_RETRY, 0, "the provider answered with no dyndns2 return code");
}

static bool starts_with_n(const char *body, size_t size, const char *prefix) {
        size_t n = strlen(prefix);
        return size >= n && memcmp(body, prefix, n) == 0;
}

static void read_freedns(const char *body, size_t size, DdnsVerdict *v) {
        char line[256];
        first_line(body, size, line, sizeof line);
        if (startswith(line, "Updated "))
                return verdict(v, DDNS_ANSWER_UPDATED, 0, NULL);
        if (startswith(line, "ERROR: Address ") && strstr(line, " has not changed"))
                return verdict(v, DDNS_ANSWER_UNCHANGED, 0, NULL);
        if (startswith(line, "ERROR: Unable to locate this record") || startswith(line, "ERROR: Invalid update URL"))
                return verdict(v, DDNS_ANSWER_STOP, 0, "freedns does not know this update token");
        if (starts_with_n(body, size, "ERROR"))
                return verdict(v, DDNS_ANSWER_RETRY, 0, "freedns answered with an error");
        verdict(v, DDNS_ANSWER_RETRY, 0, "freedns answered something other than Updated or ERROR");
}

/* Cloudflare's codes for a token that is not (or no longer) good, or a zone or record it does not have. */
static bool cloudflare_code_is_settings(int code) {
        static const int codes[] = { 6003, 6111, 7003, 7000, 9103, 9106, 9109, 10000, 81044 };
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (code == codes[i])
                        return true;
        return false;
}

static void read_cloudflare(long status, const char *body, size_t size, DdnsVerdict *v) {
        cJSON *j = cJSON_ParseWithLength(body, size);
        const cJSON *success = cJSON_GetObjectItemCaseSensitive(j, "success");
        if (!cJSON_IsBool(success)) {
                cJSON_Delete(j);
                return verdict(v, DDNS_ANSWER_RETRY, 0, "cloudflare's answer is not its API's JSON (HTTP %ld)", status);
        }
        if (cJSON_IsTrue(success) && status >= 200 && status < 300) {
                cJSON_Delete(j);
                return verdict(v, DDNS_ANSWER_UPDATED, 0, NULL);
        }
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "code");
        int c = cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble < 1e9 ? (int) code->valuedouble : 0;
        cJSON_Delete(j);
        if (status == 429 || status >= 500)
                return verdict(v, DDNS_ANSWER_RETRY, 0, "cloudflare failed the update (HTTP %ld, error %d)", status, c);
        if (status == 401 || status == 403 || cloudflare_code_is_settings(c))
                return verdict(v, DDNS_ANSWER_STOP, 0,
                               "cloudflare refused the token, zone or record (HTTP %ld, error %d)", status, c);
        if (status >= 400)
                return verdict(v, DDNS_ANSWER_STOP, 0, "cloudflare refused the update (HTTP %ld, error %d)", status, c);
        verdict(v, DDNS_ANSWER_RETRY, 0, "cloudflare failed the update (HTTP %ld, error %d)", status, c);
}

void ddns_answer_read(DdnsProviderId id, long status, const char *body, size_t size, DdnsVerdict *ret) {
        if (!body) {
                body = "";
                size = 0;
        }
        if (id < 0 || id >= _DDNS_PROVIDER_MAX)
                return verdict(ret, DDNS_ANSWER_STOP, 0, "no such provider");
        const DdnsProvider *p = &providers[id];

        if (p->dialect == DDNS_DIALECT_CLOUDFLARE)
                return read_cloudflare(status, body, size, ret);
        if (status == 429)
                return verdict(ret, DDNS_ANSWER_RETRY, 0, "%s asks to slow down (HTTP 429)", p->name);
        if (status >= 500 || status < 200)
                return verdict(ret, DDNS_ANSWER_RETRY, 0, "%s's server failed (HTTP %ld)", p->name, status);
        if (status == 401 || status == 403)
                return verdict(ret, DDNS_ANSWER_STOP, 0, "%s refused the credentials (HTTP %ld)", p->name, status);
        if (status >= 300)
                return verdict(ret, DDNS_ANSWER_STOP, 0, "%s refused the request (HTTP %ld): check the settings",
                               p->name, status);

        switch (p->dialect) {
        case DDNS_DIALECT_DUCKDNS:
                return read_duckdns(body, size, ret);
        case DDNS_DIALECT_DYNDNS2:
                return read_dyndns2(body, size, ret);
        case DDNS_DIALECT_FREEDNS:
                return read_freedns(body, size, ret);
        case DDNS_DIALECT_CLOUDFLARE:
                break;
        }
        verdict(ret, DDNS_ANSWER_RETRY, 0, "an answer not understood");
}
