/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-api.h"
#include "cell-identity.h"
#include "exit-cell.h"
#include "http-client.h"
#include "link-bus.h"
#include "link-push.h"
#include "link.h"
#include "log.h"
#include "manager.h"
#include "message.h"
#include "time-util.h"

#define PUSH_PATH "/cell/v1/message"
#define PUSH_TIMEOUT_USEC (8ULL * 1000000ULL)
#define PUSH_ANSWER_MAX 2048
#define PUSH_RETRY_MIN_USEC (1ULL * 1000000ULL)
#define PUSH_RETRY_MAX_USEC (300ULL * 1000000ULL)

static void push_now(Link *l);

void link_push_cancel(Link *l) {
        l->push_timer = sd_event_source_disable_unref(l->push_timer);
        http_request_cancel(l->push_request);
        l->push_request = NULL;
}

static void announce(Link *l) {
        char *changed[] = { "PendingPush", "LastPushTime", "LastPushError", "State", NULL };
        link_bus_emit_changed(l, changed);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Link *l = userdata;
        l->push_timer = sd_event_source_disable_unref(l->push_timer);
        push_now(l);
        return 0;
}

/* 1 s doubling to 5 min, ±20 % so that many links do not retry in step. */
static void schedule_retry(Link *l) {
        uint64_t delay = PUSH_RETRY_MIN_USEC << (l->push_failures < 9 ? l->push_failures : 9);
        if (delay > PUSH_RETRY_MAX_USEC)
                delay = PUSH_RETRY_MAX_USEC;
        delay = delay * (80 + randombytes_uniform(41)) / 100;
        l->push_timer = sd_event_source_disable_unref(l->push_timer);
        if (sd_event_add_time_relative(l->manager->event, &l->push_timer, CLOCK_MONOTONIC, delay, 1000, on_retry, l) < 0)
                log_warning("Cannot schedule telling cell %s what is shared with it; it is tried at the next start.",
                            l->remote.name);
}

static const char *what_is_told(LinkMessageType t) {
        switch (t) {
        case LINK_MESSAGE_IDENTITY:
                return "where this cell is now";
        case LINK_MESSAGE_EXIT:
                return "whether this cell's uplink is its exit";
        case LINK_MESSAGE_EXIT_KEY:
                return "the key of this cell's tunnel to it";
        default:
                return "what is shared with it";
        }
}

static void failed(Link *l, const char *why) {
        free(l->last_push_error);
        l->last_push_error = strdup(why);
        l->push_failures++;
        log_warning("Telling cell %s %s failed (%s); retried.", l->remote.name, what_is_told(l->push_type), why);
        schedule_retry(l);
        announce(l);
}

static bool *pending_flag(Link *l, LinkMessageType t) {
        switch (t) {
        case LINK_MESSAGE_IDENTITY:
                return &l->identity_pending;
        case LINK_MESSAGE_EXIT:
                return &l->exit_pending;
        case LINK_MESSAGE_EXIT_KEY:
                return &l->exit_key_pending;
        default:
                return &l->push_pending;
        }
}

/* What goes first: where this cell is (nothing else arrives while the other cell cannot reach it),
 * then the exit's messages, then what is shared. */
static bool next_pending(const Link *l, LinkMessageType *ret) {
        *ret = l->identity_pending ? LINK_MESSAGE_IDENTITY :
               l->exit_pending ? LINK_MESSAGE_EXIT :
               l->exit_key_pending ? LINK_MESSAGE_EXIT_KEY : LINK_MESSAGE_SHARED;
        return l->identity_pending || l->exit_pending || l->exit_key_pending || l->push_pending;
}

static void on_pushed(HttpRequest *req, int error, long status, const char *body, size_t size, void *userdata) {
        Link *l = userdata;
        char why[256];

        l->push_request = NULL;
        if (error < 0) {
                snprintf(why, sizeof why, "its gateway at %s did not answer: %s", l->remote.pairing, strerror(-error));
                failed(l, why);
                return;
        }
        if (status != 204) {
                /* it has no link with this cell (removed while this one was away): pairing again heals that */
                l->refused = status == 404 && strstr(body, PIC_ERROR_UNKNOWN_CELL);
                snprintf(why, sizeof why, "%sits gateway answered HTTP %ld: %.*s",
                         l->refused ? "it has no link with this cell (pair again with a new invite); " : "", status,
                         (int) (size < 160 ? size : 160), body);
                failed(l, why);
                return;
        }
        l->refused = false;
        bool *flag = pending_flag(l, l->push_type);
        *flag = false;
        if (link_bus_store(l->manager, l) < 0)
                *flag = true; /* told again at the next start: harmless, the counter is newer */
        l->push_failures = 0;
        l->last_push_usec = now_usec(CLOCK_REALTIME);
        l->last_push_error = mfree_str(l->last_push_error);
        log_info("Told cell %s %s.", l->remote.name, what_is_told(l->push_type));
        announce(l);
        push_now(l); /* the other kind, when that is pending too */
}

/* One attempt: a fresh message with a newer counter, stored before it goes out.
 * Where this cell is goes first: nothing else arrives while the other cell
 * cannot reach it. */
static void push_now(Link *l) {
        Manager *m = l->manager;
        OwnIdentity me;
        char why[160];
        int r;

        LinkMessageType type;
        if (l->push_request || l->push_timer || !next_pending(l, &type))
                return;
        l->push_type = type;
        LinkMessage msg = { .counter = l->tx_counter + 1, .type = l->push_type, .services = l->shared };
        signing_fingerprint(&m->signing_key.public, msg.from);
        signing_fingerprint(&l->remote.signing_key, msg.to);
        _cleanup_(freep) char *text = NULL;
        char *none[] = { NULL };
        if (!msg.services)
                msg.services = none;
        r = 0;
        if (msg.type == LINK_MESSAGE_IDENTITY) {
                r = own_identity(m, l->own_pairing, &me);
                msg.cell = me.cell;
        } else if (msg.type == LINK_MESSAGE_EXIT) {
                msg.exit_offered = l->exit_offered;
                if (l->exit_offered && l->exit_client_address)
                        ipv4_format(l->exit_client_address, msg.exit_address);
        } else if (msg.type == LINK_MESSAGE_EXIT_KEY)
                r = exit_cell_public_key(m, l, msg.exit_key);
        if (r >= 0)
                r = link_message_encode(&msg, &m->signing_key, &text);
        if (r >= 0) {
                l->tx_counter++;
                r = link_bus_store(m, l); /* the counter never goes back, even across a crash */
                if (r < 0)
                        l->tx_counter--;
        }
        if (r >= 0 && !m->http)
                r = http_client_new(m->event, &m->http);
        if (r >= 0)
                r = http_post(m->http, l->remote.pairing, PUSH_PATH, text, PUSH_TIMEOUT_USEC, PUSH_ANSWER_MAX, on_pushed,
                              l, &l->push_request);
        if (r < 0) {
                snprintf(why, sizeof why, "%s", strerror(-r));
                failed(l, why);
        }
}

int link_push_pending(Manager *m, Link *l) {
        if (!m->has_signing_key)
                return -ENOKEY;
        l->push_failures = 0;
        link_push_cancel(l); /* what is sent is always the latest */
        push_now(l);
        return 0;
}

void link_push_resume(Manager *m) {
        Link *l;
        if (!m->has_signing_key)
                return;
        HASHMAP_FOREACH(l, m->links_by_name)
                push_now(l);
}

int link_push_mark(Manager *m, Link *l, bool shared, bool identity) {
        bool old_shared = l->push_pending, old_identity = l->identity_pending;

        /* a message of a marked kind already on its way predates the change: were it answered, its
         * answer would clear the mark and the change would never be told (the caller pushes anew) */
        if (l->push_request && ((shared && l->push_type == LINK_MESSAGE_SHARED) ||
                                (identity && l->push_type == LINK_MESSAGE_IDENTITY)))
                link_push_cancel(l);
        if ((!shared || old_shared) && (!identity || old_identity))
                return 0;
        l->push_pending = old_shared || shared;
        l->identity_pending = old_identity || identity;
        int r = link_bus_store(m, l);
        if (r < 0) {
                l->push_pending = old_shared;
                l->identity_pending = old_identity;
                return r;
        }
        char *changed[] = { "PendingPush", NULL };
        link_bus_emit_changed(l, changed);
        return 0;
}

int link_push_mark_identity(Manager *m) {
        Link *l;

        HASHMAP_FOREACH(l, m->links_by_name) {
                int r = link_push_mark(m, l, false, true);
                if (r < 0)
                        return log_warning_errno(r, "Cannot store that cell %s is to be told where this cell is: %m",
                                                 l->remote.name);
        }
        return 0;
}

void link_push_restart(Manager *m) {
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name) {
                LinkMessageType type;
                if (next_pending(l, &type))
                        (void) link_push_pending(m, l);
        }
}

static void on_farewell(HttpRequest *req, int error, long status, const char *body, size_t size, void *userdata) {
        char *name = userdata;
        if (error >= 0 && status == 204)
                log_info("Told cell %s that the link is removed.", name);
        else
                log_warning("Could not tell cell %s that the link is removed (%s); its side stays until removed there.",
                            name, error < 0 ? strerror(-error) : "refused");
        free(name);
}

int link_push_farewell(Manager *m, const Link *l) {
        _cleanup_(freep) char *text = NULL;
        LinkMessage msg = { .counter = l->tx_counter + 1, .type = LINK_MESSAGE_UNLINK };
        int r;

        if (!m->has_signing_key)
                return -ENOKEY;
        signing_fingerprint(&m->signing_key.public, msg.from);
        signing_fingerprint(&l->remote.signing_key, msg.to);
        r = link_message_encode(&msg, &m->signing_key, &text);
        if (r >= 0 && !m->http)
                r = http_client_new(m->event, &m->http);
        char *name = r >= 0 ? strdup(l->remote.name) : NULL;
        if (r >= 0 && !name)
                r = -ENOMEM;
        /* one attempt, on its own: the link is gone here, nothing is left to retry from */
        if (r >= 0)
                r = http_post(m->http, l->remote.pairing, PUSH_PATH, text, PUSH_TIMEOUT_USEC, PUSH_ANSWER_MAX, on_farewell,
                              name, NULL);
        if (r < 0) {
                free(name);
                return log_warning_errno(r, "Could not tell cell %s that the link is removed: %m", l->remote.name);
        }
        return 0;
}
