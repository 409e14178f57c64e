/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "exit.h"
#include "json-fields.h"
#include "json-util.h"
#include "keys.h"
#include "strv.h"
#include "wg/wg.h"
#include "names.h"

static const char *const type_names[_EXIT_TYPE_MAX] = {
        [EXIT_TYPE_WIREGUARD] = "wireguard",
        [EXIT_TYPE_CELL] = "cell",
        [EXIT_TYPE_OPENVPN] = "openvpn",
        [EXIT_TYPE_TOR] = "tor",
        [EXIT_TYPE_PROXY] = "proxy",
        [EXIT_TYPE_SSHUTTLE] = "sshuttle",
};

static const char *const state_names[] = {
        [EXIT_STARTING] = "starting",
        [EXIT_UP] = "up",
        [EXIT_DOWN] = "down",
        [EXIT_FAILED] = "failed",
};

const char *exit_type_to_string(ExitType t) {
        return t >= 0 && t < _EXIT_TYPE_MAX ? type_names[t] : NULL;
}

ExitType exit_type_from_string(const char *s) {
        for (int t = 0; t < _EXIT_TYPE_MAX; t++)
                if (s && streq(s, type_names[t]))
                        return (ExitType) t;
        return _EXIT_TYPE_INVALID;
}

const char *exit_state_to_string(ExitState s) {
        return state_names[s];
}

static void erase_string(char *s);

Exit *exit_free(Exit *e) {
        if (!e)
                return NULL;
        erase_string(e->config_text);
        wg_quick_done(&e->config);
        ovpn_done(&e->ovpn);
        erase_string(e->proxy_text);
        erase_string(e->ssh_key_text);
        free(e->ssh_target_text);
        free(e->host_key);
        proxy_url_wipe(&e->proxy);
        strv_free(e->resolvers);
        key_wipe(e->cell_private_key);
        free(e->test_target);
        free(e->last_error);
        free(e->object_path);
        free(e);
        return NULL;
}

int exit_new(const char *name, ExitType type, unsigned number, Exit **ret) {
        if (!peer_name_is_valid(name) || !exit_type_to_string(type) || number == 0 || number > EXIT_NUMBER_MAX)
                return -EINVAL;
        _cleanup_(exit_freep) Exit *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        snprintf(e->name, sizeof e->name, "%s", name);
        e->type = type;
        e->number = number;
        e->mgmt_fd = -1;
        e->test_target = strdup(EXIT_DEFAULT_TEST_TARGET);
        if (!e->test_target)
                return -ENOMEM;
        *ret = TAKE_PTR(e);
        return 0;
}

static bool first_ipv4_cidr(char **list, Cidr4 *ret) {
        for (char **s = list; s && *s; s++)
                if (cidr4_parse(*s, false, ret) >= 0)
                        return true;
        return false;
}

/* Frees a string holding a secret, wiped first. */
static void erase_string(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

/* The file as given, kept to be stored (the old one wiped: it holds a key). */
static int take_text(Exit *e, const char *text) {
        char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        erase_string(e->config_text);
        e->config_text = copy;
        return 0;
}

/* The parser's message after "Config: ", or the size refused. */
static int refuse_parse(int r, size_t max, char *buf, size_t size) {
        if (r == -E2BIG)
                return json_refuse(buf, size, "Config: the file is over %zu bytes.", max);
        memcpy(buf, "Config: ", strlen("Config: "));
        return r;
}

static int set_ovpn_config(Exit *e, const char *text, char *buf, size_t size) {
        _cleanup_(ovpn_done) OvpnConfig c = {};
        int r = ovpn_parse(text, &c, buf + strlen("Config: "), size - strlen("Config: "));
        if (r < 0)
                return refuse_parse(r, OVPN_TEXT_MAX, buf, size);
        int k = take_text(e, text);
        if (k < 0)
                return k;
        ovpn_done(&e->ovpn);
        e->ovpn = c;
        c = (OvpnConfig) {};
        return 0;
}

int exit_set_config(Exit *e, const char *text, char *buf, size_t size) {
        if (e->type == EXIT_TYPE_OPENVPN)
                return set_ovpn_config(e, text, buf, size);
        _cleanup_(wg_quick_done) WgQuickConfig c = {};
        WgEndpoint endpoint;
        Cidr4 address;

        int r = wg_quick_parse(text, &c, buf + strlen("Config: "), size - strlen("Config: "));
        if (r < 0)
                return refuse_parse(r, WG_QUICK_TEXT_MAX, buf, size);
        if (!first_ipv4_cidr(c.addresses, &address))
                return json_refuse(buf, size, "Config: Address needs an IPv4 address (such as 10.64.0.2/32): "
                                   "the peers' traffic leaves with it.");
        if (wg_endpoint_parse(c.endpoint, &endpoint) < 0)
                return json_refuse(buf, size, "Config: Endpoint '%.64s' must be an IP address and port "
                                   "(such as 203.0.113.5:51820); PIC does not resolve names for an exit.",
                                   c.endpoint);

        int k = take_text(e, text);
        if (k < 0)
                return k;
        wg_quick_done(&e->config);
        e->config = c;
        c = (WgQuickConfig) {};
        return 0;
}

int exit_set_cell_config(Exit *e, const ExitCellSettings *s) {
        _cleanup_(wg_quick_done) WgQuickConfig c = {};
        char ip[CIDR4_STRLEN], address[CIDR4_STRLEN + 3];

        memcpy(c.private_key, e->cell_private_key, WG_KEY_LEN);
        memcpy(c.peer_public_key, *s->peer_key, WG_KEY_LEN);
        snprintf(address, sizeof address, "%s/32", ipv4_format(s->address, ip));
        if (strv_extend(&c.addresses, address) < 0 || (s->dns && strv_extend(&c.dns, s->dns) < 0) ||
            strv_extend(&c.allowed_ips, "0.0.0.0/0") < 0 || !(c.endpoint = strdup(s->endpoint)))
                return -ENOMEM;
        wg_quick_done(&e->config);
        e->config = c;
        c = (WgQuickConfig) {};
        return 0;
}

/* 1…max IPv4 addresses. */
static int check_resolvers(char **resolvers, size_t max, char *buf, size_t size) {
        uint32_t a;

        if (strv_length(resolvers) == 0 || strv_length(resolvers) > max)
                return json_refuse(buf, size, "DnsServers: give %s IPv4 address%s.", max == 1 ? "one" : "1-4",
                                   max == 1 ? "" : "es");
        for (char **s = resolvers; *s; s++)
                if (ipv4_parse(*s, &a) < 0)
                        return json_refuse(buf, size, "DnsServers: '%.*s' is not an IPv4 address.",
                                           utf8_prefix_len(*s, 40), *s);
        return 0;
}

int exit_set_proxy(Exit *e, const char *url, char **resolvers, char *buf, size_t size) {
        const char *defaults[] = { EXIT_DEFAULT_RESOLVERS, NULL };
        ProxyUrl parsed;

        int r = proxy_url_parse(url, &parsed, buf, size);
        if (r < 0)
                return r;
        proxy_url_wipe(&parsed); /* only checked here: the unit reads the URL */
        if (resolvers && (r = check_resolvers(resolvers, EXIT_RESOLVERS_MAX, buf, size)) < 0)
                return r;
        char **list = strv_copy(resolvers ?: (char **) defaults);
        char *text = strdup(url);
        if (!list || !text) {
                strv_free(list);
                free(text);
                return -ENOMEM;
        }
        erase_string(e->proxy_text);
        erase_string(e->ssh_key_text);
        free(e->ssh_target_text);
        free(e->host_key);
        e->proxy_text = text;
        e->proxy = parsed;
        strv_free(e->resolvers);
        e->resolvers = list;
        return 0;
}

int exit_set_sshuttle(Exit *e, const ExitSshSettings *s, char *buf, size_t size) {
        _cleanup_(strv_freep) char **resolvers = NULL;
        char host_key[SSH_HOST_KEY_MAX + 1];
        SshTarget target;

        int r = ssh_target_parse(s->target, &target, buf, size);
        if (r >= 0)
                r = ssh_private_key_check(s->key, buf, size);
        if (r >= 0)
                r = ssh_host_key_parse(s->host_key, host_key, sizeof host_key, buf, size);
        if (r >= 0 && s->resolvers) /* sshuttle hands DNS to one server */
                r = check_resolvers(s->resolvers, 1, buf, size);
        if (r < 0)
                return r;
        char *key = strdup(s->key), *target_text = strdup(s->target), *host = strdup(host_key);
        if (!key || !target_text || !host || (s->resolvers && !(resolvers = strv_copy(s->resolvers)))) {
                erase_string(key);
                free(target_text);
                free(host);
                return -ENOMEM;
        }
        erase_string(e->ssh_key_text);
        e->ssh_key_text = key;
        free(e->ssh_target_text);
        e->ssh_target_text = target_text;
        e->ssh_target = target;
        free(e->host_key);
        e->host_key = host;
        strv_free(e->resolvers);
        e->resolvers = TAKE_PTR(resolvers);
        return 0;
}

int exit_set_test_target(Exit *e, const char *target, char *buf, size_t size) {
        WgEndpoint ep;

        if (!target || strlen(target) > 64 || endpoint_validate(target) < 0 || wg_endpoint_parse(target, &ep) < 0 ||
            ep.addr.sa_family != AF_INET)
                return json_refuse(buf, size, "TestTarget must be an IPv4 address and port, such as 1.1.1.1:443.");
        char *copy = strdup(target);
        if (!copy)
                return -ENOMEM;
        free(e->test_target);
        e->test_target = copy;
        return 0;
}

bool exit_is_tcp_only(ExitType t) {
        return t == EXIT_TYPE_TOR || t == EXIT_TYPE_PROXY || t == EXIT_TYPE_SSHUTTLE;
}

uint16_t exit_tcp_port(const Exit *e) {
        return exit_is_tcp_only(e->type) ? (uint16_t) (EXIT_LOCAL_PORT_BASE + 2 * (e->number - 1)) : 0;
}

uint16_t exit_dns_port(const Exit *e) {
        return exit_is_tcp_only(e->type) ? exit_tcp_port(e) + 1 : 0;
}

bool exit_takes_config(ExitType t) {
        return t == EXIT_TYPE_WIREGUARD || t == EXIT_TYPE_OPENVPN;
}

ExitState exit_state(const Exit *e, uint64_t now_usec) {
        switch (e->runner) {
        case EXIT_RUNNER_FAILED:
                return EXIT_FAILED;
        case EXIT_RUNNER_STOPPED:
                return EXIT_DOWN;
        case EXIT_RUNNER_STARTING:
                return e->program_down ? EXIT_FAILED : EXIT_STARTING; /* running, and saying why it cannot serve */
        case EXIT_RUNNER_RUNNING:
                break;
        }
        if (e->type == EXIT_TYPE_OPENVPN || exit_is_tcp_only(e->type)) /* no handshakes to see: its own word */
                return e->tunnel_connected ? EXIT_UP : e->program_down ? EXIT_FAILED : EXIT_STARTING;
        if (e->latest_handshake_usec == 0)
                return EXIT_STARTING; /* configured, waiting for the server's answer */
        if (now_usec < e->latest_handshake_usec + EXIT_FRESH_USEC)
                return EXIT_UP;
        return EXIT_DOWN;
}

int exit_tunnel_address(const Exit *e, uint32_t *ret_addr, uint8_t *ret_prefix) {
        Cidr4 c;
        if (e->type == EXIT_TYPE_OPENVPN) { /* the server assigns it */
                if (!*e->ovpn_status.local_address || ipv4_parse(e->ovpn_status.local_address, ret_addr) < 0)
                        return -ENOENT;
                *ret_prefix = 32;
                return 0;
        }
        if (!first_ipv4_cidr(e->config.addresses, &c))
                return -ENOENT;
        *ret_addr = c.addr;
        *ret_prefix = c.prefix;
        return 0;
}

size_t exit_dns_servers(const Exit *e, uint32_t *ret, size_t max) {
        size_t n = 0;
        char **list = e->type == EXIT_TYPE_OPENVPN ? e->ovpn.dns : e->type == EXIT_TYPE_PROXY || e->type == EXIT_TYPE_SSHUTTLE ? e->resolvers
                                                                                                    : e->config.dns;
        for (char **s = list; s && *s && n < max; s++)
                if (ipv4_parse(*s, &ret[n]) >= 0)
                        n++;
        return n;
}

/* wireguard, openvpn: "config", the file as given; cell: "private_key", the rest comes from the link;
 * proxy: "proxy", its URL, and "dns_servers"; sshuttle: "target", "ssh_key", "host_key" and, when it has
 * one, "dns_servers". */
int exit_to_json(const Exit *e, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        char key[WG_KEY_B64_LEN];

        if (!o || !cJSON_AddNumberToObject(o, "schema", 1) || !cJSON_AddStringToObject(o, "name", e->name) ||
            !cJSON_AddStringToObject(o, "type", exit_type_to_string(e->type)) ||
            !cJSON_AddNumberToObject(o, "number", e->number) ||
            !cJSON_AddNumberToObject(o, "created", (double) e->created_usec) ||
            !cJSON_AddStringToObject(o, "test_target", e->test_target))
                return -ENOMEM;
        if (e->type == EXIT_TYPE_CELL) {
                key_to_base64(e->cell_private_key, key);
                bool ok = cJSON_AddStringToObject(o, "private_key", key);
                explicit_bzero(key, sizeof key); /* the text of a key is as secret as the key */
                if (!ok)
                        return -ENOMEM;
        } else if (exit_takes_config(e->type) && !cJSON_AddStringToObject(o, "config", e->config_text))
                return -ENOMEM;
        if (e->type == EXIT_TYPE_PROXY && !cJSON_AddStringToObject(o, "proxy", e->proxy_text))
                return -ENOMEM;
        if (e->type == EXIT_TYPE_SSHUTTLE &&
            (!cJSON_AddStringToObject(o, "target", e->ssh_target_text) ||
             !cJSON_AddStringToObject(o, "ssh_key", e->ssh_key_text) ||
             !cJSON_AddStringToObject(o, "host_key", e->host_key)))
                return -ENOMEM;
        if (e->resolvers) {
                cJSON *list = cJSON_AddArrayToObject(o, "dns_servers");
                if (!list)
                        return -ENOMEM;
                for (char **s = e->resolvers; *s; s++)
                        if (!cJSON_AddItemToArray(list, cJSON_CreateString(*s)))
                                return -ENOMEM;
        }
        *ret = cJSON_Print(o);
        return *ret ? 0 : -ENOMEM;
}

enum { F_SCHEMA, F_NAME, F_TYPE, F_NUMBER, F_CREATED, F_CONFIG, F_TEST_TARGET, F_PRIVATE_KEY, F_PROXY, F_DNS_SERVERS,
       F_TARGET, F_SSH_KEY, F_HOST_KEY, _F_MAX };
static const JsonField exit_fields[_F_MAX] = {
        { "schema", JSON_COUNT }, { "name", JSON_STRING }, { "type", JSON_STRING }, { "number", JSON_COUNT },
        { "created", JSON_COUNT }, { "config", JSON_STRING, .optional = true }, { "test_target", JSON_STRING },
        { "private_key", JSON_STRING, .optional = true }, { "proxy", JSON_STRING, .optional = true },
        { "dns_servers", JSON_STRINGS, .optional = true }, { "target", JSON_STRING, .optional = true },
        { "ssh_key", JSON_STRING, .optional = true }, { "host_key", JSON_STRING, .optional = true },
};

int exit_from_json(const char *text, Exit **ret, char *buf, size_t size) {
        _cleanup_(cjson_deletep) cJSON *o = json_parse_exact(text, strlen(text));
        _cleanup_(exit_freep) Exit *e = NULL;
        const cJSON *f[_F_MAX];

        int r = json_collect_fields(o, exit_fields, _F_MAX, f, "exit", buf, size);
        if (r < 0)
                return r;
        if (json_count(f[F_SCHEMA]) != 1)
                return json_refuse(buf, size, "exit: schema %llu is not one this PIC knows.",
                                   (unsigned long long) json_count(f[F_SCHEMA]));
        ExitType type = exit_type_from_string(f[F_TYPE]->valuestring);
        if (type < 0)
                return json_refuse(buf, size, "exit: type '%.*s' is not one this PIC knows.",
                                   utf8_prefix_len(f[F_TYPE]->valuestring, 32), f[F_TYPE]->valuestring);
        if (!peer_name_is_valid(f[F_NAME]->valuestring))
                return json_refuse(buf, size, "exit: name is not a valid name.");
        uint64_t number = json_count(f[F_NUMBER]);
        if (number == 0 || number > EXIT_NUMBER_MAX)
                return json_refuse(buf, size, "exit: number %llu is not 1…%u.", (unsigned long long) number,
                                   EXIT_NUMBER_MAX);
        r = exit_new(f[F_NAME]->valuestring, type, (unsigned) number, &e);
        if (r < 0)
                return r;
        e->created_usec = json_count(f[F_CREATED]);
        if ((type == EXIT_TYPE_CELL) != !!f[F_PRIVATE_KEY] || exit_takes_config(type) != !!f[F_CONFIG])
                return json_refuse(buf, size, "exit: a %s exit has %s a private_key and %s a config.",
                                   exit_type_to_string(type), type == EXIT_TYPE_CELL ? "" : "no",
                                   exit_takes_config(type) ? "" : "no");
        bool proxy = type == EXIT_TYPE_PROXY, ssh = type == EXIT_TYPE_SSHUTTLE;
        if (proxy != !!f[F_PROXY] || (proxy && !f[F_DNS_SERVERS]) || (!proxy && !ssh && f[F_DNS_SERVERS]))
                return json_refuse(buf, size, "exit: proxy and dns_servers belong to a proxy exit, and only to one.");
        if (ssh != !!f[F_TARGET] || ssh != !!f[F_SSH_KEY] || ssh != !!f[F_HOST_KEY])
                return json_refuse(buf, size, "exit: target, ssh_key and host_key belong to an sshuttle exit, and "
                                   "only to one.");
        _cleanup_(strv_freep) char **resolvers = NULL;
        if (f[F_DNS_SERVERS] && json_strings(f[F_DNS_SERVERS], &resolvers) < 0)
                return -ENOMEM;
        if (type == EXIT_TYPE_TOR)
                r = 0;
        else if (proxy)
                r = exit_set_proxy(e, f[F_PROXY]->valuestring, resolvers, buf, size);
        else if (ssh)
                r = exit_set_sshuttle(e, &(ExitSshSettings) {
                        .target = f[F_TARGET]->valuestring,
                        .key = f[F_SSH_KEY]->valuestring,
                        .host_key = f[F_HOST_KEY]->valuestring,
                        .resolvers = resolvers,
                }, buf, size);
        else if (type == EXIT_TYPE_CELL)
                r = key_from_base64(f[F_PRIVATE_KEY]->valuestring, e->cell_private_key) < 0 ?
                        json_refuse(buf, size, "exit: private_key is not a key.") : 0;
        else
                r = exit_set_config(e, f[F_CONFIG]->valuestring, buf, size);
        if (r >= 0)
                r = exit_set_test_target(e, f[F_TEST_TARGET]->valuestring, buf, size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}
