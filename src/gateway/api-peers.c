/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /api/peers…: list, create, read, change, remove, keys, configuration, login. */
#include <sodium.h>

#include "api.h"
#include "bus-call.h"
#include "log.h"
#include "qr-svg.h"

static const char *const create_options[] = { "public_key", "address", "service_access", "network_access",
                                              "persistent_keepalive", "preshared_key", "exit", NULL };
static const char *const update_settings[] = { "address", "service_access", "network_access", "persistent_keepalive",
                                               "public_key", "preshared_key", "exit", NULL };

static int peer_path(Request *r, const char *name, char **ret) {
        int k = sd_bus_path_encode(PIC_PEER_PATH_PREFIX, name, ret);
        if (k < 0)
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
        return k;
}

static void call_peer(Request *r, const char *member, BusReplyHandler then) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;

        if (peer_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_PEER_INTERFACE, member, &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, then, NULL);
}

static void reply_peer(Request *r, sd_bus_message *reply, unsigned status) {
        cJSON *o = bus_peer_json(reply);
        if (!o) {
                http_reply_error(r, 500, "failed", "The cell answered with unexpected properties.", NULL);
                return;
        }
        http_reply_json(r, status, o);
}

static void on_peer(Request *r, sd_bus_message *reply) {
        reply_peer(r, reply, 200);
}

static void on_peer_created(Request *r, sd_bus_message *reply) {
        reply_peer(r, reply, 201);
}

/* Reads the peer named by the request (after a change to it). */
static void then_peer(Request *r, sd_bus_message *reply) {
        _cleanup_(freep) char *path = NULL;
        if (peer_path(r, r->name, &path) < 0)
                return;
        bus_get_all(r, path, PIC_PEER_INTERFACE, on_peer);
}

/* ------------------------------------------------------------------ list */

static int compare_names(const void *a, const void *b) {
        const cJSON *x = *(const cJSON *const *) a, *y = *(const cJSON *const *) b;
        const char *nx = cJSON_GetStringValue(cJSON_GetObjectItem(x, "name"));
        const char *ny = cJSON_GetStringValue(cJSON_GetObjectItem(y, "name"));
        return strcmp(strempty(nx), strempty(ny));
}

/* GetManagedObjects → the peers, sorted by name */
int managed_peers(sd_bus_message *reply, cJSON **ret) {
        _cleanup_(freep) cJSON **items = NULL;
        size_t n = 0, allocated = 0;
        int k;

        k = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (k >= 0 && (k = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;
                k = sd_bus_message_read_basic(reply, 'o', &path);
                if (k >= 0)
                        k = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (k >= 0 && (k = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface;
                        k = sd_bus_message_read_basic(reply, 's', &iface);
                        if (k < 0)
                                break;
                        if (streq(iface, PIC_PEER_INTERFACE)) {
                                cJSON *o = bus_peer_json(reply);
                                if (!o) {
                                        k = -ENOMEM;
                                        break;
                                }
                                if (n == allocated) {
                                        allocated = allocated ? allocated * 2 : 64;
                                        cJSON **x = realloc(items, allocated * sizeof(cJSON *));
                                        if (!x) {
                                                cJSON_Delete(o);
                                                k = -ENOMEM;
                                                break;
                                        }
                                        items = x;
                                }
                                items[n++] = o;
                        } else
                                k = sd_bus_message_skip(reply, "a{sv}");
                        if (k >= 0)
                                k = sd_bus_message_exit_container(reply);
                }
                if (k >= 0)
                        k = sd_bus_message_exit_container(reply);
                if (k >= 0)
                        k = sd_bus_message_exit_container(reply);
        }
        cJSON *a = k >= 0 ? cJSON_CreateArray() : NULL;
        if (n > 1)
                qsort(items, n, sizeof(cJSON *), compare_names);
        for (size_t i = 0; i < n; i++) {
                if (a)
                        cJSON_AddItemToArray(a, items[i]);
                else
                        cJSON_Delete(items[i]);
        }
        if (!a)
                return k < 0 ? k : -ENOMEM;
        *ret = a;
        return 0;
}

static void on_managed_objects(Request *r, sd_bus_message *reply) {
        cJSON *a = NULL;
        if (managed_peers(reply, &a) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with unexpected objects.", NULL);
                return;
        }
        http_reply_json(r, 200, a);
}

static void on_own_peer(Request *r, sd_bus_message *reply) {
        cJSON *o = bus_peer_json(reply), *a = cJSON_CreateArray();
        if (!o || !a) {
                cJSON_Delete(o);
                cJSON_Delete(a);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected properties.", NULL);
                return;
        }
        cJSON_AddItemToArray(a, o);
        http_reply_json(r, 200, a);
}

static bool on_own_peer_error(Request *r, const sd_bus_error *e) {
        /* a peer whose object is gone sees an empty list */
        if (!sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownObject") &&
            !sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownMethod") &&
            !sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownInterface"))
                return false;
        http_reply_json(r, 200, cJSON_CreateArray());
        return true;
}

void api_peers_list(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        if (r->role == ROLE_PEER) {
                _cleanup_(freep) char *path = NULL;
                if (peer_path(r, r->session_peer, &path) < 0)
                        return;
                if (bus_new_call(r, path, "org.freedesktop.DBus.Properties", "GetAll", &m) < 0 ||
                    sd_bus_message_append(m, "s", PIC_PEER_INTERFACE) < 0) {
                        http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                        return;
                }
                bus_call(r, m, on_own_peer, on_own_peer_error);
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_managed_objects, NULL);
}

/* ------------------------------------------------------------------ create, read, change, remove */

static void on_added(Request *r, sd_bus_message *reply) {
        bus_get_all_of_returned(r, reply, PIC_PEER_INTERFACE, on_peer_created);
}

void api_peers_create(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        _cleanup_(cJSON_Deletep) cJSON *name = cJSON_DetachItemFromObjectCaseSensitive(body, "name");
        if (!cJSON_IsString(name) || isempty(name->valuestring)) {
                http_reply_error(r, 400, "invalid", "name is required.", "name");
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "AddPeer", &m) < 0 ||
            sd_bus_message_append(m, "s", name->valuestring) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        if (bus_append_settings(r, m, body, peer_fields, create_options) < 0)
                return;
        bus_call(r, m, on_added, NULL);
}

void api_peer_get(Request *r) {
        _cleanup_(freep) char *path = NULL;
        if (peer_path(r, r->name, &path) < 0)
                return;
        bus_get_all(r, path, PIC_PEER_INTERFACE, on_peer);
}

typedef struct PatchState {
        int enabled;    /* -1: not asked */
} PatchState;

static void patch_set_enabled(Request *r, sd_bus_message *reply) {
        PatchState *st = r->data;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;

        if (st->enabled < 0) {
                then_peer(r, reply);
                return;
        }
        if (peer_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_PEER_INTERFACE, "SetEnabled", &m) < 0 ||
            sd_bus_message_append(m, "b", st->enabled) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        st->enabled = -1;
        bus_call(r, m, then_peer, NULL);
}

void api_peer_patch(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        PatchState *st = calloc(1, sizeof(PatchState));
        if (!st) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        st->enabled = -1;
        r->data = st;
        r->free_data = free;

        _cleanup_(cJSON_Deletep) cJSON *enabled = cJSON_DetachItemFromObjectCaseSensitive(body, "enabled");
        if (enabled) {
                if (!cJSON_IsBool(enabled)) {
                        http_reply_error(r, 400, "invalid", "enabled must be true or false.", "enabled");
                        return;
                }
                st->enabled = cJSON_IsTrue(enabled);
        }
        if (!body->child) {
                patch_set_enabled(r, NULL);
                return;
        }
        if (peer_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_PEER_INTERFACE, "Update", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        if (bus_append_settings(r, m, body, peer_fields, update_settings) < 0)
                return;
        bus_call(r, m, patch_set_enabled, NULL);
}

static void on_removed(Request *r, sd_bus_message *reply) {
        http_reply_empty(r, 204);
}

void api_peer_delete(Request *r) {
        call_peer(r, "Remove", on_removed);
}

void api_peer_rotate_keys(Request *r) {
        call_peer(r, "RotateKeys", then_peer);
}

/* ------------------------------------------------------------------ configuration (secret) */

static void on_config(Request *r, sd_bus_message *reply) {
        const char *config;
        if (sd_bus_message_read(reply, "s", &config) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        http_reply_text(r, 200, "text/plain; charset=utf-8", config, strlen(config));
}

static void on_config_svg(Request *r, sd_bus_message *reply) {
        _cleanup_(freep) char *svg = NULL;
        const char *config;
        size_t size;
        int k;

        if (sd_bus_message_read(reply, "s", &config) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        k = qr_svg_render(config, &svg, &size);
        if (k < 0) {
                http_reply_error(r, 500, "failed",
                                 k == -ERANGE ? "The configuration is too long for a QR code." :
                                                "Failed to draw the QR code.", NULL);
                return;
        }
        http_reply_text(r, 200, "image/svg+xml", svg, size);
        /* the drawing encodes the private key */
        sodium_memzero(svg, size);
}

void api_peer_config(Request *r) {
        call_peer(r, "GetConfig", on_config);
}

void api_peer_config_svg(Request *r) {
        call_peer(r, "GetConfig", on_config_svg);
}

static void on_login_password(Request *r, sd_bus_message *reply) {
        const char *password;
        if (sd_bus_message_read(reply, "s", &password) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        if (o)
                cJSON_AddStringToObject(o, "password", password);
        http_reply_json(r, 200, o);
}

void api_peer_login(Request *r) {
        call_peer(r, "SetLoginPassword", on_login_password);
}
