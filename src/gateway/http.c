/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include "slow-clients.h"
#include "host-check.h"
#include "http.h"
#include "json-strict.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"

static void request_free(Request *r) {
        if (!r)
                return;
        sd_bus_slot_unref(r->slot);
        if (r->response)
                MHD_destroy_response(r->response);
        if (r->free_data)
                r->free_data(r->data);
        cJSON_Delete(r->json);
        if (r->body) /* may hold a password */
                explicit_bzero(r->body, r->body_size);
        free(r->body);
        free(r->method);
        free(r->url);
        free(r->name);
        free(r->path);
        free(r->session_id);
        free(r->session_peer);
        free(r->extra_header_name);
        free(r->extra_header_value);
        free(r);
}

static void suspended_unlink(Request *r) {
        Gateway *g = r->gateway;
        if (r->suspended_prev)
                r->suspended_prev->suspended_next = r->suspended_next;
        else if (g->suspended == r)
                g->suspended = r->suspended_next;
        if (r->suspended_next)
                r->suspended_next->suspended_prev = r->suspended_prev;
        r->suspended_next = r->suspended_prev = NULL;
}

void http_suspend(Request *r) {
        if (r->suspended || r->response)
                return;
        MHD_suspend_connection(r->connection);
        r->suspended = true;
        r->suspended_next = r->gateway->suspended;
        if (r->suspended_next)
                r->suspended_next->suspended_prev = r;
        r->gateway->suspended = r;
}

void http_resume(Request *r) {
        if (!r->suspended)
                return;
        suspended_unlink(r);
        r->suspended = false;
        MHD_resume_connection(r->connection);
        gateway_kick(r->gateway);
}

static void add_common_headers(struct MHD_Response *resp, bool api) {
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
        if (api)
                MHD_add_response_header(resp, "Cache-Control", "no-store");
}

void http_reply(Request *r, unsigned status, struct MHD_Response *response) {
        if (r->response) { /* a second answer: keep the first */
                MHD_destroy_response(response);
                return;
        }
        add_common_headers(response, !r->path);
        if (r->extra_header_name)
                MHD_add_response_header(response, r->extra_header_name, r->extra_header_value);
        r->response = response;
        r->status = status;
        if (r->suspended) {
                suspended_unlink(r);
                r->suspended = false;
                MHD_resume_connection(r->connection);
                gateway_kick(r->gateway);
        }
}

int http_set_next_header(Request *r, const char *name, const char *value) {
        free(r->extra_header_name);
        free(r->extra_header_value);
        r->extra_header_name = strdup(name);
        r->extra_header_value = strdup(value);
        return r->extra_header_name && r->extra_header_value ? 0 : -ENOMEM;
}

void http_reply_text(Request *r, unsigned status, const char *content_type, const char *text, size_t size) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(size, (void *) text, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return;
        if (content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        http_reply(r, status, resp);
}

void http_reply_json(Request *r, unsigned status, cJSON *json) {
        _cleanup_(freep) char *text = json ? cJSON_PrintUnformatted(json) : NULL;
        cJSON_Delete(json);
        if (!text) {
                http_reply_text(r, 500, "application/json",
                                "{\"error\":\"failed\",\"message\":\"Out of memory.\"}", 46);
                return;
        }
        size_t len = strlen(text);
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, TAKE_PTR(text), MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        http_reply(r, status, resp);
}

void http_reply_error(Request *r, unsigned status, const char *code, const char *message, const char *field) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
                cJSON_AddStringToObject(o, "error", code);
                cJSON_AddStringToObject(o, "message", message ?: code);
                if (field)
                        cJSON_AddStringToObject(o, "field", field);
        }
        http_reply_json(r, status, o);
}

void http_reply_empty(Request *r, unsigned status) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (resp)
                http_reply(r, status, resp);
}

cJSON *http_body_object(Request *r) {
        if (r->json)
                return r->json;
        if (r->body_size == 0) {
                http_reply_error(r, 400, "invalid", "A JSON object is required as the request body.", NULL);
                return NULL;
        }
        char why[128], message[192], member[96];
        r->json = json_parse_strict_member(r->body, r->body_size, why, sizeof why, member, sizeof member);
        if (!r->json) {
                snprintf(message, sizeof message, "The request body is refused: %s", why);
                http_reply_error(r, 400, "invalid", message, member[0] && text_is_clean_utf8(member, strlen(member))
                                                             ? member : NULL);
                return NULL;
        }
        if (!cJSON_IsObject(r->json)) {
                http_reply_error(r, 400, "invalid", "The request body is not a JSON object.", NULL);
                return NULL;
        }
        return r->json;
}

const char *http_header(Request *r, const char *name) {
        return MHD_lookup_connection_value(r->connection, MHD_HEADER_KIND, name);
}

const char *http_cookie(Request *r, const char *name) {
        return MHD_lookup_connection_value(r->connection, MHD_COOKIE_KIND, name);
}

int http_client_address(Request *r, char *buf, size_t size) {
        if (!r->fwd.client[0])
                return -ENOTCONN;
        if (strlen(r->fwd.client) >= size)
                return -ENOBUFS;
        strcpy(buf, r->fwd.client);
        return 0;
}

typedef struct ForwardedCount {
        unsigned n[3];
} ForwardedCount;

static const char *const forwarded_headers[3] = { "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host" };

static enum MHD_Result count_forwarded(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        ForwardedCount *c = cls;
        for (size_t i = 0; i < ELEMENTSOF(forwarded_headers); i++)
                if (key && strcasecmp(key, forwarded_headers[i]) == 0)
                        c->n[i]++;
        return MHD_YES;
}

/* r->fwd from the peer's address and, from a trusted proxy, its X-Forwarded-* headers; on a
 * malformed one from there, replies 400 naming it and returns -EBADMSG. */
static int resolve_forwarded(Request *r) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const GatewayConfig *c = &r->gateway->config;
        const char *bad = NULL, *why = NULL;
        char message[192];

        int k = forwarded_resolve(c->trusted_proxies, c->n_trusted_proxies, ci ? ci->client_addr : NULL,
                                  http_header(r, "X-Forwarded-For"), http_header(r, "X-Forwarded-Proto"),
                                  http_header(r, "X-Forwarded-Host"), http_header(r, MHD_HTTP_HEADER_HOST),
                                  &r->fwd, &bad, &why);
        if (k >= 0 && r->fwd.proxied) {
                /* one of each: a second line would leave which one counts to chance */
                ForwardedCount count = {};
                MHD_get_connection_values(r->connection, MHD_HEADER_KIND, count_forwarded, &count);
                for (size_t i = 0; i < ELEMENTSOF(forwarded_headers) && k >= 0; i++)
                        if (count.n[i] > 1) {
                                bad = forwarded_headers[i];
                                why = "it is given more than once";
                                k = -EBADMSG;
                        }
        }
        if (k < 0) {
                snprintf(message, sizeof message, "The %s header from the trusted proxy is refused: %s.", bad, why);
                log_notice("%s %s: %s", r->method, r->url, message);
                http_reply_error(r, 400, "invalid", message, NULL);
        }
        return k;
}

bool http_method_is_mutating(const char *method) {
        return !streq(method, "GET") && !streq(method, "HEAD") && !streq(method, "OPTIONS");
}

/* The address and port the connection arrived at. */
static int local_address(Request *r, struct sockaddr_storage *ss) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        socklen_t len = sizeof *ss;
        if (!ci)
                return -ENOTCONN;
        return getsockname(ci->connect_fd, (struct sockaddr *) ss, &len) < 0 ? -errno : 0;
}

bool http_host_allowed(Request *r) {
        struct sockaddr_storage ss;
        return local_address(r, &ss) >= 0 &&
                host_allowed_scheme(r->fwd.host, r->fwd.https, r->gateway->allowed_hosts, (const struct sockaddr *) &ss);
}

bool http_origin_allowed(Request *r) {
        struct sockaddr_storage ss;
        const char *origin = http_header(r, "Origin");
        if (!origin)
                return true;
        /* through a trusted proxy: exactly the origin the client reached it at */
        if (r->fwd.proxied)
                return origin_matches_host(origin, r->fwd.https, r->fwd.host);
        /* plain HTTP only: exactly http://<an allowed host> */
        return local_address(r, &ss) >= 0 &&
                origin_allowed(origin, r->gateway->allowed_hosts, (const struct sockaddr *) &ss);
}

void http_abort_suspended(Gateway *g) {
        while (g->suspended) {
                Request *r = g->suspended;
                r->slot = sd_bus_slot_unref(r->slot);
                http_reply_error(r, 503, "unavailable", "The gateway is stopping.", NULL);
                if (g->suspended == r) /* http_reply failed to resume it */
                        suspended_unlink(r);
        }
}

static enum MHD_Result queue(Request *r) {
        uint64_t now;
        (void) sd_event_now(r->gateway->event, CLOCK_MONOTONIC, &now);
        metrics_http_request(r->gateway->metrics, r->status);
        log_debug("%s %s from %s → %u (%.1f ms)", r->method, r->url, r->fwd.client[0] ? r->fwd.client : "?",
                  r->status, (now - r->started) / 1000.0);
        enum MHD_Result ret = MHD_queue_response(r->connection, r->status, r->response);
        MHD_destroy_response(r->response);
        r->response = NULL;
        return ret;
}

static void dispatch(Request *r) {
        r->dispatched = true;
        if (resolve_forwarded(r) < 0)
                return;
        if (!http_host_allowed(r))
                /* before routing: a rebound name (DNS rebinding) reaches nothing, not even /health */
                http_reply_error(r, 421, "misdirected",
                                 "This gateway is not known by the name in the Host header (pic-gatewayd --allowed-host).",
                                 NULL);
        else if (!text_is_clean_utf8(r->url, strlen(r->url)))
                http_reply_error(r, 400, "invalid", "The path holds a control character (such as %00) or is not UTF-8.",
                                 NULL);
        else
                routes_dispatch(r);
}

/* A streamed body's next bytes (*size > 0) or its end (*size == 0): MHD offers again what is not taken. */
static enum MHD_Result stream_body(Request *r, const char *data, size_t *size) {
        if (!r->dispatched)
                dispatch(r);
        if (r->suspended) /* waiting: for the cell's setup state, or for room in the handler's pipe */
                return MHD_YES;
        if (*size > 0) {
                if (r->upload_size + *size > HTTP_STREAM_BODY_MAX) {
                        /* only a chunked body gets here (a longer Content-Length is answered 413 at once):
                         * it cannot be answered midway, nor read to its end */
                        log_notice("%s %s: the body goes past %llu bytes; closing the connection.", r->method, r->url,
                                   HTTP_STREAM_BODY_MAX);
                        return MHD_NO;
                }
                size_t taken = *size;
                if (!r->response && r->on_upload)
                        taken = r->on_upload(r, data, *size);
                r->upload_size += taken;
                *size -= taken;
                return MHD_YES;
        }
        if (!r->upload_ended) {
                r->upload_ended = true;
                if (!r->response && r->on_upload_end)
                        r->on_upload_end(r);
        }
        if (r->response)
                return queue(r);
        if (!r->suspended) { /* neither an answer nor a wait for one: cannot happen, but never hang */
                http_reply_error(r, 500, "failed", "The request was left without an answer.", NULL);
                return queue(r);
        }
        return MHD_YES;
}

static int hex_value(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t http_unescape(void *cls, struct MHD_Connection *connection, char *s) {
        char *w = s;
        for (const char *p = s; *p;) {
                int hi = p[0] == '%' ? hex_value(p[1]) : -1, lo = hi >= 0 ? hex_value(p[2]) : -1;
                if (lo < 0) {
                        *w++ = *p++;
                        continue;
                }
                unsigned v = (unsigned) (hi * 16 + lo);
                /* a NUL would cut the path short ("/static/app.js%00.html" served as app.js):
                 * a control character becomes a byte no UTF-8 text holds, refused before routing */
                *w++ = (char) (v < 0x20 || v == 0x7f ? 0xff : v);
                p += 3;
        }
        *w = 0;
        return (size_t) (w - s);
}

enum MHD_Result http_access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                    const char *method, const char *version, const char *upload_data,
                                    size_t *upload_data_size, void **con_cls) {
        Gateway *g = cls;
        Request *r = *con_cls;

        if (!r) {
                slow_clients_headers_done(connection);
                r = calloc(1, sizeof(Request));
                if (!r)
                        return MHD_NO;
                r->gateway = g;
                r->connection = connection;
                r->method = strdup(method);
                r->url = strdup(url);
                (void) sd_event_now(g->event, CLOCK_MONOTONIC, &r->started);
                *con_cls = r;
                if (!r->method || !r->url)
                        return MHD_NO;
                const char *cl = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
                r->streamed = routes_stream_body(r->method, r->url);
                if (r->streamed && cl && strtoull(cl, NULL, 10) > HTTP_STREAM_BODY_MAX) {
                        /* answered before a byte of it is read or anything is done; MHD then closes */
                        r->dispatched = true;
                        http_reply_error(r, 413, "too_large", "The request body is larger than 256 MiB.", NULL);
                        return queue(r);
                }
                if (!r->streamed && cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX)
                        r->body_too_large = true;
                return MHD_YES;
        }

        if (r->streamed)
                return stream_body(r, upload_data, upload_data_size);

        if (*upload_data_size > 0) {
                if (!r->body_too_large) {
                        if (r->body_size + *upload_data_size > HTTP_BODY_MAX) {
                                r->body_too_large = true;
                                explicit_bzero(r->body, r->body_size);
                                free(r->body);
                                r->body = NULL;
                                r->body_size = 0;
                        } else {
                                char *b = realloc(r->body, r->body_size + *upload_data_size + 1);
                                if (!b)
                                        return MHD_NO;
                                memcpy(b + r->body_size, upload_data, *upload_data_size);
                                r->body_size += *upload_data_size;
                                b[r->body_size] = 0;
                                r->body = b;
                        }
                }
                *upload_data_size = 0;
                return MHD_YES;
        }

        if (r->response)
                return queue(r);
        if (r->dispatched) /* resumed without an answer: cannot happen, but never hang */
                return MHD_NO;

        if (r->body_too_large) {
                r->dispatched = true;
                http_reply_error(r, 413, "too_large", "The request body is larger than 128 KiB.", NULL);
        } else
                dispatch(r);

        if (r->response)
                return queue(r);
        return MHD_YES;
}

void http_request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                            enum MHD_RequestTerminationCode toe) {
        Gateway *g = cls;
        Request *r = *con_cls;
        if (g->slow_clients)
                slow_clients_request_done(g->slow_clients, connection);
        if (!r)
                return;
        if (r->suspended)
                suspended_unlink(r);
        request_free(r);
        *con_cls = NULL;
}
