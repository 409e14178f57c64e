/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "password.h"

typedef enum SessionRole {
        ROLE_NONE,
        ROLE_ADMIN,
        ROLE_PEER,
} SessionRole;

#define SESSION_ID_LEN 43   /* 32 random bytes, base64url without padding */
#define SESSIONS_MAX 4096

typedef struct Session {
        char id[SESSION_ID_LEN + 1];
        char csrf[SESSION_ID_LEN + 1];
        SessionRole role;
        char *peer;             /* the peer's name for ROLE_PEER */
        /* the login it was granted by (Authenticate's grant: AdminLoginId or the peer's LoginId):
         * when that changes, the authority is gone and so is the session */
        char grant[PASSWORD_LOGIN_ID_LEN + 1];
        bool renewing;          /* its own admin password change is under way: it takes the new grant */
        uint64_t last_used;     /* CLOCK_MONOTONIC µs */
} Session;

typedef struct Sessions Sessions;

int sessions_new(Sessions **ret, uint64_t idle_usec);
Sessions *sessions_free(Sessions *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sessions *, sessions_free);

/* Creates a session with fresh random id and CSRF token; -EBUSY when SESSIONS_MAX live ones exist. */
int sessions_create(Sessions *s, SessionRole role, const char *peer, const char *grant, uint64_t now, Session **ret);
/* The live session with this id (touching it), or NULL when unknown or idle too long. */
Session *sessions_find(Sessions *s, const char *id, uint64_t now);
void sessions_remove(Sessions *s, const char *id);
/* Ends every session of a role except one (after a password change). */
void sessions_remove_role(Sessions *s, SessionRole role, const char *keep_id);
void sessions_expire(Sessions *s, uint64_t now);
/* Ends the sessions of peer @peer not granted by @grant (NULL: all of them: it is gone or disabled). */
void sessions_revoke_peer(Sessions *s, const char *peer, const char *grant);
/* Ends the admin sessions not granted by @grant; one renewing takes @grant instead. */
void sessions_revoke_admin(Sessions *s, const char *grant);
/* Calls fn for each session (which fn must not remove). */
void sessions_foreach(Sessions *s, void (*fn)(Session *x, void *userdata), void *userdata);
size_t sessions_count(Sessions *s);
bool session_csrf_matches(const Session *session, const char *token);
const char *session_role_to_string(SessionRole role);

/* Login attempts per key (a client address; a user name at an address) in a fixed window,
 * counted when they start (parallel guesses count too); a login that succeeds is forgiven. */
typedef struct LoginLimiter LoginLimiter;
int login_limiter_new(LoginLimiter **ret, uint64_t window_usec);
LoginLimiter *login_limiter_free(LoginLimiter *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(LoginLimiter *, login_limiter_free);
/* 0 when @key (allowed @max attempts per window) may try now, else the seconds until it may. */
unsigned login_limiter_check(LoginLimiter *l, const char *key, unsigned max, uint64_t now);
/* Counts an attempt of @key, starting now. */
void login_limiter_begin(LoginLimiter *l, const char *key, uint64_t now);
/* Uncounts one (it succeeded). */
void login_limiter_forgive(LoginLimiter *l, const char *key);

/* At most @rate password checks per second for everyone together (each costs the cell an
 * Argon2 hash), with a burst of @rate: 0 when one may start now, else the seconds to wait. */
typedef struct CheckBudget {
        unsigned rate;
        double tokens;
        uint64_t last; /* µs */
} CheckBudget;
unsigned check_budget_take(CheckBudget *b, uint64_t now);
