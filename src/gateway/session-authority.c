/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-api.h"
#include "bus-message.h"
#include "gateway.h"
#include "hashmap.h"
#include "bus-call.h"
#include "log.h"
#include "session-authority.h"
#include "sessions.h"
#include "strv.h"

struct SessionAuthority {
        Gateway *gateway;
        sd_bus_slot *slots[3];
};

/* ------------------------------------------------------------------ signals */

typedef struct PeerChange {
        bool disabled, has_login_id;
        char *login_id;
} PeerChange;

static int read_peer_change(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        PeerChange *c = userdata;
        int b, r;

        if (streq(key, "Enabled") && streq(contents, "b")) {
                r = sd_bus_message_read(m, "v", "b", &b);
                c->disabled = r >= 0 && !b;
                return r < 0 ? r : 1;
        }
        if (streq(key, "LoginId") && streq(contents, "s")) {
                const char *id;
                r = sd_bus_message_read(m, "v", "s", &id);
                if (r < 0)
                        return r;
                free(c->login_id);
                c->login_id = strdup(id);
                c->has_login_id = true;
                return c->login_id ? 1 : -ENOMEM;
        }
        return 0;
}

static int read_admin_login_id(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        char **id = userdata;
        const char *s;
        if (!streq(key, "AdminLoginId") || !streq(contents, "s"))
                return 0;
        int r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        free(*id);
        *id = strdup(s);
        return *id ? 1 : -ENOMEM;
}

/* A peer's properties (a{sv} at the read position) as told or as read: its sessions follow them. */
static void apply_peer(SessionAuthority *a, sd_bus_message *m, const char *name) {
        PeerChange c = {};
        if (bus_dict_walk(m, read_peer_change, &c) >= 0) {
                if (c.disabled)
                        sessions_revoke_peer(a->gateway->sessions, name, NULL);
                else if (c.has_login_id)
                        sessions_revoke_peer(a->gateway->sessions, name, isempty(c.login_id) ? NULL : c.login_id);
        }
        free(c.login_id);
}

static void apply_admin(SessionAuthority *a, sd_bus_message *m) {
        _cleanup_(freep) char *id = NULL;
        if (bus_dict_walk(m, read_admin_login_id, &id) >= 0 && id)
                sessions_revoke_admin(a->gateway->sessions, id);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SessionAuthority *a = userdata;
        _cleanup_(freep) char *name = NULL;
        const char *iface, *path = sd_bus_message_get_path(m);

        if (!path || sd_bus_message_read(m, "s", &iface) < 0)
                return 0;
        if (streq(iface, PIC_MANAGER_INTERFACE) && streq(path, PIC_MANAGER_PATH))
                apply_admin(a, m);
        else if (streq(iface, PIC_PEER_INTERFACE) && sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) > 0)
                apply_peer(a, m, name);
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SessionAuthority *a = userdata;
        _cleanup_(strv_freep) char **ifaces = NULL;
        _cleanup_(freep) char *name = NULL;
        const char *path;

        /* an object has a handful of interfaces; more is not the daemon talking */
        if (sd_bus_message_read(m, "o", &path) < 0 || bus_read_strv_bounded(m, 64, 256, NULL, NULL, &ifaces) < 0)
                return 0;
        if (strv_contains(ifaces, PIC_PEER_INTERFACE) && sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) > 0)
                sessions_revoke_peer(a->gateway->sessions, name, NULL);
        return 0;
}

/* ------------------------------------------------------------------ a new pic-celld */

typedef struct PeerNow {
        char *name;
        char *login_id; /* NULL: disabled */
} PeerNow;

static void peer_now_free(PeerNow *p) {
        if (p) {
                free(p->name);
                free(p->login_id);
        }
        free(p);
}

static int read_peer_now(sd_bus_message *props, const char *path, void *userdata) {
        Hashmap *peers = userdata;
        _cleanup_(freep) char *name = NULL;
        PeerChange c = {};

        int r = bus_dict_walk(props, read_peer_change, &c);
        if (r < 0 || sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) <= 0) {
                free(c.login_id);
                return r < 0 ? r : 0;
        }
        PeerNow *p = calloc(1, sizeof(PeerNow));
        if (!p) {
                free(c.login_id);
                return -ENOMEM;
        }
        p->name = TAKE_PTR(name);
        if (c.disabled)
                free(c.login_id);
        else
                p->login_id = c.login_id;
        r = hashmap_put(peers, p->name, p);
        if (r < 0)
                peer_now_free(p);
        return r < 0 ? r : 0;
}

typedef struct Stale {
        Hashmap *peers;
        char **names; /* peer sessions to check, collected: revoking changes the session map */
} Stale;

static void collect_peer_sessions(Session *x, void *userdata) {
        Stale *st = userdata;
        if (x->role == ROLE_PEER && x->peer && !strv_contains(st->names, x->peer))
                (void) strv_extend(&st->names, x->peer);
}

static int on_objects(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SessionAuthority *a = userdata;
        Stale st = {};

        if (sd_bus_message_is_method_error(reply, NULL))
                return 0; /* no cell: nothing to compare with; the next owner change asks again */
        st.peers = hashmap_new(&string_hash_ops);
        if (!st.peers || bus_managed_objects_walk(reply, PIC_PEER_INTERFACE, read_peer_now, st.peers) < 0) {
                /* unreadable: fail closed */
                log_warning("Cannot read the cell's peers after its restart: ending every peer session.");
                sessions_foreach(a->gateway->sessions, collect_peer_sessions, &st);
                for (char **n = st.names; n && *n; n++)
                        sessions_revoke_peer(a->gateway->sessions, *n, NULL);
        } else {
                sessions_foreach(a->gateway->sessions, collect_peer_sessions, &st);
                for (char **n = st.names; n && *n; n++) {
                        PeerNow *p = hashmap_get(st.peers, *n);
                        sessions_revoke_peer(a->gateway->sessions, *n, p ? p->login_id : NULL);
                }
        }
        strv_free(st.names);
        if (st.peers) {
                PeerNow *p;
                HASHMAP_FOREACH(p, st.peers)
                        peer_now_free(p);
                hashmap_free(st.peers);
        }
        return 0;
}

static int on_manager(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SessionAuthority *a = userdata;
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        apply_admin(a, reply);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SessionAuthority *a = userdata;
        const char *name, *old_owner, *new_owner;
        sd_bus *bus = a->gateway->bus;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || isempty(new_owner))
                return 0;
        if (bus_call_background(bus, NULL, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                on_objects, a, NULL) < 0 ||
            bus_call_background(bus, NULL, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                                on_manager, a, "s", PIC_MANAGER_INTERFACE) < 0)
                log_warning("Cannot ask the restarted cell about its logins; sessions are checked at the next change.");
        return 0;
}

int session_authority_start(Gateway *g, SessionAuthority **ret) {
        SessionAuthority *a = calloc(1, sizeof(SessionAuthority));
        sd_bus *bus = g->bus;
        int r;

        if (!a)
                return -ENOMEM;
        a->gateway = g;
        r = sd_bus_match_signal_async(bus, &a->slots[0], PIC_BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged", on_properties_changed, NULL, a);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &a->slots[1], PIC_BUS_NAME, PIC_MANAGER_PATH,
                                              "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                              on_interfaces_removed, NULL, a);
        if (r >= 0)
                r = sd_bus_add_match_async(bus, &a->slots[2],
                                           "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                           "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                           "arg0='" PIC_BUS_NAME "'",
                                           on_owner_changed, NULL, a);
        if (r < 0) {
                session_authority_free(a);
                return log_error_errno(r, "Failed to follow the cell's logins: %m");
        }
        *ret = a;
        return 0;
}

SessionAuthority *session_authority_free(SessionAuthority *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(a->slots); i++)
                sd_bus_slot_unref(a->slots[i]);
        free(a);
        return NULL;
}
