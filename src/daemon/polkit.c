/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "polkit.h"

#define ANSWER_KEEP_USEC (30ULL * 1000000ULL)

typedef enum QueryState {
        QUERY_PENDING,
        QUERY_ALLOWED,
        QUERY_DENIED,
} QueryState;

typedef struct PolkitQuery {
        PolkitRegistry *registry;
        sd_bus_message *request;
        char *action;
        sd_bus_slot *slot;
        QueryState state;
        char *reason; /* why it was denied, for the caller */
        uint64_t answered_usec;
        struct PolkitQuery *next;
} PolkitQuery;

struct PolkitRegistry {
        sd_bus *bus;
        uint64_t timeout_usec;
        PolkitQuery *queries;
};

PolkitRegistry *polkit_registry_new(sd_bus *bus, uint64_t timeout_usec) {
        PolkitRegistry *r = calloc(1, sizeof *r);
        if (!r)
                return NULL;
        r->bus = sd_bus_ref(bus);
        r->timeout_usec = timeout_usec;
        return r;
}

static void query_free(PolkitQuery *q) {
        if (!q)
                return;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->reason);
        free(q);
}

static void query_unlink(PolkitQuery *q) {
        for (PolkitQuery **i = &q->registry->queries; *i; i = &(*i)->next)
                if (*i == q) {
                        *i = q->next;
                        return;
                }
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        for (PolkitQuery *q = r->queries, *n; q; q = n) {
                n = q->next;
                query_free(q);
        }
        sd_bus_unref(r->bus);
        free(r);
        return NULL;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* An answer nobody came back for (the re-run handler refused earlier, e.g.
 * on a conflict) would hold its message forever: drop it after a while. */
static void registry_drop_stale(PolkitRegistry *registry) {
        uint64_t now = now_usec();
        for (PolkitQuery **i = &registry->queries; *i;) {
                PolkitQuery *q = *i;
                if (q->state != QUERY_PENDING && now - q->answered_usec > ANSWER_KEEP_USEC) {
                        *i = q->next;
                        query_free(q);
                } else
                        i = &q->next;
        }
}

static void query_finish(PolkitQuery *q, QueryState state, const char *reason) {
        q->state = state;
        q->answered_usec = now_usec();
        if (reason)
                q->reason = strdup(reason);
        q->slot = sd_bus_slot_unref(q->slot);
        /* Hand the original call back to sd-bus: its handler runs again and
         * finds this answer. */
        int r = sd_bus_enqueue_for_read(q->registry->bus, q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to re-queue a call after its authorization check: %m");
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Authorization check could not complete.");
                query_unlink(q);
                query_free(q);
        }
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        if (e) {
                log_warning("Authorization check for %s failed, denying: %s: %s", q->action, e->name, strempty(e->message));
                query_finish(q, QUERY_DENIED, "the authorization service (polkit) is not available or failed");
                return 0;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "Unreadable answer from polkit for %s, denying: %m", q->action);
                query_finish(q, QUERY_DENIED, "the authorization service gave an unreadable answer");
                return 0;
        }
        if (authorized)
                query_finish(q, QUERY_ALLOWED, NULL);
        else
                query_finish(q, QUERY_DENIED, challenge ? "authentication is required" : "not authorized");
        return 0;
}

static int query_start(PolkitRegistry *registry, sd_bus_message *m, const char *action) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        int r;

        if (!sender)
                return -EBADMSG;

        PolkitQuery *q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->registry = registry;
        q->request = sd_bus_message_ref(m);
        q->action = strdup(action);
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(registry->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                                          action, 0,
                                          (uint32_t) (sd_bus_message_get_allow_interactive_authorization(m) > 0),
                                          "");
        if (r >= 0)
                r = sd_bus_call_async(registry->bus, &q->slot, call, on_check_reply, q, registry->timeout_usec);
        if (r < 0) {
                query_free(q);
                return r;
        }
        q->next = registry->queries;
        registry->queries = q;
        return 0;
}

int polkit_verify_async(PolkitRegistry *registry, sd_bus_message *m, const char *action, sd_bus_error *error) {
        registry_drop_stale(registry);
        for (PolkitQuery *q = registry->queries; q; q = q->next) {
                if (q->request != m || !streq(q->action, action))
                        continue;
                if (q->state == QUERY_PENDING)
                        return 0; /* delivered again before the answer: keep waiting */

                QueryState state = q->state;
                _cleanup_(freep) char *reason = TAKE_PTR(q->reason);
                query_unlink(q);
                query_free(q);
                if (state == QUERY_ALLOWED)
                        return 1;
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied for %s: %s.", action,
                                         reason ?: "not authorized");
        }

        int r = query_start(registry, m, action);
        if (r < 0) {
                log_warning_errno(r, "Failed to ask polkit about %s, denying: %m", action);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Access denied for %s: the authorization check could not be started.", action);
        }
        return 0;
}
