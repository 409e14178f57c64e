/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what pic-gatewayd reads of an HTTP client's request, without
 * libmicrohttpd (which splits the request line, the headers and the Cookie header itself):
 * the body as the strict JSON object http_body_object() takes, the pic_session cookie's
 * value and the X-CSRF-Token (sessions), the X-Forwarded-* headers from a peer trusted or
 * not (forwarded.c) and the Host and Origin checks that follow them (host-check.c), a
 * --trusted-proxy network, the path: http_unescape() then every route's pattern, and GET
 * /api/peers' query (peer-query.h: "key=value" pairs joined by '&', as MHD hands them on).
 *
 * Input: byte 0 picks the parser (mod 6), the rest is the body or the header values, one a
 * line (MHD hands them on without their line ends). For the X-Forwarded-* headers, byte 1
 * says which headers are present (bits 0-4: X-Forwarded-For, X-Forwarded-Proto,
 * X-Forwarded-Host, Host, Origin) and who the connection is from and to (bits 5-7); the
 * values follow, in that order.
 *
 * Seeds: tests/fuzz/corpus/fuzz-gateway (PIC_FUZZ_SEEDS writes none). */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"
#include "host-check.h"
#include "http.h"
#include "json-strict.h"
#include "names.h"
#include "peer-query.h"
#include "routes.h"
#include "sessions.h"

enum { KIND_BODY, KIND_SESSION, KIND_FORWARDED, KIND_PROXY_NET, KIND_PATH, KIND_PEER_QUERY, _KIND_MAX };

static Sessions *sessions;
static Session *session;
static ProxyNet trusted[3];
static char *allowed_hosts[] = { "cell.example", "pic.example:8443", "[2001:db8::7]", NULL };

/* The next line of @text (cut there), or NULL after the last. */
static char *next_line(char **text) {
        char *line = *text;
        if (!line)
                return NULL;
        char *nl = strchr(line, '\n');
        if (nl)
                *nl++ = 0;
        *text = nl;
        return line;
}

/* What http_body_object() does with the body: the raw bytes, NULs and all, exactly as long as
 * given; the member named in a refusal is shown only when it is clean text. */
static void fuzz_body(const uint8_t *data, size_t size) {
        char why[128], member[96];
        cJSON *o = json_parse_strict_member((const char *) data, size, why, sizeof why, member, sizeof member);
        if (!o) {
                if (!memchr(why, 0, sizeof why) || !memchr(member, 0, sizeof member))
                        abort();
                (void) text_is_clean_utf8(member, strlen(member));
                return;
        }
        (void) cJSON_IsObject(o);
        cJSON_Delete(o);
}

/* The pic_session cookie's value, then the X-CSRF-Token header. */
static void fuzz_session(char *text) {
        char *cookie = next_line(&text), *token = next_line(&text);
        Session *s = sessions_find(sessions, cookie, 1);
        if (s && s != session)
                abort();
        if (session_csrf_matches(session, token) && (!token || strcmp(token, session->csrf) != 0))
                abort();
}

static void fuzz_forwarded(uint8_t bits, char *text) {
        const char *h[5] = {};
        for (unsigned i = 0; i < 5; i++) {
                char *line = next_line(&text);
                if (bits & (1U << i))
                        h[i] = line ?: "";
        }
        struct sockaddr_in6 peer6 = { .sin6_family = AF_INET6, .sin6_port = htons(40000) };
        struct sockaddr_in peer4 = { .sin_family = AF_INET, .sin_port = htons(40000) };
        const struct sockaddr *peer;
        switch ((bits >> 5) & 3) {
        case 0: /* a trusted proxy */
                inet_pton(AF_INET, "10.1.2.3", &peer4.sin_addr);
                peer = (const struct sockaddr *) &peer4;
                break;
        case 1: /* anyone else */
                inet_pton(AF_INET, "192.0.2.9", &peer4.sin_addr);
                peer = (const struct sockaddr *) &peer4;
                break;
        case 2: /* a trusted proxy over IPv6 */
                inet_pton(AF_INET6, "::1", &peer6.sin6_addr);
                peer = (const struct sockaddr *) &peer6;
                break;
        default: /* a trusted one as an IPv4-mapped address */
                inet_pton(AF_INET6, "::ffff:10.0.0.5", &peer6.sin6_addr);
                peer = (const struct sockaddr *) &peer6;
                break;
        }
        Forwarded fwd = {};
        const char *bad = NULL, *why = NULL;
        int r = forwarded_resolve(trusted, ELEMENTSOF(trusted), peer, h[0], h[1], h[2], h[3], &fwd, &bad, &why);
        if (r < 0) {
                if (!bad || !why)
                        abort();
                return;
        }
        unsigned char a[16];
        if (!memchr(fwd.client, 0, sizeof fwd.client) ||
            (inet_pton(AF_INET, fwd.client, a) != 1 && inet_pton(AF_INET6, fwd.client, a) != 1))
                abort();

        /* then what dispatch() checks: the Host, and the Origin when there is one */
        struct sockaddr_in local4 = { .sin_family = AF_INET, .sin_port = htons(8080) };
        struct sockaddr_in6 local6 = { .sin6_family = AF_INET6, .sin6_port = htons(8080) };
        inet_pton(AF_INET, "192.0.2.1", &local4.sin_addr);
        inet_pton(AF_INET6, "2001:db8::1", &local6.sin6_addr);
        const struct sockaddr *local = bits & 0x80 ? (const struct sockaddr *) &local6 : (const struct sockaddr *) &local4;
        (void) host_allowed_scheme(fwd.host, fwd.https, allowed_hosts, local);
        if (h[4]) {
                if (fwd.proxied)
                        (void) origin_matches_host(h[4], fwd.https, fwd.host);
                else
                        (void) origin_allowed(h[4], allowed_hosts, local);
        }
        char name[256];
        unsigned port;
        if (fwd.host && host_port_split(fwd.host, name, sizeof name, &port) >= 0 && (!memchr(name, 0, sizeof name) || port > 65535))
                abort();
}

static void fuzz_proxy_net(char *text) {
        ProxyNet n;
        if (proxy_net_parse(text, &n) < 0)
                return;
        if ((n.family != AF_INET && n.family != AF_INET6) || n.prefix > (n.family == AF_INET ? 32U : 128U))
                abort();
        (void) proxy_nets_contain(&n, 1, n.family, n.addr);
}

/* The path as MHD hands it to the router: unescaped by our callback, then each route's pattern. */
static size_t count_controls(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += (unsigned char) *s < 0x20 || *s == 0x7f;
        return n;
}

static void fuzz_path(char *text) {
        size_t controls = count_controls(text); /* raw ones are refused later; a %XX never makes one */
        size_t n = http_unescape(NULL, NULL, text);
        if (n != strlen(text) || count_controls(text) != controls)
                abort();
        if (!text_is_clean_utf8(text, n))
                return;
        for (size_t i = 0; i < routes_count; i++) {
                char *name = NULL, *path = NULL;
                if (route_match(routes[i].pattern, text, &name, &path) && name && (!name[0] || strchr(name, '/')))
                        abort();
                if (path && (!path[0] || strstr(path, "//")))
                        abort();
                free(name);
                free(path);
        }
}

/* What is accepted is within bounds; what is refused says why. */
static void fuzz_peer_query(char *text) {
        PeerQuery q;
        char *pair;

        peer_query_init(&q);
        while ((pair = strsep(&text, "&"))) {
                char *value = strchr(pair, '=');
                if (value)
                        *value++ = 0;
                if (!peer_query_add(&q, pair, value)) {
                        if (!q.error[0] || strlen(q.error) >= sizeof q.error)
                                abort();
                        return;
                }
        }
        if (q.error[0] || (q.limit != SIZE_MAX && (q.limit < 1 || q.limit > PAGE_LIMIT_MAX)) ||
            strlen(q.prefix) > PEER_NAME_MAX || (q.seen_cursor && !peer_name_is_valid(q.cursor)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > HTTP_BODY_MAX)
                return 0;
        unsigned kind = data[0] % _KIND_MAX;
        data++, size--;
        if (kind == KIND_BODY) {
                fuzz_body(data, size);
                return 0;
        }
        uint8_t bits = 0;
        if (kind == KIND_FORWARDED) {
                if (size < 1)
                        return 0;
                bits = data[0];
                data++, size--;
        }
        /* header values and paths never hold a NUL: MHD's strings end there */
        char *text = strndup((const char *) data, size);
        if (!text)
                return 0;
        if (kind == KIND_SESSION)
                fuzz_session(text);
        else if (kind == KIND_FORWARDED)
                fuzz_forwarded(bits, text);
        else if (kind == KIND_PROXY_NET)
                fuzz_proxy_net(text);
        else if (kind == KIND_PEER_QUERY)
                fuzz_peer_query(text);
        else
                fuzz_path(text);
        free(text);
        return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (getenv("PIC_FUZZ_SEEDS"))
                exit(0); /* the seeds are all in tests/fuzz/corpus/fuzz-gateway */
        static const char *const nets[] = { "10.0.0.0/8", "::1", "2001:db8:1::/48" };
        for (size_t i = 0; i < ELEMENTSOF(nets); i++)
                if (proxy_net_parse(nets[i], &trusted[i]) < 0)
                        abort();
        if (sessions_new(&sessions, 3600ULL * 1000000ULL) < 0 ||
            sessions_create(sessions, ROLE_ADMIN, NULL, "grant", 1, &session) < 0)
                abort();
        return 0;
}
