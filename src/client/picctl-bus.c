/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>

#include "bus-message.h"
#include "picctl-bus.h"
#include "picctl-format.h"
#include "polkit-agent.h"

int report_error(int r, const char *format, ...) {
        va_list ap;

        fputs("picctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

int report_parse_error(int r) {
        return report_error(r, "unexpected reply from pic-celld: %s", strerror(r < 0 ? -r : r));
}

int usage_error(const char *verb, const char *format, ...) {
        va_list ap;

        fputs("picctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nSee 'picctl %s%s--help'.\n", strempty(verb), isempty(verb) ? "" : " ");
        return EXIT_USAGE;
}

void context_done(Context *c) {
        c->bus = sd_bus_flush_close_unref(c->bus);
        polkit_agent_close(c->agent);
        c->agent = 0;
}

int context_get_bus(Context *c, sd_bus **ret) {
        int r;

        if (!c->bus) {
                r = sd_bus_open_system(&c->bus);
                if (r < 0)
                        return report_error(r, "cannot reach pic-celld on the system bus: %s", strerror(-r));

                r = sd_bus_set_allow_interactive_authorization(c->bus, c->ask_password);
                if (r < 0)
                        return report_error(r, "cannot set up the bus connection: %s", strerror(-r));
        }

        *ret = c->bus;
        return 0;
}

int bus_new_call(Context *c, const char *path, const char *interface, const char *member, sd_bus_message **ret) {
        sd_bus *bus;
        int r;

        r = context_get_bus(c, &bus);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, ret, PIC_BUS_NAME, path, interface, member);
        if (r < 0)
                return report_error(r, "cannot build the %s call: %s", member, strerror(-r));
        return 0;
}

static bool error_means_unreachable(const sd_bus_error *e) {
        return sd_bus_error_has_names(e,
                                      SD_BUS_ERROR_SERVICE_UNKNOWN,
                                      SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_DISCONNECTED);
}

/* One line per failure, with what to do next where we know it. */
static int report_call_error(sd_bus *bus, const sd_bus_error *e, int r) {
        const char *msg;

        if (e && !isempty(e->message))
                msg = e->message;
        else if (e && !isempty(e->name))
                msg = e->name;
        else
                msg = strerror(-r);

        if (error_means_unreachable(e) || sd_bus_is_open(bus) <= 0)
                return report_error(r, "cannot reach pic-celld on the system bus: %s", msg);
        if (sd_bus_error_has_name(e, PIC_ERROR_SETUP_REQUIRED))
                return report_error(r, "the cell is not set up yet; run 'picctl setup --name NAME --domain DOMAIN --address CIDR' first");
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                return report_error(r, "%s (this needs administrator privileges: run picctl as root, "
                                    "or authenticate when polkit asks)", msg);
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY))
                return report_error(r, "pic-celld did not answer: %s", msg);
        return report_error(r, "%s", msg);
}

/* Exits and links are objects without a lookup method: name the one whose path is unknown. */
static int report_unknown_object(const sd_bus_message *m, const sd_bus_error *e, int r) {
        _cleanup_(freep) char *name = NULL;
        const char *path = sd_bus_message_get_path((sd_bus_message *) m);

        if (!sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_OBJECT) || !path)
                return 0;
        if (sd_bus_path_decode(path, PIC_EXIT_PATH_PREFIX, &name) > 0)
                report_error(r, "there is no exit '%s' (see 'picctl exit list')", name);
        else if (sd_bus_path_decode(path, PIC_LINK_PATH_PREFIX, &name) > 0)
                report_error(r, "there is no linked cell '%s' (see 'picctl link list')", name);
        else
                return 0;
        return 1;
}

int bus_call(Context *c, sd_bus_message *m, bool needs_auth, sd_bus_message **ret_reply) {
        return bus_call_timeout(c, m, needs_auth, 0, ret_reply);
}

int bus_call_unreported(Context *c, sd_bus_message *m, bool needs_auth, uint64_t timeout_usec,
                        sd_bus_error *ret_error, sd_bus_message **ret_reply) {
        int r;

        if (needs_auth && c->ask_password && c->agent == 0)
                c->agent = polkit_agent_open();

        r = sd_bus_call(sd_bus_message_get_bus(m), m, timeout_usec, ret_error, ret_reply);
        return r < 0 ? r : 0;
}

int bus_report_call_error(sd_bus_message *m, const sd_bus_error *e, int r) {
        if (report_unknown_object(m, e, r))
                return r;
        return report_call_error(sd_bus_message_get_bus(m), e, r);
}

int bus_call_timeout(Context *c, sd_bus_message *m, bool needs_auth, uint64_t timeout_usec,
                     sd_bus_message **ret_reply) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        int r;

        r = context_get_bus(c, &bus);
        if (r < 0)
                return r;

        r = bus_call_unreported(c, m, needs_auth, timeout_usec, &error, ret_reply);
        if (r < 0)
                r = bus_report_call_error(m, &error, r);
        sd_bus_error_free(&error);
        return r;
}

int bus_call_noargs(Context *c, const char *path, const char *interface, const char *member,
                    bool needs_auth, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(c, path, interface, member, &m);
        if (r < 0)
                return r;
        return bus_call(c, m, needs_auth, ret_reply);
}

int bus_get_all(Context *c, const char *path, const char *interface, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(c, path, "org.freedesktop.DBus.Properties", "GetAll", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", interface);
        if (r < 0)
                return report_error(r, "cannot build the GetAll call: %s", strerror(-r));
        return bus_call(c, m, false, ret_reply);
}

int bus_find_peer(Context *c, const char *name, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "GetPeerByName", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return report_error(r, "cannot build the GetPeerByName call: %s", strerror(-r));
        r = bus_call(c, m, false, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return report_parse_error(r);

        *ret_path = strdup(path);
        if (!*ret_path)
                return report_error(-ENOMEM, "out of memory");
        return 0;
}

/* Replies carry lists of peers' grants and pending settings: far below these. */
#define REPLY_LIST_MAX 65536
#define REPLY_STRING_MAX 65536

static int read_strv(sd_bus_message *m, char ***ret) {
        return bus_read_strv_bounded(m, REPLY_LIST_MAX, REPLY_STRING_MAX, NULL, NULL, ret);
}

static char *basic_text(const BusBasic *v) {
        char *text = NULL;
        int r;

        switch (v->type) {
        case 's': case 'o': case 'g': r = asprintf(&text, "%s", v->s); break;
        case 'b': r = asprintf(&text, "%s", v->b ? "yes" : "no"); break;
        case 'y': r = asprintf(&text, "%" PRIu8, v->y); break;
        case 'n': r = asprintf(&text, "%" PRIi16, v->n); break;
        case 'q': r = asprintf(&text, "%" PRIu16, v->q); break;
        case 'i': r = asprintf(&text, "%" PRIi32, v->i); break;
        case 'u': r = asprintf(&text, "%" PRIu32, v->u); break;
        case 'x': r = asprintf(&text, "%" PRIi64, v->x); break;
        case 't': r = asprintf(&text, "%" PRIu64, v->t); break;
        default:  r = asprintf(&text, "%g", v->d); break;
        }
        return r < 0 ? NULL : text;
}

int bus_read_variant_text(sd_bus_message *m, char **ret) {
        const char *contents;
        BusBasic v;
        char type, *text;
        int r;

        r = bus_read_basic_variant(m, &v);
        if (r < 0)
                return r;
        if (r > 0)
                text = basic_text(&v);
        else {
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (streq(contents, "as")) {
                        _cleanup_(strv_freep) char **l = NULL;
                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
                        if (r >= 0)
                                r = read_strv(m, &l);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        text = strv_join(l, ", ");
                } else {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                        text = strdup("(…)");
                }
        }
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

typedef struct TextList {
        char **l;
        size_t n, allocated;
} TextList;

static int add_entry_text(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        TextList *t = userdata;
        int r;

        (void) contents;
        if (greedy_realloc((void **) &t->l, &t->allocated, t->n + 3, sizeof *t->l) < 0)
                return -ENOMEM;
        t->l[t->n] = strdup(key);
        t->l[t->n + 1] = NULL;
        if (!t->l[t->n])
                return -ENOMEM;
        r = bus_read_variant_text(m, &t->l[t->n + 1]);
        if (r < 0)
                return r;
        t->n += 2;
        t->l[t->n] = NULL;
        return 1;
}

/* a{sv} as a flat list: key, value, key, value, … */
static int read_dict_text(sd_bus_message *m, char ***ret) {
        TextList t = {};
        int r;

        r = bus_dict_walk(m, add_entry_text, &t);
        if (r >= 0 && !t.l && !(t.l = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r < 0) {
                strv_free(t.l);
                return r;
        }
        *ret = t.l;
        return 0;
}

static int read_property(sd_bus_message *m, const BusProperty *p, void *userdata) {
        void *field = (uint8_t *) userdata + p->offset;
        const char *s;
        int b, r;

        switch (p->signature[0]) {
        case 's':
        case 'o':
                r = sd_bus_message_read_basic(m, p->signature[0], &s);
                if (r < 0)
                        return r;
                free(*(char **) field);
                *(char **) field = strdup(s);
                return *(char **) field ? 0 : -ENOMEM;
        case 'b':
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *) field = b;
                return 0;
        case 'q':
        case 'u':
        case 't':
                return sd_bus_message_read_basic(m, p->signature[0], field);
        case 'a':
                *(char ***) field = strv_free(*(char ***) field);
                if (streq(p->signature, "as"))
                        return read_strv(m, (char ***) field);
                return read_dict_text(m, (char ***) field);
        default:
                return -EINVAL;
        }
}

typedef struct PropertiesRead {
        const BusProperty *table;
        void *userdata;
} PropertiesRead;

static int read_table_entry(sd_bus_message *m, const char *name, const char *contents, void *userdata) {
        const PropertiesRead *pr = userdata;
        const BusProperty *p;
        int r;

        for (p = pr->table; p->name; p++)
                if (streq(p->name, name))
                        break;
        if (!p->name || !streq(p->signature, contents))
                return 0;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        r = read_property(m, p, pr->userdata);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

typedef struct ObjectsRead {
        const BusProperty *table;
        uint8_t *items;
        size_t size, n, allocated;
} ObjectsRead;

static int read_object(sd_bus_message *props, const char *path, void *userdata) {
        ObjectsRead *o = userdata;
        if (greedy_realloc((void **) &o->items, &o->allocated, o->n + 1, o->size) < 0)
                return -ENOMEM;
        memset(o->items + o->n * o->size, 0, o->size);
        o->n++;
        return bus_read_properties(props, o->table, o->items + (o->n - 1) * o->size);
}

static int compare_names_at(const void *a, const void *b, void *offset) {
        const char *x = *(char *const *) ((const uint8_t *) a + *(size_t *) offset);
        const char *y = *(char *const *) ((const uint8_t *) b + *(size_t *) offset);
        return strcmp(strempty(x), strempty(y));
}

int bus_read_objects(sd_bus_message *reply, const char *interface, const BusProperty *table, size_t size,
                     size_t name_offset, void (*done)(void *item), void **ret, size_t *ret_n) {
        ObjectsRead o = { .table = table, .size = size };
        int r = bus_managed_objects_walk(reply, interface, read_object, &o);

        if (r < 0) {
                for (size_t i = 0; i < o.n; i++)
                        done(o.items + i * size);
                free(o.items);
                return r;
        }
        if (o.n > 1)
                qsort_r(o.items, o.n, size, compare_names_at, &name_offset);
        *ret = o.items;
        *ret_n = o.n;
        return 0;
}

void bus_objects_free(void *items, size_t n, size_t size, void (*done)(void *item)) {
        for (size_t i = 0; i < n; i++)
                done((uint8_t *) items + i * size);
        free(items);
}

static cJSON *property_json(const BusProperty *p, const void *field) {
        char buf[24];

        switch (p->signature[0]) {
        case 's':
        case 'o':
                return cJSON_CreateString(strempty(*(char *const *) field));
        case 'b':
                return cJSON_CreateBool(*(const bool *) field);
        case 'q':
                return cJSON_CreateNumber(*(const uint16_t *) field);
        case 'u':
                return cJSON_CreateNumber(*(const uint32_t *) field);
        case 't':
                /* cJSON numbers are doubles: print 64-bit counters exactly instead */
                snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *) field);
                return cJSON_CreateRaw(buf);
        default: {
                cJSON *a = cJSON_CreateArray();
                for (char *const *s = *(char **const *) field; a && s && *s; s++)
                        if (!cJSON_AddItemToArray(a, cJSON_CreateString(*s))) {
                                cJSON_Delete(a);
                                return NULL;
                        }
                return a;
        }
        }
}

cJSON *bus_properties_json(const BusProperty *table, const void *userdata) {
        cJSON *o = cJSON_CreateObject();

        for (const BusProperty *p = table; o && p->name; p++)
                if (!cJSON_AddItemToObject(o, p->name, property_json(p, (const uint8_t *) userdata + p->offset))) {
                        cJSON_Delete(o);
                        return NULL;
                }
        return o;
}

cJSON *bus_objects_json(const BusProperty *table, const void *items, size_t n, size_t size) {
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && i < n; i++)
                if (!cJSON_AddItemToArray(a, bus_properties_json(table, (const uint8_t *) items + i * size))) {
                        cJSON_Delete(a);
                        return NULL;
                }
        return a;
}

int bus_read_properties(sd_bus_message *m, const BusProperty *table, void *userdata) {
        PropertiesRead pr = { table, userdata };
        return bus_dict_walk(m, read_table_entry, &pr);
}
