/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "forwarded.h"
#include "gateway.h"
#include "sessions.h"

static inline void cJSON_Deletep(cJSON **j) {
        if (*j)
                cJSON_Delete(*j);
}

#define HTTP_BODY_MAX (128U * 1024U) /* an exit's .ovpn (64 KiB, certificates inline) in JSON */
#define HTTP_STREAM_BODY_MAX (256ULL * 1024U * 1024U) /* a streamed body (ROUTE_STREAM_BODY): a backup archive */

typedef struct Route Route;

/* One HTTP request, alive from its first byte until MHD reports it completed. */
struct Request {
        Gateway *gateway;
        struct MHD_Connection *connection;
        char *method, *url;
        char *body;
        size_t body_size;
        bool body_too_large;
        bool dispatched, suspended;
        struct MHD_Response *response;   /* queued when the handler resumes us */
        unsigned status;
        uint64_t started;
        Forwarded fwd;                   /* the client as a trusted proxy tells of it (forwarded.h), at dispatch */

        const Route *route;
        char *name;                      /* the {name} path segment */
        char *path;                      /* the {path} rest, for static files */

        /* copied from the session at dispatch: it may vanish while we wait */
        SessionRole role;
        char *session_id, *session_peer;

        sd_bus_slot *slot;               /* the bus call in flight */
        uint64_t call_started;
        void (*bus_on_reply)(Request *r, sd_bus_message *reply);
        bool (*bus_on_error)(Request *r, const sd_bus_error *error);
        cJSON *json;                     /* the parsed request body */
        void *data;                      /* a handler's state across bus calls */
        void (*free_data)(void *data);
        char *extra_header_name, *extra_header_value;

        /* A streamed body (ROUTE_STREAM_BODY): dispatched at its first bytes (or its end, when it has
         * none), then handed to on_upload as it comes, never kept; discarded once an answer is set. */
        bool streamed, upload_ended;
        uint64_t upload_size;
        /* Returns how many bytes it took; fewer only when it suspended the request until it can take more. */
        size_t (*on_upload)(Request *r, const char *data, size_t size);
        void (*on_upload_end)(Request *r);

        Request *suspended_next, *suspended_prev;
};

enum MHD_Result http_access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                    const char *method, const char *version, const char *upload_data,
                                    size_t *upload_data_size, void **con_cls);
void http_request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                            enum MHD_RequestTerminationCode toe);
/* Resumes every suspended request with 503: MHD must not stop with any suspended. */
void http_abort_suspended(Gateway *g);

/* Each reply function takes ownership of what it is given. */
void http_reply(Request *r, unsigned status, struct MHD_Response *response);
void http_reply_json(Request *r, unsigned status, cJSON *json);
void http_reply_error(Request *r, unsigned status, const char *code, const char *message, const char *field);
void http_reply_empty(Request *r, unsigned status);
void http_reply_text(Request *r, unsigned status, const char *content_type, const char *text, size_t size);
/* Sets a header on the reply about to be made (one, e.g. Set-Cookie or Retry-After). */
int http_set_next_header(Request *r, const char *name, const char *value);

/* The request body as a JSON object; on failure replies 400/413 and returns NULL. */
cJSON *http_body_object(Request *r);
/* libmicrohttpd's unescape callback (MHD_OPTION_UNESCAPE_CALLBACK): %XX decoded,
 * a control character (NUL included) made a byte the router refuses. */
size_t http_unescape(void *cls, struct MHD_Connection *connection, char *s);
void http_suspend(Request *r);
/* Lets a suspended request go on without an answer (a streamed body can be taken again). */
void http_resume(Request *r);
const char *http_header(Request *r, const char *name);
const char *http_cookie(Request *r, const char *name);
/* The client's address as text ("127.0.0.1", "::1"): through a trusted proxy, the one it names. */
int http_client_address(Request *r, char *buf, size_t size);
bool http_method_is_mutating(const char *method);
/* Whether the Host header (through a trusted proxy: the host it forwards) names this gateway (host-check.h). */
bool http_host_allowed(Request *r);
/* Whether the Origin header, when present, is exactly http://<an allowed host>; through a trusted
 * proxy, exactly <the forwarded proto>://<the forwarded host> (host-check.h). */
bool http_origin_allowed(Request *r);
