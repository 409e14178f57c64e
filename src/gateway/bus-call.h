/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cjson/cJSON.h>
#include <systemd/sd-bus.h>

#include "http.h"

/* Called with the reply of a successful call. */
typedef void (*BusReplyHandler)(Request *r, sd_bus_message *reply);
/* Called with a failed call's error first; returns true when it replied itself. */
typedef bool (*BusErrorHandler)(Request *r, const sd_bus_error *error);

/* D-Bus error → HTTP status and short code: src/web/bus-fields.json "errors" (generated table). */
typedef struct BusErrorMap {
        const char *name;
        unsigned status;
        const char *code;
} BusErrorMap;
extern const BusErrorMap bus_error_map[];

/* The HTTP status and short code for a D-Bus error: the one mapping. */
unsigned bus_error_to_http(const sd_bus_error *error, const char **ret_code);

int bus_new_call(Request *r, const char *path, const char *iface, const char *member, sd_bus_message **ret);
/* Sends @m asynchronously with the gateway's timeout and suspends the request;
 * on an error reply, @on_error (may be NULL) or the mapped HTTP error answers. */
void bus_call(Request *r, sd_bus_message *m, BusReplyHandler on_reply, BusErrorHandler on_error);
/* bus_call with its own timeout (UINT64_MAX: none; the caller watches the call); the request is
 * suspended only when @suspend (a streamed body goes on coming meanwhile). Returns < 0 when it replied. */
int bus_call_full(Request *r, sd_bus_message *m, uint64_t timeout_usec, bool suspend, BusReplyHandler on_reply,
                  BusErrorHandler on_error);
/* A call of the gateway's own (not a request's) to the cell that does not start it when it is not
 * running; the arguments as sd_bus_message_append() takes them (@types NULL or "": none). */
int bus_call_background(sd_bus *bus, sd_bus_slot **ret_slot, const char *path, const char *iface, const char *member,
                        sd_bus_message_handler_t callback, void *userdata, const char *types, ...);
/* Shorthand: Properties.GetAll(@iface) on @path. */
void bus_get_all(Request *r, const char *path, const char *iface, BusReplyHandler on_reply);
/* For a call that returned a new object's path ("o"): GetAll(@iface) on it. */
void bus_get_all_of_returned(Request *r, sd_bus_message *reply, const char *iface, BusReplyHandler on_reply);

/* JSON <-> D-Bus. A FieldMap row names one JSON field and its D-Bus key. The tables are generated
 * from src/web/bus-fields.json, which the Cockpit page's transport reads too. */
typedef struct FieldMap {
        const char *json;
        const char *dbus;
        const char *type;       /* "s", "q", "b", "as", or "s|b" */
} FieldMap;

extern const FieldMap cell_fields[];
extern const FieldMap peer_fields[];
extern const FieldMap link_fields[];            /* what GET /api/links shows */
extern const FieldMap exit_fields[];            /* api-exits.c: what GET shows */
extern const FieldMap exit_setting_fields[];    /* api-exits.c: what POST and PATCH take */
extern const FieldMap backup_fields[];          /* api-backup.c: Backup's and Restore's options */

/* Reads a{sv} of properties into @obj, keeping only mapped keys (others by snake_case when @all). */
int bus_read_properties(sd_bus_message *m, const FieldMap *map, cJSON *obj);
cJSON *bus_cell_json(sd_bus_message *m);      /* from GetAll(Manager) */
cJSON *bus_peer_json(sd_bus_message *m);      /* from GetAll(Peer) */
/* Appends a{sv} built from @obj's fields listed in @allowed (a subset of @map's JSON names);
 * on a bad field replies 400 naming it and returns -EINVAL. */
int bus_append_settings(Request *r, sd_bus_message *m, cJSON *obj, const FieldMap *map,
                        const char *const *allowed);
/* The JSON field a daemon error message names (its D-Bus key), or NULL. */
const char *bus_error_field(const char *message, const FieldMap *map);
void camel_to_snake(const char *in, char *out, size_t size);
