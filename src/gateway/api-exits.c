/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /api/exits: other ways out to the internet for chosen peers (admin only). An exit's
 * wg-quick file holds a private key, a proxy's URL maybe a password, an sshuttle exit's
 * SSH key is one: they go in, never come out. */
#include <sodium.h>

#include "api.h"
#include "bus-call.h"
#include "bus-message.h"
#include "exit/ssh-settings.h"
#include "names.h"
#include "proxy-url.h"

#define EXIT_CONFIG_MAX (64U * 1024U)   /* an .ovpn with certificates inline (OVPN_TEXT_MAX) */
#define EXIT_TYPE_MAX 32
#define EXIT_DNS_MAX 4                  /* a proxy exit's resolvers (EXIT_RESOLVERS_MAX) */
#define IPV4_TEXT_MAX 15                /* "255.255.255.255" */
#define SSH_TARGET_TEXT_MAX 300         /* user@a.b.c.d:port is far shorter; the cell reads it strictly */

static const char *const exit_settings[] = { "config", "proxy", "dns_servers", "target", "ssh_key", "host_key",
                                             "test_target", NULL };

static int exit_path(Request *r, const char *name, char **ret) {
        if (!name || !peer_name_is_valid(name)) {
                http_reply_error(r, 404, "not_found", "No such exit.", NULL);
                return -EINVAL;
        }
        if (sd_bus_path_encode(PIC_EXIT_PATH_PREFIX, name, ret) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return -ENOMEM;
        }
        return 0;
}

/* The wiped-after-use copy of a private key in the parsed body. */
static void wipe_string(cJSON *v) {
        if (cJSON_IsString(v) && v->valuestring)
                sodium_memzero(v->valuestring, strlen(v->valuestring));
}

/* The parsed body's secrets: an exit's file, a proxy's URL, an SSH key. */
static void wipe_secrets(cJSON *body) {
        wipe_string(cJSON_GetObjectItemCaseSensitive(body, "config"));
        wipe_string(cJSON_GetObjectItemCaseSensitive(body, "proxy"));
        wipe_string(cJSON_GetObjectItemCaseSensitive(body, "ssh_key"));
}

/* ------------------------------------------------------------------ read */

static int compare_names(const void *a, const void *b) {
        const char *x = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(*(cJSON *const *) a, "name"));
        const char *y = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(*(cJSON *const *) b, "name"));
        return strcmp(strempty(x), strempty(y));
}

static int collect_exit(sd_bus_message *m, const char *path, void *userdata) {
        cJSON *a = userdata, *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        return bus_read_properties(m, exit_fields, o);
}

/* The exits of a GetManagedObjects reply, sorted by name. */
static cJSON *managed_exits(sd_bus_message *reply) {
        _cleanup_(freep) cJSON **items = NULL;
        cJSON *a = cJSON_CreateArray(), *sorted = NULL;
        size_t n = 0;

        if (!a || bus_managed_objects_walk(reply, PIC_EXIT_INTERFACE, collect_exit, a) < 0)
                goto fail;
        n = (size_t) cJSON_GetArraySize(a);
        if (n == 0)
                return a;
        items = calloc(n, sizeof *items);
        sorted = cJSON_CreateArray();
        if (!items || !sorted)
                goto fail;
        for (size_t i = 0; i < n; i++)
                items[i] = cJSON_DetachItemFromArray(a, 0);
        qsort(items, n, sizeof *items, compare_names);
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(sorted, items[i]);
        cJSON_Delete(a);
        return sorted;

fail:
        cJSON_Delete(a);
        cJSON_Delete(sorted);
        return NULL;
}

static void on_exits(Request *r, sd_bus_message *reply) {
        cJSON *a = managed_exits(reply);
        if (!a) {
                http_reply_error(r, 500, "failed", "The cell answered with unexpected objects.", NULL);
                return;
        }
        http_reply_json(r, 200, a);
}

void api_exits_list(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_exits, NULL);
}

static void reply_exit(Request *r, sd_bus_message *reply, unsigned status) {
        cJSON *o = cJSON_CreateObject();
        if (!o || bus_read_properties(reply, exit_fields, o) < 0) {
                cJSON_Delete(o);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected properties.", NULL);
                return;
        }
        http_reply_json(r, status, o);
}

static void on_exit_read(Request *r, sd_bus_message *reply) {
        reply_exit(r, reply, 200);
}

static void on_exit_created(Request *r, sd_bus_message *reply) {
        reply_exit(r, reply, 201);
}

void api_exit_get(Request *r) {
        _cleanup_(freep) char *path = NULL;
        if (exit_path(r, r->name, &path) < 0)
                return;
        bus_get_all(r, path, PIC_EXIT_INTERFACE, on_exit_read);
}

/* Reads the exit named by the request (after a change to it). */
static void then_exit(Request *r, sd_bus_message *reply) {
        api_exit_get(r);
}

/* ------------------------------------------------------------------ change */

static bool dns_servers_bounded(const cJSON *list) {
        const cJSON *e;
        int n = cJSON_GetArraySize(list);

        if (!cJSON_IsArray(list) || n < 1 || n > (int) EXIT_DNS_MAX)
                return false;
        cJSON_ArrayForEach(e, list)
                if (!cJSON_IsString(e) || isempty(e->valuestring) || strlen(e->valuestring) > IPV4_TEXT_MAX)
                        return false;
        return true;
}

/* The string settings: at most max bytes, empty only where empty_ok; the message never quotes them. */
static const struct {
        const char *json;
        size_t max;
        bool empty_ok;
        const char *message;
} string_settings[] = {
        { "config", EXIT_CONFIG_MAX, false, "config must be the exit's wg-quick or .ovpn file, at most 64 KiB." },
        { "proxy", PROXY_URL_MAX, false, "proxy must be the proxy's URL, socks5://[user:password@]address:port "
          "or http://[user:password@]address:port, at most 1024 characters." },
        { "target", SSH_TARGET_TEXT_MAX, false, "target must be the SSH server as user@address or "
          "user@address:port." },
        { "ssh_key", SSH_KEY_TEXT_MAX, false, "ssh_key must be an OpenSSH private key without a passphrase, "
          "at most 16 KiB." },
        { "host_key", SSH_HOST_KEY_MAX, false, "host_key must be the SSH server's public key as ssh-keyscan prints "
          "it, at most 2048 characters." },
        { "test_target", ENDPOINT_MAX, true, "test_target must be address:port." },
};

/* The settings, when given, bounded before they reach the bus; which of them a type takes (config:
 * wireguard and openvpn; proxy: proxy; target, ssh_key and host_key: sshuttle; dns_servers: proxy and
 * sshuttle) is the cell's to say. Never quotes them. */
static bool settings_bounded(Request *r, cJSON *body) {
        const cJSON *dns = cJSON_GetObjectItemCaseSensitive(body, "dns_servers");

        for (size_t i = 0; i < ELEMENTSOF(string_settings); i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, string_settings[i].json);
                if (v && (!cJSON_IsString(v) || (!string_settings[i].empty_ok && isempty(v->valuestring)) ||
                          strnlen(v->valuestring, string_settings[i].max + 1) > string_settings[i].max)) {
                        http_reply_error(r, 400, "invalid", string_settings[i].message, string_settings[i].json);
                        return false;
                }
        }
        if (dns && !dns_servers_bounded(dns)) {
                http_reply_error(r, 400, "invalid", "dns_servers must be a list of 1-4 IPv4 addresses.", "dns_servers");
                return false;
        }
        return true;
}

static void on_added(Request *r, sd_bus_message *reply) {
        bus_get_all_of_returned(r, reply, PIC_EXIT_INTERFACE, on_exit_created);
}

/* {name, type, config?, proxy?, dns_servers?, target?, ssh_key?, host_key?, test_target?} → Manager.AddExit */
void api_exits_create(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        _cleanup_(cJSON_Deletep) cJSON *name = cJSON_DetachItemFromObjectCaseSensitive(body, "name");
        _cleanup_(cJSON_Deletep) cJSON *type = cJSON_DetachItemFromObjectCaseSensitive(body, "type");
        if (!cJSON_IsString(name) || !peer_name_is_valid(name->valuestring)) {
                http_reply_error(r, 400, "invalid", "name must be " PEER_NAME_CHARSET_DOC ".", "name");
                goto finish;
        }
        if (!cJSON_IsString(type) || isempty(type->valuestring) ||
            !string_is_printable_ascii(type->valuestring, EXIT_TYPE_MAX)) {
                http_reply_error(r, 400, "invalid", "type must be the kind of exit: wireguard, openvpn, tor, proxy or "
                                 "sshuttle.", "type");
                goto finish;
        }
        if (!settings_bounded(r, body))
                goto finish;
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "AddExit", &m) < 0 ||
            sd_bus_message_sensitive(m) < 0 ||
            sd_bus_message_append(m, "ss", name->valuestring, type->valuestring) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                goto finish;
        }
        if (bus_append_settings(r, m, body, exit_setting_fields, exit_settings) < 0)
                goto finish;
        bus_call(r, m, on_added, NULL);
finish:
        wipe_secrets(body);
}

/* {config?, proxy?, dns_servers?, target?, ssh_key?, host_key?, test_target?} → Exit.Update: the tunnel is
 * reconfigured in place. */
void api_exit_patch(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        if (!body->child)
                http_reply_error(r, 400, "invalid", "Give config, proxy, dns_servers, target, ssh_key, host_key or "
                                 "test_target.", NULL);
        else if (settings_bounded(r, body) && exit_path(r, r->name, &path) >= 0) {
                if (bus_new_call(r, path, PIC_EXIT_INTERFACE, "Update", &m) < 0 || sd_bus_message_sensitive(m) < 0)
                        http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                else if (bus_append_settings(r, m, body, exit_setting_fields, exit_settings) >= 0)
                        bus_call(r, m, then_exit, NULL);
        }
        wipe_secrets(body);
}

/* One argument-less method on the exit named in the path. */
static void call_exit(Request *r, const char *method, BusReplyHandler then) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        if (exit_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_EXIT_INTERFACE, method, &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, then, NULL);
}

static void on_removed(Request *r, sd_bus_message *reply) {
        http_reply_empty(r, 204);
}

void api_exit_delete(Request *r) {
        call_exit(r, "Remove", on_removed);
}

static void on_tested(Request *r, sd_bus_message *reply) {
        uint64_t usec;
        if (sd_bus_message_read(reply, "t", &usec) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddNumberToObject(o, "connect_usec", (double) usec)) {
                cJSON_Delete(o);
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        http_reply_json(r, 200, o);
}

/* Exit.Test: a connection to its test target through the exit only. */
void api_exit_test(Request *r) {
        call_exit(r, "Test", on_tested);
}
