/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sodium.h>
#include <strings.h>

#include "api.h"
#include "bus-call.h"
#include "log.h"
#include "routes.h"

/* The gateway's whole surface: dispatch uses it, --list-routes prints it and a
 * test compares it with openapi.json both ways. */
const Route routes[] = {
        { "GET",    "/health",                         api_health,           ROUTE_PUBLIC | ROUTE_BEFORE_SETUP },
        { "GET",    "/metrics",                        api_metrics,          ROUTE_METRICS | ROUTE_BEFORE_SETUP },
        { "GET",    "/api/openapi.json",               api_openapi,          ROUTE_PUBLIC | ROUTE_BEFORE_SETUP },
        { "POST",   "/api/setup",                      api_setup,            ROUTE_PUBLIC | ROUTE_BEFORE_SETUP | ROUTE_NO_CSRF },
        { "POST",   "/api/login",                      api_login,            ROUTE_PUBLIC | ROUTE_NO_CSRF },
        { "POST",   "/api/logout",                     api_logout,           ROUTE_SESSION },
        { "GET",    "/api/session",                    api_session,          ROUTE_SESSION | ROUTE_BEFORE_SETUP },
        { "POST",   "/api/password",                   api_password,         ROUTE_ADMIN },
        { "GET",    "/api/cell",                       api_cell_get,         ROUTE_ADMIN },
        { "PATCH",  "/api/cell",                       api_cell_patch,       ROUTE_ADMIN },
        { "POST",   "/api/cell/apply",                 api_cell_apply,       ROUTE_ADMIN },
        { "POST",   "/api/cell/discard",               api_cell_discard,     ROUTE_ADMIN },
        { "GET",    "/api/dns",                        api_dns_get,          ROUTE_ADMIN },
        { "GET",    "/api/peers",                      api_peers_list,       ROUTE_PEER_LIST },
        { "POST",   "/api/peers",                      api_peers_create,     ROUTE_ADMIN },
        { "GET",    "/api/peers/{name}",               api_peer_get,         ROUTE_OWN_PEER },
        { "PATCH",  "/api/peers/{name}",               api_peer_patch,       ROUTE_ADMIN },
        { "DELETE", "/api/peers/{name}",               api_peer_delete,      ROUTE_ADMIN },
        { "POST",   "/api/peers/{name}/rotate-keys",   api_peer_rotate_keys, ROUTE_ADMIN },
        { "GET",    "/api/peers/{name}/config",        api_peer_config,      ROUTE_OWN_PEER },
        { "GET",    "/api/peers/{name}/config.svg",    api_peer_config_svg,  ROUTE_OWN_PEER },
        { "POST",   "/api/peers/{name}/login",         api_peer_login,       ROUTE_ADMIN },
        { "GET",    "/api/invites",                    api_invites_list,     ROUTE_ADMIN },
        { "POST",   "/api/invites",                    api_invites_create,   ROUTE_ADMIN },
        { "DELETE", "/api/invites/{name}",             api_invite_delete,    ROUTE_ADMIN },
        { "GET",    "/api/links",                      api_links_list,       ROUTE_ADMIN },
        { "POST",   "/api/links",                      api_links_create,     ROUTE_ADMIN },
        { "GET",    "/api/links/{name}",               api_link_get,         ROUTE_ADMIN },
        { "PATCH",  "/api/links/{name}",               api_link_patch,       ROUTE_ADMIN },
        { "DELETE", "/api/links/{name}",               api_link_delete,      ROUTE_ADMIN },
        { "POST",   "/api/links/{name}/resync",        api_link_resync,      ROUTE_ADMIN },
        { "POST",   "/api/links/{name}/offer-exit",    api_link_offer_exit,  ROUTE_ADMIN },
        { "GET",    "/api/exits",                      api_exits_list,       ROUTE_ADMIN },
        { "POST",   "/api/exits",                      api_exits_create,     ROUTE_ADMIN },
        { "GET",    "/api/exits/{name}",               api_exit_get,         ROUTE_ADMIN },
        { "PATCH",  "/api/exits/{name}",               api_exit_patch,       ROUTE_ADMIN },
        { "DELETE", "/api/exits/{name}",               api_exit_delete,      ROUTE_ADMIN },
        { "POST",   "/api/exits/{name}/test",          api_exit_test,        ROUTE_ADMIN },
        { "POST",   "/api/backup",                     api_backup,           ROUTE_ADMIN },
        { "POST",   "/api/restore",                    api_restore,          ROUTE_ADMIN | ROUTE_STREAM_BODY },
        { "GET",    "/api/events",                     api_events,           ROUTE_ADMIN },
        { "GET",    "/",                               api_static,           ROUTE_PUBLIC | ROUTE_BEFORE_SETUP },
        { "GET",    "/static/{path}",                  api_static,           ROUTE_PUBLIC | ROUTE_BEFORE_SETUP },
};
const size_t routes_count = ELEMENTSOF(routes);

void routes_print(FILE *f) {
        for (size_t i = 0; i < routes_count; i++)
                fprintf(f, "%s %s\n", routes[i].method, routes[i].pattern);
}

/* Matches @url against @pattern segment by segment; fills the captures on success. */
bool route_match(const char *pattern, const char *url, char **name, char **path) {
        const char *p = pattern, *u = url;

        *name = *path = NULL;
        while (*p && *u) {
                if (*p != '/' || *u != '/')
                        break;
                p++, u++;
                size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
                if (pl == 6 && strncmp(p, "{path}", 6) == 0) {
                        if (*u == 0 || strstr(u, "//"))
                                break;
                        *path = strdup(u);
                        return *path != NULL;
                }
                if (pl == 6 && strncmp(p, "{name}", 6) == 0) {
                        if (ul == 0 || *name)
                                break;
                        *name = strndup(u, ul);
                        if (!*name)
                                return false;
                } else if (pl != ul || strncmp(p, u, pl) != 0)
                        break;
                p += pl, u += ul;
        }
        if (*p == 0 && *u == 0)
                return true;
        free(*name);
        *name = NULL;
        return false;
}

bool routes_stream_body(const char *method, const char *url) {
        char *name, *path;

        for (size_t i = 0; i < routes_count; i++)
                if ((routes[i].flags & ROUTE_STREAM_BODY) && streq(routes[i].method, method) &&
                    route_match(routes[i].pattern, url, &name, &path)) {
                        free(name);
                        free(path);
                        return true;
                }
        return false;
}

static void reply_no_route(Request *r) {
        char allow[128] = "";
        char *name, *path;

        for (size_t i = 0; i < routes_count; i++)
                if (route_match(routes[i].pattern, r->url, &name, &path)) {
                        free(name);
                        free(path);
                        if (!strstr(allow, routes[i].method)) {
                                size_t l = strlen(allow);
                                snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", routes[i].method);
                        }
                }
        if (allow[0]) {
                (void) http_set_next_header(r, "Allow", allow);
                http_reply_error(r, 405, "method_not_allowed", "This method is not allowed here.", NULL);
        } else
                http_reply_error(r, 404, "not_found", "No such resource.", NULL);
}

static void on_setup_state(Request *r, sd_bus_message *reply) {
        int b;
        if (sd_bus_message_read(reply, "v", "b", &b) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        r->gateway->setup = b ? SETUP_YES : SETUP_NO;
        routes_dispatch_continue(r);
}

void routes_dispatch(Request *r) {
        Gateway *g = r->gateway;

        for (size_t i = 0; i < routes_count && !r->route; i++) {
                if (!streq(routes[i].method, r->method))
                        continue;
                if (route_match(routes[i].pattern, r->url, &r->name, &r->path))
                        r->route = &routes[i];
        }
        if (!r->route) {
                reply_no_route(r);
                return;
        }
        if (!http_origin_allowed(r)) {
                http_reply_error(r, 403, "csrf", "The request comes from another origin.", NULL);
                return;
        }
        /* /api routes answer only once the cell is set up: learn whether it is */
        if (g->setup == SETUP_UNKNOWN && strncmp(r->url, "/api/", 5) == 0 &&
            !streq(r->route->pattern, "/api/openapi.json")) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get", &m) < 0 ||
                    sd_bus_message_append(m, "ss", PIC_MANAGER_INTERFACE, "SetupComplete") < 0) {
                        http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                        return;
                }
                bus_call(r, m, on_setup_state, NULL);
                return;
        }
        routes_dispatch_continue(r);
}

/* "Bearer <token>" (the scheme in any case), compared in constant time. */
static bool metrics_token_matches(const char *token, const char *authorization) {
        if (!token || !authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
                return false;
        size_t n = strlen(token);
        return strlen(authorization + 7) == n && sodium_memcmp(authorization + 7, token, n) == 0;
}

void routes_dispatch_continue(Request *r) {
        Gateway *g = r->gateway;
        const Route *route = r->route;
        uint64_t now;

        if (!(route->flags & ROUTE_BEFORE_SETUP) && g->setup != SETUP_YES && strncmp(r->url, "/api/", 5) == 0) {
                http_reply_error(r, 428, "setup_required", "The cell is not set up yet.", NULL);
                return;
        }

        (void) sd_event_now(g->event, CLOCK_MONOTONIC, &now);
        Session *s = sessions_find(g->sessions, http_cookie(r, "pic_session"), now);
        if (s) {
                r->role = s->role;
                r->session_id = strdup(s->id);
                r->session_peer = s->peer ? strdup(s->peer) : NULL;
                if (!r->session_id || (s->peer && !r->session_peer)) {
                        http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                        return;
                }
        }

        if (route->flags & ROUTE_METRICS) {
                /* every peer's name and traffic: not for a peer, nor for any process on this machine */
                if (metrics_token_matches(g->metrics_token, http_header(r, "Authorization")))
                        ;
                else if (r->fwd.proxied) {
                        /* through a trusted proxy it is reached from elsewhere: the token, never a session */
                        http_reply_error(r, 401, "unauthenticated",
                                         "Through the proxy, /metrics answers only the scrape token (Authorization: Bearer).",
                                         NULL);
                        return;
                } else if (!s) {
                        http_reply_error(r, 401, "unauthenticated", "Log in first, or give the scrape token.", NULL);
                        return;
                } else if (s->role != ROLE_ADMIN) {
                        http_reply_error(r, 403, "forbidden", "Only the cell's admin may do this.", NULL);
                        return;
                }
        } else if (!(route->flags & ROUTE_PUBLIC)) {
                if (!s) {
                        http_reply_error(r, 401, "unauthenticated", "Log in first.", NULL);
                        return;
                }
                bool allowed = s->role == ROLE_ADMIN ||
                        (route->flags & (ROUTE_SESSION | ROUTE_PEER_LIST)) ||
                        ((route->flags & ROUTE_OWN_PEER) && s->role == ROLE_PEER && r->name && s->peer &&
                         streq(r->name, s->peer));
                if (!allowed) {
                        http_reply_error(r, 403, "forbidden", "This session may not do this.", NULL);
                        return;
                }
        }

        if (http_method_is_mutating(r->method) && !(route->flags & ROUTE_NO_CSRF) &&
            !(s && session_csrf_matches(s, http_header(r, "X-CSRF-Token")))) {
                http_reply_error(r, 403, "csrf", "The X-CSRF-Token header is missing or wrong.", NULL);
                return;
        }

        route->handler(r);
}
