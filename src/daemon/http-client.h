/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* HTTP requests on the event loop: libcurl's multi interface driven by
 * sd-event (no blocking, a timeout on everything, the answer's size bounded).
 * No proxy from the environment, no redirects. To other cells: http_post()
 * (http only); to dynamic DNS providers: http_send() (https only). */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct HttpClient HttpClient;
typedef struct HttpRequest HttpRequest;

/* status: the HTTP status, or 0 when there was none (error says why:
 * -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EMSGSIZE (answer too big), -EIO). */
typedef void (*HttpDone)(HttpRequest *req, int error, long status, const char *body, size_t size, void *userdata);

int http_client_new(sd_event *event, HttpClient **ret);
HttpClient *http_client_free(HttpClient *c);

/* POSTs body as text/plain to http://host_port/path. done is called once,
 * later, from the loop, unless the request is cancelled first. */
int http_post(HttpClient *c, const char *host_port, const char *path, const char *body, uint64_t timeout_usec,
              size_t max_answer, HttpDone done, void *userdata, HttpRequest **ret);
/* A request to an https server, verified against the system's trust store or ca_file. */
typedef struct HttpCall {
        const char *method;       /* "GET", "PATCH", ... */
        const char *url;          /* https:// only; may carry a secret: never logged here */
        char *const *headers;     /* "Name: value", NULL-terminated; may be NULL */
        const char *body;         /* NULL: none */
        const char *ca_file;      /* NULL: the system's trust store (tests: their own anchor) */
        uint64_t timeout_usec;
        size_t max_answer;
} HttpCall;

/* Sends call; done as for http_post(). */
int http_send(HttpClient *c, const HttpCall *call, HttpDone done, void *userdata, HttpRequest **ret);

/* Drops a request; its done is never called. */
void http_request_cancel(HttpRequest *req);
