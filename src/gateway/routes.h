/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "http.h"

typedef void (*RouteHandler)(Request *r);

typedef enum RouteFlags {
        /* who may call it (exactly one) */
        ROUTE_PUBLIC       = 1 << 0,  /* no session needed */
        ROUTE_SESSION      = 1 << 1,  /* any session */
        ROUTE_ADMIN        = 1 << 2,
        ROUTE_OWN_PEER     = 1 << 3,  /* admin, or the peer named by {name} */
        ROUTE_PEER_LIST    = 1 << 4,  /* admin, or a peer (who sees only itself) */
        ROUTE_METRICS      = 1 << 5,  /* admin, or any client on loopback */
        /* when */
        ROUTE_BEFORE_SETUP = 1 << 8,  /* answers before setup (others: 428) */
        ROUTE_NO_CSRF      = 1 << 9,  /* mutating but needs no CSRF token (no session yet) */
        /* how */
        ROUTE_STREAM_BODY  = 1 << 10, /* the body (up to HTTP_STREAM_BODY_MAX) goes to the handler as it comes */
} RouteFlags;

struct Route {
        const char *method;
        const char *pattern;    /* segments; {name} matches one, {path} the rest */
        RouteHandler handler;
        RouteFlags flags;
};

extern const Route routes[];
extern const size_t routes_count;

/* @url against one route's @pattern; *name, *path: its captures (freed by the caller). Public for tests/fuzz. */
bool route_match(const char *pattern, const char *url, char **name, char **path);
/* Whether the route for @method and @url takes its body as a stream (ROUTE_STREAM_BODY). */
bool routes_stream_body(const char *method, const char *url);
void routes_dispatch(Request *r);
/* Continues a dispatch that waited for the setup state. */
void routes_dispatch_continue(Request *r);
void routes_print(FILE *f);
