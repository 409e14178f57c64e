/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /api/peers…: list, create, read, change, remove, keys, configuration, login. */
#include <inttypes.h>
#include <sodium.h>

#include "api.h"
#include "bus-call.h"
#include "log.h"
#include "names.h"
#include "peer-cache.h"
#include "peer-query.h"
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

/* ------------------------------------------------------------------ list (from peer-cache.h) */

/* libmicrohttpd's iterator over the query: stops at the first refusal */
static enum MHD_Result read_query_item(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        return peer_query_add(cls, key, value) ? MHD_YES : MHD_NO;
}

static bool etag_matches(const char *if_none_match, const char *etag) {
        /* each tag is quoted, so finding ours whole is finding it in the list */
        return if_none_match && (streq(if_none_match, "*") || strstr(if_none_match, etag));
}

static void answer_list(Request *r) {
        PeerCache *c = r->gateway->peers;
        const PeerQuery *q = r->data;
        _cleanup_(freep) char *body = NULL;
        char etag[40], total[24], *link = NULL;
        PeerPage page = {};
        size_t size, own;

        /* a peer's session sees itself only: another list, another tag */
        snprintf(etag, sizeof etag, "\"%016" PRIx64 "%s\"", peer_cache_version(c), r->role == ROLE_PEER ? "-p" : "");
        if (etag_matches(http_header(r, "If-None-Match"), etag)) {
                struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
                if (resp) {
                        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
                        http_reply(r, 304, resp);
                }
                return;
        }
        if (r->role != ROLE_PEER)
                peer_cache_page(c, q->prefix, q->seen_cursor ? q->cursor : NULL, q->limit, &page);
        else if (peer_cache_find(c, r->session_peer, &own) >= 0 && startswith(r->session_peer, q->prefix) &&
                 (!q->seen_cursor || strcmp(r->session_peer, q->cursor) > 0))
                page = (PeerPage) { .first = own, .n = q->limit > 0, .total = 1 };
        if (peer_cache_render(c, &page, &body, &size) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        struct MHD_Response *resp = MHD_create_response_from_buffer(size, TAKE_PTR(body), MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return;
        snprintf(total, sizeof total, "%zu", page.total);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(resp, "X-Total-Count", total);
        /* the next page starts after the last name of this one */
        if (page.more && page.n > 0 &&
            asprintf(&link, "</api/peers?limit=%zu%s%s&cursor=%s>; rel=\"next\"", q->limit,
                     q->prefix[0] ? "&prefix=" : "", q->prefix,
                     peer_cache_name(c, page.first + page.n - 1)) >= 0) {
                MHD_add_response_header(resp, MHD_HTTP_HEADER_LINK, link);
                free(link);
        }
        http_reply(r, 200, resp);
}

void peers_load(Request *r, BusReplyHandler on_loaded) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_loaded, NULL);
}

int peers_loaded(Request *r, sd_bus_message *reply) {
        int k = peer_cache_load(r->gateway->peers, reply);
        if (k < 0)
                http_reply_error(r, 500, "failed", "The cell answered with unexpected objects.", NULL);
        return k;
}

static void on_list_loaded(Request *r, sd_bus_message *reply) {
        if (peers_loaded(r, reply) >= 0)
                answer_list(r);
}

void api_peers_list(Request *r) {
        PeerQuery *q = malloc(sizeof(PeerQuery));
        if (!q) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        peer_query_init(q);
        r->data = q;
        r->free_data = free;
        /* the query is checked whole before anything else */
        MHD_get_connection_values(r->connection, MHD_GET_ARGUMENT_KIND, read_query_item, q);
        if (q->error[0]) {
                http_reply_error(r, 400, "invalid", q->error, q->error_field);
                return;
        }
        if (peer_cache_valid(r->gateway->peers))
                answer_list(r);
        else
                peers_load(r, on_list_loaded);
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
