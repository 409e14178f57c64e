/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /api/events: server-sent events fed by the cell's bus signals. */
#include <microhttpd.h>

#include "api.h"
#include "bus-call.h"
#include "bus-message.h"
#include "cell-hosts.h"
#include "events.h"
#include "log.h"
#include "peer-cache.h"
#include "strv.h"

#define SSE_BUFFER_MAX (1024U * 1024U)   /* a client this far behind is dropped */

typedef struct SseClient SseClient;
struct SseClient {
        Events *events;
        struct MHD_Connection *connection;
        char *buf;
        size_t len, off;
        bool suspended, closed;
        SseClient *next, *prev;
};

struct Events {
        Gateway *gateway;
        sd_bus_slot *slots[4];
        sd_bus_slot *load_slot;         /* GetManagedObjects in flight */
        sd_event_source *keepalive;
        SseClient *clients;
        size_t n_clients;
};

static void client_resume(SseClient *c) {
        if (!c->suspended)
                return;
        c->suspended = false;
        MHD_resume_connection(c->connection);
        gateway_kick(c->events->gateway);
}

static void client_push(SseClient *c, const char *text, size_t size) {
        if (c->closed)
                return;
        if (c->len - c->off + size > SSE_BUFFER_MAX) {
                c->closed = true;
                client_resume(c);
                return;
        }
        if (c->off > 0) {
                memmove(c->buf, c->buf + c->off, c->len - c->off);
                c->len -= c->off;
                c->off = 0;
        }
        char *b = realloc(c->buf, c->len + size);
        if (!b) {
                c->closed = true;
                client_resume(c);
                return;
        }
        memcpy(b + c->len, text, size);
        c->buf = b;
        c->len += size;
        client_resume(c);
}

static void broadcast_text(Events *e, const char *text) {
        size_t size = strlen(text);
        for (SseClient *c = e->clients; c; c = c->next)
                client_push(c, text, size);
}

static void broadcast(Events *e, const char *event, cJSON *data) {
        _cleanup_(freep) char *json = data ? cJSON_PrintUnformatted(data) : NULL;
        _cleanup_(freep) char *text = NULL;
        cJSON_Delete(data);
        if (!json || asprintf(&text, "event: %s\ndata: %s\n\n", event, json) < 0)
                return;
        broadcast_text(e, text);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
        SseClient *c = cls;
        if (c->closed && c->off == c->len)
                return MHD_CONTENT_READER_END_OF_STREAM;
        if (c->off == c->len) {
                /* nothing to send: sleep until an event or the keepalive wakes us */
                c->suspended = true;
                MHD_suspend_connection(c->connection);
                return 0;
        }
        size_t n = MIN(max, c->len - c->off);
        memcpy(buf, c->buf + c->off, n);
        c->off += n;
        return (ssize_t) n;
}

static void sse_free(void *cls) {
        SseClient *c = cls;
        Events *e = c->events;
        if (c->prev)
                c->prev->next = c->next;
        else if (e->clients == c)
                e->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        e->n_clients--;
        free(c->buf);
        free(c);
}

void api_events(Request *r) {
        Events *e = r->gateway->events;
        SseClient *c = calloc(1, sizeof(SseClient));
        if (!c) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        c->events = e;
        c->connection = r->connection;
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, c, sse_free);
        if (!resp) {
                free(c);
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        c->next = e->clients;
        if (c->next)
                c->next->prev = c;
        e->clients = c;
        e->n_clients++;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        client_push(c, ": connected\nretry: 3000\n\n", strlen(": connected\nretry: 3000\n\n"));
        http_reply(r, 200, resp);
}

size_t events_clients(Events *e) {
        return e->n_clients;
}

void events_close_all(Events *e) {
        for (SseClient *c = e->clients; c; c = c->next) {
                c->closed = true;
                client_resume(c);
        }
}

/* ------------------------------------------------------------------ bus signals */

static int on_cell_properties(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Events *e = userdata;
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        cJSON *o = bus_cell_json(reply);
        if (o && !cJSON_HasObjectItem(o, "pending_changes"))
                cJSON_AddItemToObject(o, "pending_changes", cJSON_CreateObject());
        if (o)
                broadcast(e, "cell", o);
        return 0;
}

static void fetch_cell(Events *e) {
        int r = bus_call_background(e->gateway->bus, NULL, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                    "GetAll", on_cell_properties, e, "s", PIC_MANAGER_INTERFACE);
        if (r < 0)
                log_debug_errno(r, "Failed to read the cell for an event: %m");
}

/* ------------------------------------------------------------------ the peer list (peer-cache.h) */

static void broadcast_peer(Events *e, size_t index) {
        _cleanup_(freep) char *text = NULL;
        size_t size;
        const char *json = peer_cache_text(e->gateway->peers, index, &size);

        if (!e->clients || !json || asprintf(&text, "event: peer\ndata: %.*s\n\n", (int) size, json) < 0)
                return;
        broadcast_text(e, text);
}

static int on_peers_loaded(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Events *e = userdata;
        int r;

        e->load_slot = sd_bus_slot_unref(e->load_slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_debug("Failed to read the cell's peers: %s", sd_bus_message_get_error(reply)->message);
                return 0;
        }
        r = peer_cache_load(e->gateway->peers, reply);
        if (r < 0)
                log_warning_errno(r, "Failed to read the cell's peers: %m");
        return 0;
}

/* Reads every peer again, once at a time (a reply replaces the whole copy). */
static void load_peers(Events *e) {
        int r;
        if (e->load_slot)
                return;
        r = bus_call_background(e->gateway->bus, &e->load_slot, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                "GetManagedObjects", on_peers_loaded, e, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to ask for the cell's peers: %m");
}

typedef struct PeerRead {
        Events *events;
        char name[];
} PeerRead;

static int on_peer_read(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PeerRead *p = userdata;
        size_t i;

        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;   /* gone meanwhile: InterfacesRemoved says so */
        if (peer_cache_put(p->events->gateway->peers, p->name, reply, &i) >= 0)
                broadcast_peer(p->events, i);
        return 0;
}

/* A peer whose change the copy could not follow from the signal alone. */
static void read_peer(Events *e, const char *path, const char *name) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        size_t len = strlen(name) + 1;
        PeerRead *p = malloc(sizeof(PeerRead) + len);
        int r;

        if (!p)
                return;
        p->events = e;
        memcpy(p->name, name, len);
        r = bus_call_background(e->gateway->bus, &slot, path, "org.freedesktop.DBus.Properties", "GetAll",
                                on_peer_read, p, "s", PIC_PEER_INTERFACE);
        if (r < 0) {
                free(p);
                peer_cache_invalidate(e->gateway->peers);
                return;
        }
        /* the slot owns p from here: freed when the call ends, however it ends */
        (void) sd_bus_slot_set_destroy_callback(slot, free);
        (void) sd_bus_slot_set_floating(slot, 1);
}

static void peer_changed(Events *e, sd_bus_message *m, const char *path) {
        _cleanup_(freep) char *name = NULL;
        size_t i;
        int r;

        if (sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) <= 0)
                return;
        r = peer_cache_changed(e->gateway->peers, name, m, &i);
        if (r >= 0)
                broadcast_peer(e, i);
        else if (peer_cache_valid(e->gateway->peers) || e->clients)
                read_peer(e, path, name);
}

/* What a Manager PropertiesChanged tells the gateway itself: SetupComplete (its cached setup
 * state) and whether the cell's names changed (cell-hosts.h). */
typedef struct ManagerChange {
        Gateway *gateway;
        bool names;
} ManagerChange;

static int follow_manager(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        ManagerChange *c = userdata;
        int b, r;

        c->names = c->names || cell_hosts_follow(key);
        if (!streq(key, "SetupComplete") || !streq(contents, "b"))
                return 0;
        r = sd_bus_message_read(m, "v", "b", &b);
        if (r < 0)
                return r;
        c->gateway->setup = b ? SETUP_YES : SETUP_NO;
        return 1;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Events *e = userdata;
        const char *iface, *path = sd_bus_message_get_path(m);
        int r;

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || !path)
                return 0;
        if (streq(iface, PIC_MANAGER_INTERFACE)) {
                ManagerChange c = { .gateway = e->gateway };
                if (bus_dict_walk(m, follow_manager, &c) >= 0 && c.names)
                        cell_hosts_refresh(e->gateway);
                if (e->clients)
                        fetch_cell(e);
        } else if (streq(iface, PIC_PEER_INTERFACE))
                peer_changed(e, m, path);
        return 0;
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Events *e = userdata;
        _cleanup_(freep) char *name = NULL;
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0 || sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) <= 0)
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                const char *iface;
                size_t i;
                if (sd_bus_message_read(m, "s", &iface) < 0)
                        break;
                if (streq(iface, PIC_PEER_INTERFACE)) {
                        if (peer_cache_put(e->gateway->peers, name, m, &i) >= 0)
                                broadcast_peer(e, i);
                        else
                                peer_cache_invalidate(e->gateway->peers);
                        break;
                }
                if (sd_bus_message_skip(m, "a{sv}") < 0 || sd_bus_message_exit_container(m) < 0)
                        break;
        }
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Events *e = userdata;
        _cleanup_(freep) char *name = NULL;
        const char *path;
        _cleanup_(strv_freep) char **ifaces = NULL;
        bool peer = false;

        /* an object has a handful of interfaces; more is not the daemon talking */
        if (sd_bus_message_read(m, "o", &path) < 0 ||
            bus_read_strv_bounded(m, 64, 256, NULL, NULL, &ifaces) < 0)
                return 0;
        for (char **i = ifaces; *i; i++)
                peer = peer || streq(*i, PIC_PEER_INTERFACE);
        if (!peer || sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, &name) <= 0)
                return 0;
        peer_cache_remove(e->gateway->peers, name);
        if (!e->clients)
                return 0;
        cJSON *o = cJSON_CreateObject();
        if (o)
                cJSON_AddStringToObject(o, "name", name);
        broadcast(e, "peer-removed", o);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Events *e = userdata;
        const char *name, *old_owner, *new_owner;

        /* a new pic-celld may have other state: ask again */
        e->gateway->setup = SETUP_UNKNOWN;
        peer_cache_invalidate(e->gateway->peers);
        /* a load still on its way to the old owner would only fail: ask the new one */
        e->load_slot = sd_bus_slot_unref(e->load_slot);
        /* only a new owner is asked: asking a gone one would start it again (a stopped cell stays stopped) */
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || isempty(new_owner))
                return 0;
        cell_hosts_refresh(e->gateway);
        load_peers(e);
        return 0;
}

static int on_keepalive(sd_event_source *s, uint64_t usec, void *userdata) {
        Events *e = userdata;
        broadcast_text(e, ": keepalive\n\n");
        return sd_event_source_set_time_relative(s, e->gateway->config.sse_keepalive_usec);
}

int events_new(Events **ret, Gateway *g) {
        Events *e = calloc(1, sizeof(Events));
        if (!e)
                return -ENOMEM;
        e->gateway = g;
        *ret = e;
        return 0;
}

Events *events_free(Events *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(e->slots); i++)
                sd_bus_slot_unref(e->slots[i]);
        sd_bus_slot_unref(e->load_slot);
        sd_event_source_disable_unref(e->keepalive);
        free(e);
        return NULL;
}

int events_start(Events *e) {
        sd_bus *bus = e->gateway->bus;
        int r;

        r = sd_bus_match_signal_async(bus, &e->slots[0], PIC_BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged", on_properties_changed, NULL, e);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &e->slots[1], PIC_BUS_NAME, PIC_MANAGER_PATH,
                                              "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                              on_interfaces_added, NULL, e);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &e->slots[2], PIC_BUS_NAME, PIC_MANAGER_PATH,
                                              "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                              on_interfaces_removed, NULL, e);
        if (r >= 0)
                r = sd_bus_add_match_async(bus, &e->slots[3],
                                           "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                           "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                           "arg0='" PIC_BUS_NAME "'",
                                           on_owner_changed, NULL, e);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to the cell's signals: %m");
        cell_hosts_refresh(e->gateway);
        load_peers(e);
        r = sd_event_add_time_relative(e->gateway->event, &e->keepalive, CLOCK_MONOTONIC,
                                       e->gateway->config.sse_keepalive_usec, 0, on_keepalive, e);
        if (r < 0)
                return log_error_errno(r, "Failed to add the event keepalive timer: %m");
        return sd_event_source_set_enabled(e->keepalive, SD_EVENT_ON);
}
