/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /api/login, /api/logout, /api/session, /api/password: the gateway's sessions. */
#include "api.h"
#include "bus-call.h"
#include "log.h"

#define SESSION_COOKIE "pic_session"

static uint64_t now_usec(Request *r) {
        uint64_t now;
        (void) sd_event_now(r->gateway->event, CLOCK_MONOTONIC, &now);
        return now;
}

static cJSON *session_json(const Session *s) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "role", session_role_to_string(s->role));
        if (s->peer)
                cJSON_AddStringToObject(o, "peer", s->peer);
        else
                cJSON_AddNullToObject(o, "peer");
        cJSON_AddStringToObject(o, "csrf_token", s->csrf);
        return o;
}

typedef struct LoginState {
        char address[64];
        char *user_key;
} LoginState;

static void login_state_free(void *p) {
        LoginState *st = p;
        if (!st)
                return;
        free(st->user_key);
        free(st);
}

/* An address may try for several users (a household behind one NAT): more than one user may. */
#define ADDRESS_ATTEMPTS(g) (4 * (g)->config.login_attempts)

static void on_authenticated(Request *r, sd_bus_message *reply) {
        Gateway *g = r->gateway;
        const char *role, *peer, *grant;
        Session *s;
        char cookie[128];

        if (sd_bus_message_read(reply, "sss", &role, &peer, &grant) < 0 ||
            !(streq(role, "admin") || (streq(role, "peer") && !isempty(peer)))) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected role.", NULL);
                return;
        }
        /* a new id on every login: a cookie planted before login is worth nothing */
        sessions_remove(g->sessions, http_cookie(r, SESSION_COOKIE));
        int k = sessions_create(g->sessions, streq(role, "admin") ? ROLE_ADMIN : ROLE_PEER,
                                streq(role, "peer") ? peer : NULL, grant, now_usec(r), &s);
        if (k == -EBUSY) {
                http_reply_error(r, 503, "unavailable", "Too many sessions; try again later.", NULL);
                return;
        }
        if (k < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        LoginState *st = r->data;
        login_limiter_forgive(g->limiter, st->address); /* only failures hold an address back */
        login_limiter_forgive(g->limiter, st->user_key);
        log_info("Login: %s%s%s from %s.", role, streq(role, "peer") ? " " : "", streq(role, "peer") ? peer : "",
                 st->address + 5);
        /* Secure when the client came over https (through a trusted proxy: the gateway speaks plain HTTP) */
        snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/%s", s->id,
                 r->fwd.https ? "; Secure" : "");
        (void) http_set_next_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
        http_reply_json(r, 200, session_json(s));
}

static bool on_login_error(Request *r, const sd_bus_error *e) {
        LoginState *st = r->data;
        uint64_t now = now_usec(r);

        if (!sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) &&
            !sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
                return false;
        (void) now; /* counted when it started */
        log_notice("Failed login from %s.", st->address + 5);
        http_reply_error(r, 401, "unauthenticated", "Wrong user name or password.", NULL);
        return true;
}

void api_login(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Gateway *g = r->gateway;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        const cJSON *user = cJSON_GetObjectItemCaseSensitive(body, "username");
        const cJSON *password = cJSON_GetObjectItemCaseSensitive(body, "password");
        if (!cJSON_IsString(user) || isempty(user->valuestring) || strlen(user->valuestring) > 253) {
                http_reply_error(r, 400, "invalid", "username is required.", "username");
                return;
        }
        if (!cJSON_IsString(password)) {
                http_reply_error(r, 400, "invalid", "password is required.", "password");
                return;
        }

        LoginState *st = calloc(1, sizeof(LoginState));
        if (!st) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        r->data = st;
        r->free_data = login_state_free;
        strcpy(st->address, "addr:");
        if (http_client_address(r, st->address + 5, sizeof st->address - 5) < 0)
                strcpy(st->address, "addr:unknown");
        /* per user at an address: guesses for "admin" from elsewhere never lock the admin out here */
        if (asprintf(&st->user_key, "user:%s@%s", user->valuestring, st->address + 5) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }

        uint64_t now = now_usec(r);
        unsigned wait = MAX(login_limiter_check(g->limiter, st->address, ADDRESS_ATTEMPTS(g), now),
                            login_limiter_check(g->limiter, st->user_key, g->config.login_attempts, now));
        const char *why = "Too many login attempts; try again later.";
        if (wait == 0 && (wait = check_budget_take(&g->check_budget, now)) > 0)
                why = "The cell is busy checking other logins; try again in a moment.";
        if (wait > 0) {
                char s[16];
                snprintf(s, sizeof s, "%u", wait);
                (void) http_set_next_header(r, "Retry-After", s);
                http_reply_error(r, 429, "rate_limited", why, NULL);
                return;
        }
        /* counted now, so guesses sent side by side are counted before any answer */
        login_limiter_begin(g->limiter, st->address, now);
        login_limiter_begin(g->limiter, st->user_key, now);

        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Authenticate", &m) < 0 ||
            sd_bus_message_sensitive(m) < 0 ||
            sd_bus_message_append(m, "ss", user->valuestring, password->valuestring) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_authenticated, on_login_error);
}

void api_logout(Request *r) {
        sessions_remove(r->gateway->sessions, r->session_id);
        (void) http_set_next_header(r, MHD_HTTP_HEADER_SET_COOKIE,
                                    r->fwd.https ? SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
                                                 : SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
        http_reply_empty(r, 204);
}

void api_session(Request *r) {
        Session *s = sessions_find(r->gateway->sessions, r->session_id, now_usec(r));
        if (!s) {
                http_reply_error(r, 401, "unauthenticated", "Log in first.", NULL);
                return;
        }
        http_reply_json(r, 200, session_json(s));
}

static bool on_password_error(Request *r, const sd_bus_error *e) {
        Session *s = sessions_find(r->gateway->sessions, r->session_id, now_usec(r));
        if (s)
                s->renewing = false;
        return false; /* answered as any refusal */
}

static void on_password_changed(Request *r, sd_bus_message *reply) {
        /* whoever else held an admin session must log in with the new password (at once: the
         * cell's AdminLoginId signal gives this session its new grant, session-authority.c) */
        sessions_remove_role(r->gateway->sessions, ROLE_ADMIN, r->session_id);
        log_info("The admin password was changed.");
        http_reply_empty(r, 204);
}

void api_password(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        const cJSON *old = cJSON_GetObjectItemCaseSensitive(body, "old_password");
        const cJSON *new = cJSON_GetObjectItemCaseSensitive(body, "new_password");
        if (!cJSON_IsString(old)) {
                http_reply_error(r, 400, "invalid", "old_password is required.", "old_password");
                return;
        }
        if (!cJSON_IsString(new) || isempty(new->valuestring)) {
                http_reply_error(r, 400, "invalid", "new_password is required.", "new_password");
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "SetAdminPassword", &m) < 0 ||
            sd_bus_message_sensitive(m) < 0 ||
            sd_bus_message_append(m, "ss", old->valuestring, new->valuestring) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        Session *s = sessions_find(r->gateway->sessions, r->session_id, now_usec(r));
        if (s)
                s->renewing = true; /* the change is its own: it keeps its authority */
        bus_call(r, m, on_password_changed, on_password_error);
}
