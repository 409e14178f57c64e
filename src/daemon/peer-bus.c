/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sodium.h>

#include "exit-bus.h"
#include "bus-dict.h"
#include "bus-api.h"
#include "cell-bus.h"
#include "keys.h"
#include "log.h"
#include "changes.h"
#include "cell-apply.h"
#include "password-bus.h"
#include "password.h"
#include "link.h"
#include "peer-bus.h"
#include "peer-options.h"


static int peer_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(freep) char *name = NULL;

        if (sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) <= 0)
                return 0;
        Peer *p = hashmap_get(m->peers_by_name, name);
        if (!p)
                return 0;
        *found = p;
        return 1;
}

static int peer_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        size_t i = 0;
        Peer *p;

        char **l = calloc(hashmap_size(m->peers_by_name) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH(p, m->peers_by_name)
                if (!(l[i++] = strdup(p->object_path))) {
                        strv_free(l);
                        return -ENOMEM;
                }
        *nodes = l;
        return 0;
}

void peer_bus_emit_changed(Peer *p, char **names) {
        changes_mark_peer(p, names);
}

/* Lists without repeats (as grants are) holding the same entries in any order. */
void peer_bus_emit_diff(Peer *new, const Peer *old) {
        char *names[12];
        size_t n = 0;

        if (!streq(new->public_key_b64, old->public_key_b64))
                names[n++] = "PublicKey";
        if (new->address != old->address)
                names[n++] = "Address";
        /* the same grants in another order are another value: whoever holds the old one must hear of it */
        if (!strv_equal(new->service_access, old->service_access))
                names[n++] = "ServiceAccess";
        if (!strv_equal(new->network_access, old->network_access))
                names[n++] = "NetworkAccess";
        if (new->persistent_keepalive != old->persistent_keepalive)
                names[n++] = "PersistentKeepalive";
        if (new->has_preshared_key != old->has_preshared_key)
                names[n++] = "HasPresharedKey";
        if (new->enabled != old->enabled)
                names[n++] = "Enabled";
        if (new->latest_handshake_usec != old->latest_handshake_usec)
                names[n++] = "LatestHandshake";
        if (new->connected != old->connected)
                names[n++] = "Connected";
        if (!streq(new->exit, old->exit)) {
                names[n++] = "Exit";
                exit_bus_peer_moved(new->manager, old->exit, new->exit);
        }
        names[n] = NULL;
        if (n > 0)
                peer_bus_emit_changed(new, names);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        char buf[CIDR4_STRLEN];

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", p->name);
        if (streq(property, "PublicKey"))
                return sd_bus_message_append(reply, "s", p->public_key_b64);
        if (streq(property, "Address"))
                return sd_bus_message_append(reply, "s", ipv4_format(p->address, buf));
        if (streq(property, "ServiceAccess"))
                return sd_bus_message_append_strv(reply, p->service_access);
        if (streq(property, "NetworkAccess"))
                return sd_bus_message_append_strv(reply, p->network_access);
        if (streq(property, "PersistentKeepalive"))
                return sd_bus_message_append(reply, "q", p->persistent_keepalive);
        if (streq(property, "HasPresharedKey"))
                return sd_bus_message_append(reply, "b", p->has_preshared_key);
        if (streq(property, "Enabled"))
                return sd_bus_message_append(reply, "b", p->enabled);
        if (streq(property, "Connected"))
                return sd_bus_message_append(reply, "b", p->connected);
        if (streq(property, "Exit"))
                return sd_bus_message_append(reply, "s", p->exit);
        if (streq(property, "Created"))
                return sd_bus_message_append(reply, "t", p->created_usec);
        if (streq(property, "LatestHandshake"))
                return sd_bus_message_append(reply, "t", p->latest_handshake_usec);
        if (streq(property, "RxBytes"))
                return sd_bus_message_append(reply, "t", p->rx_bytes);
        if (streq(property, "TxBytes"))
                return sd_bus_message_append(reply, "t", p->tx_bytes);
        if (streq(property, "Endpoint"))
                return sd_bus_message_append(reply, "s", p->endpoint);
        if (streq(property, "HasLoginPassword"))
                return sd_bus_message_append(reply, "b", p->login_password_hash != NULL);
        if (streq(property, "LoginId")) {
                char id[PASSWORD_LOGIN_ID_LEN + 1];
                password_login_id(p->login_password_hash, id);
                return sd_bus_message_append(reply, "s", id);
        }
        return -ENOENT;
}

/* The cell must be set up, then polkit decides (and a change waits for a
 * WireGuard device that is up): 1 go on, 0 wait (the handler returns 1 and
 * runs again), negative refused. */
static int authorize(sd_bus_message *message, Manager *m, const char *action, sd_bus_error *error) {
        int r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        if (streq(action, ACTION_READ_SECRETS))
                return polkit_verify_async(m->polkit, message, action, error);
        return cell_bus_authorize_change(m, message, action, error);
}

/* Stores, applies and swaps in a changed copy of a peer, then replies. */
static int commit_and_reply(sd_bus_message *message, Peer *old, Peer *new, sd_bus_error *error) {
        Manager *m = old->manager;
        /* old is freed by the commit: keep what the change signal compares. */
        _cleanup_(strv_freep) char **old_access = strv_copy(old->service_access);
        _cleanup_(strv_freep) char **old_networks = strv_copy(old->network_access);
        Peer snapshot = *old;
        snapshot.object_path = NULL;
        snapshot.service_access = old_access;
        snapshot.network_access = old_networks;
        if (!old_access || !old_networks) {
                peer_free(new);
                return -ENOMEM;
        }

        int r = manager_commit_peer(m, old, new);
        if (r < 0) {
                peer_free(new);
                r = sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to change peer '%s': %s.", snapshot.name,
                                      strerror(-r));
        } else {
                peer_bus_emit_diff(new, &snapshot);
                r = sd_bus_reply_method_return(message, NULL);
        }
        sodium_memzero(&snapshot, sizeof snapshot);
        return r;
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *m = p->manager;
        int r;

        r = authorize(message, m, ACTION_MANAGE_PEERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_commit_peer(m, p, NULL);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to remove peer '%s': %s.", p->name,
                                         strerror(-r));
        log_info("Removed peer %s.", p->name);
        exit_bus_peer_moved(m, p->exit, NULL);
        (void) sd_bus_emit_object_removed(m->bus, p->object_path);
        manager_remove_peer(m, p);
        char *changed[] = { "PeerCount", NULL };
        cell_bus_emit_changed(m, changed);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_update(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *m = p->manager;
        _cleanup_(peer_options_done) PeerOptions o = {};
        int r;

        r = peer_options_read(message, &o, false, error);
        if (r < 0)
                return r;
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        r = peer_options_check(m, &o, p, error);
        if (r < 0)
                return r;
        r = exit_bus_authorize_peer_exit(m, message, o.has_exit && !streq(o.exit, p->exit), error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = cell_bus_authorize_change(m, message, ACTION_MANAGE_PEERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        Peer *new;
        r = peer_copy(p, &new);
        if (r < 0)
                return r;
        r = peer_options_apply(&o, new);
        if (r < 0) {
                peer_free(new);
                return r;
        }
        return commit_and_reply(message, p, new, error);
}

static int method_rotate_keys(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *m = p->manager;
        int r;

        r = authorize(message, m, ACTION_MANAGE_PEERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        Peer *new;
        r = peer_copy(p, &new);
        if (r < 0)
                return r;
        r = peer_generate_keys(new);
        if (r < 0) {
                peer_free(new);
                return r;
        }
        if (new->has_preshared_key)
                key_generate_symmetric(new->preshared_key);
        return commit_and_reply(message, p, new, error);
}

static int method_set_enabled(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *m = p->manager;
        int enabled, r;

        r = sd_bus_message_read(message, "b", &enabled);
        if (r < 0)
                return r;
        r = authorize(message, m, ACTION_MANAGE_PEERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (p->enabled == !!enabled)
                return sd_bus_reply_method_return(message, NULL);
        Peer *new;
        r = peer_copy(p, &new);
        if (r < 0)
                return r;
        new->enabled = enabled;
        return commit_and_reply(message, p, new, error);
}

static int method_set_login_password(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *m = p->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(password_answer_done) PasswordAnswer a = {};
        PasswordRequest req = { .make_hash = true }; /* of a random password */
        int r;

        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        r = bus_password_job(m, message, ACTION_MANAGE_PEERS, &req, &a, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_wait_idle(m, message); /* an Apply is writing files: hashed again when it is done */
        if (r <= 0)
                return r < 0 ? r : 1;
        Peer *new;
        r = peer_copy(p, &new);
        if (r < 0)
                return r;
        free(new->login_password_hash);
        new->login_password_hash = TAKE_PTR(a.hash);
        r = manager_commit_peer(m, p, new);
        if (r < 0) {
                peer_free(new);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the login: %s.", strerror(-r));
        }
        char *changed[] = { "HasLoginPassword", "LoginId", NULL };
        peer_bus_emit_changed(new, changed);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", a.password);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_config(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *m = p->manager;
        int r;

        r = authorize(message, m, ACTION_READ_SECRETS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **linked = NULL;
        char *config = NULL;
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name)
                if (strv_extend(&linked, l->remote.vpn_subnet) < 0)
                        return -ENOMEM;
        r = peer_client_config(p, &m->cell, linked, &config);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", config);
        sodium_memzero(config, strlen(config));
        free(config);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PublicKey", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Address", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ServiceAccess", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NetworkAccess", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Exit", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PersistentKeepalive", "q", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasPresharedKey", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Connected", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Created", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LatestHandshake", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TxBytes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasLoginPassword", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LoginId", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RotateKeys", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_rotate_keys,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetEnabled", SD_BUS_ARGS("b", enabled), SD_BUS_NO_RESULT, method_set_enabled,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetLoginPassword", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", password),
                                method_set_login_password, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("GetConfig", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", config), method_get_config,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END
};

int peer_bus_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, PIC_PEER_PATH_PREFIX, "org.pic.Cell1.Peer", peer_vtable,
                                           peer_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, PIC_PEER_PATH_PREFIX, peer_enumerate, m);
}
