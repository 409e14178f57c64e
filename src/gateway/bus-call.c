/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdarg.h>
#include <math.h>

#include "bus-call.h"
#include "bus-message.h"
#include "log.h"
#include "metrics.h"
#include "strv.h"
#include "names.h"

/* D-Bus error → HTTP: bus_error_map, made from src/web/bus-fields.json (DESIGN.md "Errors"). */
unsigned bus_error_to_http(const sd_bus_error *error, const char **ret_code) {
        for (const BusErrorMap *e = bus_error_map; error && error->name && e->name; e++)
                if (streq(error->name, e->name)) {
                        *ret_code = e->code;
                        return e->status;
                }
        *ret_code = "failed";
        return 500;
}

int bus_new_call(Request *r, const char *path, const char *iface, const char *member, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(r->gateway->bus, ret, PIC_BUS_NAME, path, iface, member);
}

/* Which JSON fields a request's errors may name. */
static const FieldMap *request_field_map(Request *r) {
        if (strstr(r->url, "/exits"))
                return exit_setting_fields;
        if (streq(r->url, "/api/backup") || streq(r->url, "/api/restore"))
                return backup_fields;
        return strstr(r->url, "/peers") ? peer_fields : cell_fields;
}

static int on_bus_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Request *r = userdata;
        BusReplyHandler on_reply = r->bus_on_reply;
        BusErrorHandler on_error = r->bus_on_error;
        uint64_t now;

        (void) sd_event_now(r->gateway->event, CLOCK_MONOTONIC, &now);
        r->slot = sd_bus_slot_unref(r->slot);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        metrics_bus_call(r->gateway->metrics, now - r->call_started, e != NULL);
        r->bus_on_reply = NULL;
        r->bus_on_error = NULL;

        if (e) {
                if (sd_bus_error_has_name(e, PIC_ERROR_SETUP_REQUIRED))
                        r->gateway->setup = SETUP_NO;
                if (on_error && on_error(r, e))
                        return 0;
                const char *code;
                unsigned status = bus_error_to_http(e, &code);
                const char *field = status == 400 ? bus_error_field(e->message, request_field_map(r)) : NULL;
                log_debug("%s %s: %s: %s", r->method, r->url, e->name, strempty(e->message));
                http_reply_error(r, status, code,
                                 status == 504 ? "The cell did not answer in time." : (e->message ?: e->name), field);
                return 0;
        }
        on_reply(r, reply);
        return 0;
}

int bus_call_full(Request *r, sd_bus_message *m, uint64_t timeout_usec, bool suspend, BusReplyHandler on_reply,
                  BusErrorHandler on_error) {
        Gateway *g = r->gateway;
        int k;

        r->bus_on_reply = on_reply;
        r->bus_on_error = on_error;
        (void) sd_event_now(g->event, CLOCK_MONOTONIC, &r->call_started);
        k = sd_bus_call_async(g->bus, &r->slot, m, on_bus_reply, r, timeout_usec);
        if (k < 0) {
                log_warning_errno(k, "Failed to call the cell: %m");
                metrics_bus_call(g->metrics, 0, true);
                http_reply_error(r, 504, "timeout", "The cell cannot be reached.", NULL);
                return k;
        }
        if (suspend)
                http_suspend(r);
        return 0;
}

int bus_call_background(sd_bus *bus, sd_bus_slot **ret_slot, const char *path, const char *iface, const char *member,
                        sd_bus_message_handler_t callback, void *userdata, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, PIC_BUS_NAME, path, iface, member);
        if (r < 0)
                return r;
        /* following the cell must not start it: a stopped pic-celld stays stopped */
        r = sd_bus_message_set_auto_start(m, false);
        if (r >= 0 && !isempty(types)) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return r;
        return sd_bus_call_async(bus, ret_slot, m, callback, userdata, 0);
}

void bus_call(Request *r, sd_bus_message *m, BusReplyHandler on_reply, BusErrorHandler on_error) {
        (void) bus_call_full(r, m, r->gateway->config.bus_timeout_usec, true, on_reply, on_error);
}

void bus_get_all(Request *r, const char *path, const char *iface, BusReplyHandler on_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (bus_new_call(r, path, "org.freedesktop.DBus.Properties", "GetAll", &m) < 0 ||
            sd_bus_message_append(m, "s", iface) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_reply, NULL);
}

/* ------------------------------------------------------------------ D-Bus → JSON
 * The tables (cell_fields, peer_fields, …) are made from src/web/bus-fields.json. */

void camel_to_snake(const char *in, char *out, size_t size) {
        size_t o = 0;
        for (size_t i = 0; in[i] && o + 2 < size; i++) {
                if (isupper((unsigned char) in[i])) {
                        if (i > 0)
                                out[o++] = '_';
                        out[o++] = (char) tolower((unsigned char) in[i]);
                } else
                        out[o++] = in[i];
        }
        out[o] = 0;
}

/* No reply of the daemon's has lists anywhere near this long; a larger one is refused. */
#define REPLY_LIST_MAX 65536
#define REPLY_STRING_MAX 65536

static int read_variant_json(sd_bus_message *m, cJSON **ret);

static int add_dict_entry_json(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        cJSON *o = userdata, *v = NULL;
        char snake[128];
        int r;

        (void) contents;
        r = read_variant_json(m, &v);
        if (r < 0)
                return r;
        camel_to_snake(key, snake, sizeof snake);
        cJSON_AddItemToObject(o, snake, v ?: cJSON_CreateNull());
        return 1;
}

/* a{sv} → object with snake_case keys */
static int read_dict_json(sd_bus_message *m, cJSON **ret) {
        cJSON *o = cJSON_CreateObject();
        int r;

        if (!o)
                return -ENOMEM;
        r = bus_dict_walk(m, add_dict_entry_json, o);
        if (r < 0) {
                cJSON_Delete(o);
                return r;
        }
        *ret = o;
        return 0;
}

static cJSON *basic_json(const BusBasic *v) {
        switch (v->type) {
        case 's': case 'o': case 'g': return cJSON_CreateString(v->s);
        case 'b': return cJSON_CreateBool(v->b);
        case 'y': return cJSON_CreateNumber(v->y);
        case 'n': return cJSON_CreateNumber(v->n);
        case 'q': return cJSON_CreateNumber(v->q);
        case 'i': return cJSON_CreateNumber(v->i);
        case 'u': return cJSON_CreateNumber(v->u);
        case 'x': return cJSON_CreateNumber((double) v->x);
        case 't': return cJSON_CreateNumber((double) v->t);
        default:  return cJSON_CreateNumber(v->d);
        }
}

/* Reads one variant; types without a JSON form are skipped and give NULL. */
static int read_variant_json(sd_bus_message *m, cJSON **ret) {
        const char *contents;
        BusBasic v;
        char type;
        int r;

        *ret = NULL;
        r = bus_read_basic_variant(m, &v);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = basic_json(&v);
                return *ret ? 0 : -ENOMEM;
        }

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (!streq(contents, "a{sv}") && !streq(contents, "as"))
                return sd_bus_message_skip(m, "v");

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        if (streq(contents, "a{sv}"))
                r = read_dict_json(m, ret);
        else {
                _cleanup_(strv_freep) char **l = NULL;
                r = bus_read_strv_bounded(m, REPLY_LIST_MAX, REPLY_STRING_MAX, NULL, NULL, &l);
                if (r >= 0) {
                        cJSON *a = cJSON_CreateArray();
                        for (char **s = l; a && *s; s++)
                                cJSON_AddItemToArray(a, cJSON_CreateString(*s));
                        *ret = a;
                        r = a ? 0 : -ENOMEM;
                }
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

typedef struct PropertiesRead {
        const FieldMap *map;
        cJSON *obj;
} PropertiesRead;

static int add_property_json(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        const PropertiesRead *p = userdata;
        cJSON *v = NULL;
        int r;

        (void) contents;
        for (const FieldMap *f = p->map; f->json; f++)
                if (streq(f->dbus, key)) {
                        r = read_variant_json(m, &v);
                        if (r < 0)
                                return r;
                        if (v && !cJSON_ReplaceItemInObject(p->obj, f->json, v))
                                cJSON_AddItemToObject(p->obj, f->json, v);
                        return 1;
                }
        return 0;
}

int bus_read_properties(sd_bus_message *m, const FieldMap *map, cJSON *obj) {
        PropertiesRead p = { map, obj };
        return bus_dict_walk(m, add_property_json, &p);
}

static cJSON *properties_json(sd_bus_message *m, const FieldMap *map) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
                return NULL;
        if (bus_read_properties(m, map, o) < 0) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

cJSON *bus_cell_json(sd_bus_message *m) {
        return properties_json(m, cell_fields);
}

cJSON *bus_peer_json(sd_bus_message *m) {
        return properties_json(m, peer_fields);
}

/* ------------------------------------------------------------------ JSON → D-Bus */

static const FieldMap *find_json(const FieldMap *map, const char *json) {
        for (const FieldMap *f = map; f->json; f++)
                if (streq(f->json, json))
                        return f;
        return NULL;
}

static bool name_listed(const char *const *names, const char *name) {
        for (; *names; names++)
                if (streq(*names, name))
                        return true;
        return false;
}

static int append_one(Request *r, sd_bus_message *m, const FieldMap *f, const cJSON *v) {
        char msg[160];
        int k;

        if (streq(f->type, "s") || (streq(f->type, "s|b") && cJSON_IsString(v))) {
                if (!cJSON_IsString(v))
                        goto wrong;
                k = sd_bus_message_append(m, "{sv}", f->dbus, "s", v->valuestring);
        } else if (streq(f->type, "s|b") || streq(f->type, "b")) {
                if (!cJSON_IsBool(v))
                        goto wrong;
                k = sd_bus_message_append(m, "{sv}", f->dbus, "b", (int) cJSON_IsTrue(v));
        } else if (streq(f->type, "q")) {
                if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
                    v->valuedouble != floor(v->valuedouble))
                        goto wrong;
                k = sd_bus_message_append(m, "{sv}", f->dbus, "q", (uint16_t) v->valuedouble);
        } else if (streq(f->type, "as")) {
                const cJSON *e;
                if (!cJSON_IsArray(v))
                        goto wrong;
                cJSON_ArrayForEach(e, v)
                        if (!cJSON_IsString(e))
                                goto wrong;
                k = sd_bus_message_open_container(m, 'e', "sv");
                if (k >= 0)
                        k = sd_bus_message_append(m, "s", f->dbus);
                if (k >= 0)
                        k = sd_bus_message_open_container(m, 'v', "as");
                if (k >= 0)
                        k = sd_bus_message_open_container(m, 'a', "s");
                cJSON_ArrayForEach(e, v)
                        if (k >= 0)
                                k = sd_bus_message_append(m, "s", e->valuestring);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
        } else
                goto wrong;
        if (k < 0) {
                http_reply_error(r, 500, "failed", "Failed to build the bus call.", NULL);
                return k;
        }
        return 0;

wrong:
        snprintf(msg, sizeof msg, "%s must be %s.", f->json,
                 streq(f->type, "s") ? "a string" : streq(f->type, "b") ? "true or false" :
                 streq(f->type, "q") ? "a number from 0 to 65535" : streq(f->type, "as") ? "a list of strings" :
                 "a string or true/false");
        http_reply_error(r, 400, "invalid", msg, f->json);
        return -EINVAL;
}

int bus_append_settings(Request *r, sd_bus_message *m, cJSON *obj, const FieldMap *map,
                        const char *const *allowed) {
        const cJSON *v;
        int k;

        k = sd_bus_message_open_container(m, 'a', "{sv}");
        if (k < 0)
                goto oom;
        cJSON_ArrayForEach(v, obj) {
                const FieldMap *f = find_json(map, v->string);
                if (!f || !name_listed(allowed, v->string)) {
                        char msg[160];
                        snprintf(msg, sizeof msg, "Unknown field '%.*s'.", utf8_prefix_len(v->string, 64), v->string);
                        http_reply_error(r, 400, "invalid", msg, v->string);
                        return -EINVAL;
                }
                k = append_one(r, m, f, v);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(m);
        if (k < 0)
                goto oom;
        return 0;
oom:
        http_reply_error(r, 500, "failed", "Failed to build the bus call.", NULL);
        return k;
}

const char *bus_error_field(const char *message, const FieldMap *map) {
        const char *best = NULL, *best_at = NULL;

        if (!message)
                return NULL;
        for (const FieldMap *f = map; f->json; f++) {
                size_t l = strlen(f->dbus);
                for (const char *p = strstr(message, f->dbus); p; p = strstr(p + 1, f->dbus)) {
                        bool word = (p == message || !isalnum((unsigned char) p[-1])) && !isalnum((unsigned char) p[l]);
                        if (word && (!best_at || p < best_at)) {
                                best = f->json;
                                best_at = p;
                        }
                        if (word)
                                break;
                }
        }
        return best;
}

void bus_get_all_of_returned(Request *r, sd_bus_message *reply, const char *iface, BusReplyHandler on_reply) {
        const char *path;
        if (sd_bus_message_read(reply, "o", &path) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        _cleanup_(freep) char *p = strdup(path); /* the reply goes before the next call is made */
        if (!p) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_get_all(r, p, iface, on_reply);
}
