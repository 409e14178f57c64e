/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "bus-dict.h"
#include "dnsmasq.h"
#include "fileio.h"
#include "json-util.h"
#include "keys.h"
#include "log.h"
#include "state.h"

static int add_key(cJSON *o, const char *name, const WgKey k) {
        char b64[WG_KEY_B64_LEN];
        key_to_base64(k, b64);
        cJSON *s = cJSON_AddStringToObject(o, name, b64);
        sodium_memzero(b64, sizeof b64);
        return s ? 0 : -ENOMEM;
}

static int print_json(cJSON *o, char **ret) {
        char *s = cJSON_Print(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int cell_to_json(const Cell *c, char **ret) {
        char cidr[CIDR4_STRLEN];
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        if (!o)
                return -ENOMEM;

        bool ok = cJSON_AddNumberToObject(o, "schema", STATE_SCHEMA_VERSION) &&
                  cJSON_AddStringToObject(o, "name", strempty(c->name)) &&
                  cJSON_AddStringToObject(o, "domain", strempty(c->domain)) &&
                  cJSON_AddStringToObject(o, "vpn_address", cidr4_format(&c->vpn_address, cidr)) &&
                  cJSON_AddNumberToObject(o, "listen_port", c->listen_port) &&
                  cJSON_AddStringToObject(o, "endpoint", strempty(c->endpoint)) &&
                  add_key(o, "private_key", c->private_key) >= 0 &&
                  (!c->admin_password_hash || cJSON_AddStringToObject(o, "admin_password_hash", c->admin_password_hash));
        if (!ok)
                return -ENOMEM;
        if (c->dns_servers) {
                cJSON *servers = cJSON_CreateStringArray((const char *const *) c->dns_servers,
                                                         (int) strv_length(c->dns_servers));
                if (!servers)
                        return -ENOMEM;
                cJSON_AddItemToObject(o, "dns_servers", servers);
        }
        if (c->pending_vpn_address || c->pending_listen_port) {
                cJSON *pending = cJSON_AddObjectToObject(o, "pending");
                if (!pending)
                        return -ENOMEM;
                if (c->pending_vpn_address &&
                    !cJSON_AddStringToObject(pending, "vpn_address", cidr4_format(&c->pending_vpn_address_value, cidr)))
                        return -ENOMEM;
                if (c->pending_listen_port &&
                    !cJSON_AddNumberToObject(pending, "listen_port", c->pending_listen_port_value))
                        return -ENOMEM;
        }
        return print_json(o, ret);
}

static const char *get_string(const cJSON *o, const char *name) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A whole number in [min, max]; false when absent or anything else. */
static bool get_uint(const cJSON *o, const char *name, double min, double max, uint64_t *ret) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
        if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
            v->valuedouble != (double) (uint64_t) v->valuedouble)
                return false;
        *ret = (uint64_t) v->valuedouble;
        return true;
}

/* Replaces *list with the strings of o[key] when it is there; -EINVAL if it is not a list of strings. */
static int get_string_list(const cJSON *o, const char *key, char ***list) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *item;
        size_t n = 0;

        if (!a)
                return 0;
        if (!cJSON_IsArray(a))
                return -EINVAL;
        _cleanup_(strv_freep) char **l = calloc((size_t) cJSON_GetArraySize(a) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        cJSON_ArrayForEach(item, a) {
                if (!cJSON_IsString(item))
                        return -EINVAL;
                if (!(l[n++] = strdup(item->valuestring)))
                        return -ENOMEM;
        }
        strv_free(*list);
        *list = TAKE_PTR(l);
        return 0;
}

#define FAIL(...) (snprintf(buf, size, __VA_ARGS__), -EINVAL)

/* Returns the file's schema version, migrating older layouts in place. */
static int migrate(cJSON *o, char *buf, size_t size) {
        uint64_t schema = 0;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "schema");
        if (v && !get_uint(o, "schema", 0, 1e6, &schema))
                return FAIL("\"schema\" is not a version number");
        if (schema > STATE_SCHEMA_VERSION)
                return FAIL("written by a newer pic-celld (schema %llu, this one knows %d)",
                            (unsigned long long) schema, STATE_SCHEMA_VERSION);
        if (schema == 0) {
                /* Hand-written or imported files: no version, and an address may
                 * carry its "/32". */
                const char *a = get_string(o, "address");
                if (a && strlen(a) > 3 && streq(a + strlen(a) - 3, "/32")) {
                        char tmp[CIDR4_STRLEN];
                        snprintf(tmp, sizeof tmp, "%.*s", (int) strlen(a) - 3, a);
                        cJSON_ReplaceItemInObjectCaseSensitive(o, "address", cJSON_CreateString(tmp));
                }
                cJSON_DeleteItemFromObjectCaseSensitive(o, "schema");
                cJSON_AddNumberToObject(o, "schema", 1);
        }
        return 0;
}

int cell_from_json(const char *text, Cell *ret, char *buf, size_t size) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_Parse(text);
        uint64_t port;
        int r;

        if (!cJSON_IsObject(o))
                return FAIL("not a JSON object");
        r = migrate(o, buf, size);
        if (r < 0)
                return r;

        Cell c = { .setup_complete = true };
        const char *name = get_string(o, "name"), *domain = get_string(o, "domain"),
                   *vpn = get_string(o, "vpn_address"), *endpoint = get_string(o, "endpoint"),
                   *key = get_string(o, "private_key");
        if (!name || !domain || !vpn || !key)
                return FAIL("name, domain, vpn_address and private_key are required");
        if (cidr4_parse(vpn, true, &c.vpn_address) < 0)
                return FAIL("vpn_address '%.32s' is not an address with prefix", vpn);
        if (!get_uint(o, "listen_port", 1, 65535, &port))
                return FAIL("listen_port is not a port number");
        c.listen_port = (uint16_t) port;
        if (key_from_base64(key, c.private_key) < 0)
                return FAIL("private_key is not a base64 key");
        key_public_from_private(c.public_key, c.private_key);
        key_to_base64(c.public_key, c.public_key_b64);

        const cJSON *pending = cJSON_GetObjectItemCaseSensitive(o, "pending");
        if (cJSON_IsObject(pending)) {
                const char *pv = get_string(pending, "vpn_address");
                if (pv && cidr4_parse(pv, true, &c.pending_vpn_address_value) >= 0)
                        c.pending_vpn_address = true;
                if (get_uint(pending, "listen_port", 1, 65535, &port)) {
                        c.pending_listen_port = true;
                        c.pending_listen_port_value = (uint16_t) port;
                }
        }
        /* Absent in cells set up before DNS: no upstreams until Configure gives some. */
        if (cJSON_GetObjectItemCaseSensitive(o, "dns_servers")) {
                r = get_string_list(o, "dns_servers", &c.dns_servers);
                if (r < 0 || strv_length(c.dns_servers) > DNS_SERVERS_MAX) {
                        c.dns_servers = strv_free(c.dns_servers);
                        return FAIL("dns_servers is not a list of at most %d addresses", DNS_SERVERS_MAX);
                }
                for (char **i = c.dns_servers; *i; i++)
                        if (dns_server_check(*i) < 0) {
                                r = FAIL("dns_servers holds '%.64s', not an address", *i); /* before *i is freed */
                                c.dns_servers = strv_free(c.dns_servers);
                                return r;
                        }
        }
        c.name = strdup(name);
        c.domain = strdup(domain);
        c.endpoint = isempty(endpoint) ? NULL : strdup(endpoint);
        const char *admin = get_string(o, "admin_password_hash");
        c.admin_password_hash = admin ? strdup(admin) : NULL;
        if (!c.name || !c.domain || (!isempty(endpoint) && !c.endpoint) || (admin && !c.admin_password_hash)) {
                cell_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        key_wipe(c.private_key);
        return 0;
}

int peer_to_json(const Peer *p, char **ret) {
        char addr[CIDR4_STRLEN];
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        if (!o)
                return -ENOMEM;

        cJSON *access = cJSON_CreateStringArray((const char *const *) p->service_access,
                                                (int) strv_length(p->service_access));
        if (!access)
                return -ENOMEM;
        cJSON_AddItemToObject(o, "service_access", access);
        cJSON *networks = cJSON_CreateStringArray((const char *const *) p->network_access,
                                                  (int) strv_length(p->network_access));
        if (!networks)
                return -ENOMEM;
        cJSON_AddItemToObject(o, "network_access", networks);
        bool ok = cJSON_AddNumberToObject(o, "schema", STATE_SCHEMA_VERSION) &&
                  cJSON_AddStringToObject(o, "name", p->name) &&
                  cJSON_AddStringToObject(o, "public_key", p->public_key_b64) &&
                  (!p->has_private_key || add_key(o, "private_key", p->private_key) >= 0) &&
                  (!p->has_preshared_key || add_key(o, "preshared_key", p->preshared_key) >= 0) &&
                  cJSON_AddStringToObject(o, "address", ipv4_format(p->address, addr)) &&
                  cJSON_AddNumberToObject(o, "persistent_keepalive", p->persistent_keepalive) &&
                  cJSON_AddBoolToObject(o, "enabled", p->enabled) &&
                  cJSON_AddNumberToObject(o, "created", (double) p->created_usec) &&
                  (!p->login_password_hash ||
                   cJSON_AddStringToObject(o, "login_password_hash", p->login_password_hash)) &&
                  (isempty(p->exit) || cJSON_AddStringToObject(o, "exit", p->exit));
        if (!ok)
                return -ENOMEM;
        return print_json(o, ret);
}

int peer_from_json(const char *text, Peer **ret, char *buf, size_t size) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_Parse(text);
        _cleanup_(peer_freep) Peer *p = NULL;
        uint64_t x;
        int r;

        if (!cJSON_IsObject(o))
                return FAIL("not a JSON object");
        r = migrate(o, buf, size);
        if (r < 0)
                return r;

        const char *name = get_string(o, "name"), *pub = get_string(o, "public_key"),
                   *priv = get_string(o, "private_key"), *psk = get_string(o, "preshared_key"),
                   *addr = get_string(o, "address");
        if (!name || !peer_name_is_valid(name))
                return FAIL("name is missing or not a valid peer name");
        r = peer_new(&p, name);
        if (r < 0)
                return r;
        WgKey k;
        if (!pub || key_from_base64(pub, k) < 0)
                return FAIL("public_key is missing or not a base64 key");
        peer_set_public_key(p, k);
        if (priv) {
                if (key_from_base64(priv, p->private_key) < 0)
                        return FAIL("private_key is not a base64 key");
                p->has_private_key = true;
        }
        if (psk) {
                if (key_from_base64(psk, p->preshared_key) < 0)
                        return FAIL("preshared_key is not a base64 key");
                p->has_preshared_key = true;
        }
        if (!addr || ipv4_parse(addr, &p->address) < 0)
                return FAIL("address is missing or not an IPv4 address");

        char why[256];
        r = get_string_list(o, "service_access", &p->service_access);
        if (r == -EINVAL)
                return FAIL("service_access is not a list of strings");
        if (r < 0)
                return r;
        if (peer_service_access_validate(p->service_access, why, sizeof why) < 0)
                return FAIL("%s", why);
        /* Absent in files from before it existed: those peers reached the internet, and still do. */
        r = get_string_list(o, "network_access", &p->network_access);
        if (r == -EINVAL)
                return FAIL("network_access is not a list of strings");
        if (r < 0)
                return r;
        if (peer_network_access_validate(p->network_access, why, sizeof why) < 0)
                return FAIL("%s", why);
        if (get_uint(o, "persistent_keepalive", 0, 65535, &x))
                p->persistent_keepalive = (uint16_t) x;
        const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(o, "enabled");
        p->enabled = !cJSON_IsBool(enabled) || cJSON_IsTrue(enabled);
        if (get_uint(o, "created", 0, 1e19, &x))
                p->created_usec = x;
        /* Absent: the uplink. A name no exit has any more keeps its peer off the internet (exit-steer.h). */
        const char *exit_name = get_string(o, "exit");
        if (exit_name) {
                if (!peer_name_is_valid(exit_name))
                        return FAIL("exit is not a valid exit name");
                snprintf(p->exit, sizeof p->exit, "%s", exit_name);
        }
        const char *login = get_string(o, "login_password_hash");
        if (login && !(p->login_password_hash = strdup(login)))
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

int state_load_cell(int state_fd, Cell *ret) {
        _cleanup_(erase_and_freep) char *text = NULL;
        char why[256];
        int r;

        r = read_file_at(state_fd, "cell.json", STATE_FILE_MAX, &text, NULL);
        if (r == -ENOENT) {
                *ret = (Cell) {};
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read cell.json: %m");
        r = cell_from_json(text, ret, why, sizeof why);
        if (r == -EINVAL)
                return log_error_errno(r, "cell.json is unusable: %s. It was left as it is.", why);
        return r;
}

int state_save_cell(int state_fd, const Cell *c) {
        _cleanup_(erase_and_freep) char *text = NULL;
        int r = cell_to_json(c, &text);
        if (r < 0)
                return r;
        return write_file_atomic(state_fd, "cell.json", text, strlen(text), 0600);
}

static int peer_file_name(const char *name, char buf[static PEER_NAME_MAX + 6]) {
        snprintf(buf, PEER_NAME_MAX + 6, "%s.json", name);
        return 0;
}

int state_save_peer(int peers_fd, const Peer *p) {
        _cleanup_(erase_and_freep) char *text = NULL;
        char fn[PEER_NAME_MAX + 6];
        int r = peer_to_json(p, &text);
        if (r < 0)
                return r;
        peer_file_name(p->name, fn);
        return write_file_atomic(peers_fd, fn, text, strlen(text), 0600);
}

int state_save_peers(int peers_fd, Peer *const *peers, size_t n, size_t *ret_saved) {
        _cleanup_(freep) FileWrite *files = calloc(n + 1, sizeof(FileWrite));
        _cleanup_(freep) char *names = calloc(n + 1, PEER_NAME_MAX + 6);
        size_t made = 0;
        int r = 0;

        *ret_saved = 0;
        if (!files || !names)
                return -ENOMEM;
        for (; made < n; made++) {
                char *text;
                r = peer_to_json(peers[made], &text);
                if (r < 0)
                        break;
                peer_file_name(peers[made]->name, names + made * (PEER_NAME_MAX + 6));
                files[made] = (FileWrite) { names + made * (PEER_NAME_MAX + 6), text, strlen(text) };
        }
        if (r >= 0)
                r = write_files_atomic(peers_fd, files, n, 0600, ret_saved);
        for (size_t i = 0; i < made; i++) {
                char *text = (char *) files[i].data;
                erase_and_freep(&text);
        }
        return r;
}

int state_remove_peer(int peers_fd, const char *name) {
        char fn[PEER_NAME_MAX + 6];
        peer_file_name(name, fn);
        return unlink_durable(peers_fd, fn);
}

bool state_peer_file_exists(int peers_fd, const char *name) {
        char fn[PEER_NAME_MAX + 6];
        peer_file_name(name, fn);
        return faccessat(peers_fd, fn, F_OK, AT_SYMLINK_NOFOLLOW) >= 0 || errno != ENOENT;
}

int state_load_peers(int peers_fd, int (*cb)(Peer *p, void *userdata), void *userdata) {
        DIR *d;
        int r = opendir_at(peers_fd, &d);
        if (r < 0)
                return r;

        for (struct dirent *de; (de = readdir(d));) {
                size_t l = strlen(de->d_name);
                if (de->d_name[0] == '.' || l < 6 || !streq(de->d_name + l - 5, ".json"))
                        continue; /* includes temp files of interrupted writes */

                _cleanup_(erase_and_freep) char *text = NULL;
                _cleanup_(peer_freep) Peer *p = NULL;
                char why[256];
                int k = read_file_at(peers_fd, de->d_name, STATE_FILE_MAX, &text, NULL);
                if (k < 0) {
                        log_error_errno(k, "Skipping peers/%s: %m", de->d_name);
                        continue;
                }
                k = peer_from_json(text, &p, why, sizeof why);
                if (k == -EINVAL) {
                        log_error("Skipping peers/%s: %s. The file was left as it is.", de->d_name, why);
                        continue;
                }
                if (k < 0) {
                        r = k;
                        break;
                }
                if (strlen(p->name) + 5 != l || strncmp(p->name, de->d_name, strlen(p->name)) != 0) {
                        log_error("Skipping peers/%s: it names peer '%s'.", de->d_name, p->name);
                        continue;
                }
                k = cb(TAKE_PTR(p), userdata);
                if (k < 0) {
                        r = k;
                        break;
                }
        }
        closedir(d);
        return r;
}
