/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sodium.h>

#include "hashmap.h"
#include "sessions.h"

struct Sessions {
        Hashmap *by_id;
        uint64_t idle_usec;
};

static void session_free(Session *s) {
        if (!s)
                return;
        free(s->peer);
        sodium_memzero(s, sizeof *s);
        free(s);
}

int sessions_new(Sessions **ret, uint64_t idle_usec) {
        Sessions *s = calloc(1, sizeof(Sessions));
        if (!s)
                return -ENOMEM;
        s->by_id = hashmap_new(&string_hash_ops);
        if (!s->by_id) {
                free(s);
                return -ENOMEM;
        }
        s->idle_usec = idle_usec;
        *ret = s;
        return 0;
}

Sessions *sessions_free(Sessions *s) {
        if (!s)
                return NULL;
        Session *x;
        HASHMAP_FOREACH(x, s->by_id)
                session_free(x);
        hashmap_free(s->by_id);
        free(s);
        return NULL;
}

static void random_token(char out[SESSION_ID_LEN + 1]) {
        unsigned char raw[32];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(out, SESSION_ID_LEN + 1, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof raw);
}

int sessions_create(Sessions *s, SessionRole role, const char *peer, const char *grant, uint64_t now, Session **ret) {
        /* logins cannot grow memory without bound */
        if (hashmap_size(s->by_id) >= SESSIONS_MAX)
                sessions_expire(s, now);
        if (hashmap_size(s->by_id) >= SESSIONS_MAX)
                return -EBUSY;

        Session *x = calloc(1, sizeof(Session));
        if (!x)
                return -ENOMEM;
        random_token(x->id);
        random_token(x->csrf);
        x->role = role;
        x->last_used = now;
        if (grant && strlen(grant) < sizeof x->grant)
                strcpy(x->grant, grant);
        if (peer && !(x->peer = strdup(peer))) {
                session_free(x);
                return -ENOMEM;
        }
        int r = hashmap_put(s->by_id, x->id, x);
        if (r < 0) {
                session_free(x);
                return r;
        }
        if (ret)
                *ret = x;
        return 0;
}

Session *sessions_find(Sessions *s, const char *id, uint64_t now) {
        if (!id || strlen(id) != SESSION_ID_LEN)
                return NULL;
        Session *x = hashmap_get(s->by_id, id);
        if (!x)
                return NULL;
        if (now - x->last_used > s->idle_usec) {
                hashmap_remove(s->by_id, x->id);
                session_free(x);
                return NULL;
        }
        x->last_used = now;
        return x;
}

void sessions_remove(Sessions *s, const char *id) {
        if (!id)
                return;
        Session *x = hashmap_remove(s->by_id, id);
        session_free(x);
}

static void remove_matching(Sessions *s, bool (*match)(const Session *x, const void *arg), const void *arg) {
        for (;;) {
                Session *x, *victim = NULL;
                HASHMAP_FOREACH(x, s->by_id)
                        if (match(x, arg)) {
                                victim = x;
                                break;
                        }
                if (!victim)
                        return;
                hashmap_remove(s->by_id, victim->id);
                session_free(victim);
        }
}

typedef struct RoleMatch {
        SessionRole role;
        const char *keep_id;
} RoleMatch;

static bool match_role(const Session *x, const void *arg) {
        const RoleMatch *m = arg;
        return x->role == m->role && !(m->keep_id && streq(x->id, m->keep_id));
}

void sessions_remove_role(Sessions *s, SessionRole role, const char *keep_id) {
        remove_matching(s, match_role, &(RoleMatch) { role, keep_id });
}

typedef struct IdleMatch {
        uint64_t now, idle;
} IdleMatch;

static bool match_idle(const Session *x, const void *arg) {
        const IdleMatch *m = arg;
        return m->now - x->last_used > m->idle;
}

void sessions_expire(Sessions *s, uint64_t now) {
        remove_matching(s, match_idle, &(IdleMatch) { now, s->idle_usec });
}

typedef struct GrantMatch {
        SessionRole role;
        const char *peer, *grant;
} GrantMatch;

static bool match_revoked(const Session *x, const void *arg) {
        const GrantMatch *m = arg;
        if (x->role != m->role || (m->peer && !streq_ptr(x->peer, m->peer)))
                return false;
        return !m->grant || !streq(x->grant, m->grant);
}

void sessions_revoke_peer(Sessions *s, const char *peer, const char *grant) {
        remove_matching(s, match_revoked, &(GrantMatch) { ROLE_PEER, peer, grant });
}

void sessions_revoke_admin(Sessions *s, const char *grant) {
        Session *x;
        HASHMAP_FOREACH(x, s->by_id)
                if (x->role == ROLE_ADMIN && x->renewing && strlen(grant) < sizeof x->grant) {
                        strcpy(x->grant, grant); /* the change it made itself */
                        x->renewing = false;
                }
        remove_matching(s, match_revoked, &(GrantMatch) { ROLE_ADMIN, NULL, grant });
}

void sessions_foreach(Sessions *s, void (*fn)(Session *x, void *userdata), void *userdata) {
        Session *x;
        HASHMAP_FOREACH(x, s->by_id)
                fn(x, userdata);
}

size_t sessions_count(Sessions *s) {
        return hashmap_size(s->by_id);
}

bool session_csrf_matches(const Session *session, const char *token) {
        if (!token || strlen(token) != SESSION_ID_LEN)
                return false;
        return sodium_memcmp(session->csrf, token, SESSION_ID_LEN) == 0;
}

const char *session_role_to_string(SessionRole role) {
        return role == ROLE_ADMIN ? "admin" : role == ROLE_PEER ? "peer" : "none";
}

/* ------------------------------------------------------------------ failed logins */

typedef struct Attempts {
        char *key;
        unsigned failures;
        uint64_t window_start;
} Attempts;

struct LoginLimiter {
        Hashmap *by_key;
        uint64_t window_usec;
};

int login_limiter_new(LoginLimiter **ret, uint64_t window_usec) {
        LoginLimiter *l = calloc(1, sizeof(LoginLimiter));
        if (!l)
                return -ENOMEM;
        l->by_key = hashmap_new(&string_hash_ops);
        if (!l->by_key) {
                free(l);
                return -ENOMEM;
        }
        l->window_usec = window_usec;
        *ret = l;
        return 0;
}

LoginLimiter *login_limiter_free(LoginLimiter *l) {
        if (!l)
                return NULL;
        Attempts *a;
        HASHMAP_FOREACH(a, l->by_key) {
                free(a->key);
                free(a);
        }
        hashmap_free(l->by_key);
        free(l);
        return NULL;
}

/* Drops windows that ended, so the map stays as small as the recent failures. */
static void limiter_prune(LoginLimiter *l, uint64_t now) {
        for (;;) {
                Attempts *a, *old = NULL;
                HASHMAP_FOREACH(a, l->by_key)
                        if (now - a->window_start >= l->window_usec) {
                                old = a;
                                break;
                        }
                if (!old)
                        return;
                hashmap_remove(l->by_key, old->key);
                free(old->key);
                free(old);
        }
}

unsigned login_limiter_check(LoginLimiter *l, const char *key, unsigned max, uint64_t now) {
        Attempts *a = hashmap_get(l->by_key, key);
        if (!a || now - a->window_start >= l->window_usec || a->failures < max)
                return 0;
        return (unsigned) ((a->window_start + l->window_usec - now + 999999) / 1000000);
}

void login_limiter_begin(LoginLimiter *l, const char *key, uint64_t now) {
        if (hashmap_size(l->by_key) > 4096)
                limiter_prune(l, now);
        Attempts *a = hashmap_get(l->by_key, key);
        if (a && now - a->window_start >= l->window_usec) {
                a->failures = 0;
                a->window_start = now;
        }
        if (!a) {
                a = calloc(1, sizeof(Attempts));
                if (!a)
                        return;
                a->key = strdup(key);
                a->window_start = now;
                if (!a->key || hashmap_put(l->by_key, a->key, a) < 0) {
                        free(a->key);
                        free(a);
                        return;
                }
        }
        a->failures++;
}

void login_limiter_forgive(LoginLimiter *l, const char *key) {
        Attempts *a = hashmap_get(l->by_key, key);
        if (a && a->failures > 0)
                a->failures--;
}

unsigned check_budget_take(CheckBudget *b, uint64_t now) {
        if (b->last == 0 || now < b->last)
                b->tokens = b->rate;
        else
                b->tokens = MIN((double) b->rate, b->tokens + (double) (now - b->last) * b->rate / 1e6);
        b->last = now;
        if (b->tokens >= 1.0) {
                b->tokens -= 1.0;
                return 0;
        }
        return 1;
}
