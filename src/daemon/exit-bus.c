/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-objects.h"
#include "bus-api.h"
#include "bus-dict.h"
#include "cell-apply.h"
#include "cell-bus.h"
#include "cell-firewall.h"
#include "exit-bus.h"
#include "unit-targets.h"
#include "exit-cell.h"
#include "exit-steer.h"
#include "exit-test.h"
#include "exit-run.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "peer.h"
#include "polkit.h"
#include "strv.h"
#include "time-util.h"

/* the largest file a type takes (an .ovpn) escaped in JSON, and the rest */
#define EXIT_FILE_MAX (MAX(OVPN_TEXT_MAX, WG_QUICK_TEXT_MAX) * 2 + 4096)

static int exit_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        return bus_objects_find(path, PIC_EXIT_PATH_PREFIX, ((Manager *) userdata)->exits_by_name, found);
}

static int exit_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error) {
        return bus_objects_enumerate(((Manager *) userdata)->exits_by_name, offsetof(Exit, object_path), nodes);
}

static unsigned peer_count(Manager *m, const Exit *e) {
        unsigned n = 0;
        Peer *p;
        HASHMAP_FOREACH(p, m->peers_by_name)
                n += streq(p->exit, e->name);
        return n;
}

/* The server's address; a proxy's without its credentials. */
static int property_endpoint(const Exit *e, sd_bus_message *reply) {
        char addr[CIDR4_STRLEN], text[CIDR4_STRLEN + 8];

        if (e->type == EXIT_TYPE_PROXY || e->type == EXIT_TYPE_SSHUTTLE) {
                bool proxy = e->type == EXIT_TYPE_PROXY;
                snprintf(text, sizeof text, "%s:%u", ipv4_format(proxy ? e->proxy.address : e->ssh_target.address, addr),
                         proxy ? e->proxy.port : e->ssh_target.port);
                return sd_bus_message_append(reply, "s", text);
        }
        return sd_bus_message_append(reply, "s", e->type == EXIT_TYPE_OPENVPN ? strempty(e->ovpn.remote)
                                                                               : strempty(e->config.endpoint));
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Exit *e = userdata;
        char addr[CIDR4_STRLEN + 4];
        uint32_t a, dns[FIREWALL_EXIT_DNS_MAX];
        uint8_t prefix;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", e->name);
        if (streq(property, "Type"))
                return sd_bus_message_append(reply, "s", exit_type_to_string(e->type));
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", exit_state_to_string(e->announced_state));
        if (streq(property, "LastError"))
                return sd_bus_message_append(reply, "s", strempty(e->last_error));
        if (streq(property, "Unit"))
                return sd_bus_message_append(reply, "s", e->unit);
        if (streq(property, "Interface"))
                return sd_bus_message_append(reply, "s", e->ifname);
        if (streq(property, "Mark"))
                return sd_bus_message_append(reply, "u", exit_mark(e));
        if (streq(property, "Table"))
                return sd_bus_message_append(reply, "u", exit_table(e));
        if (streq(property, "Address")) {
                if (exit_tunnel_address(e, &a, &prefix) < 0)
                        return sd_bus_message_append(reply, "s", "");
                size_t len = strlen(ipv4_format(a, addr));
                snprintf(addr + len, sizeof addr - len, "/%u", prefix);
                return sd_bus_message_append(reply, "s", addr);
        }
        if (streq(property, "Endpoint"))
                return property_endpoint(e, reply);
        if (streq(property, "DnsServers")) {
                size_t n = exit_dns_servers(e, dns, ELEMENTSOF(dns));
                int r = sd_bus_message_open_container(reply, 'a', "s");
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = sd_bus_message_append(reply, "s", ipv4_format(dns[i], addr));
                return r < 0 ? r : sd_bus_message_close_container(reply);
        }
        if (streq(property, "TestTarget"))
                return sd_bus_message_append(reply, "s", e->test_target);
        if (streq(property, "Created"))
                return sd_bus_message_append(reply, "t", e->created_usec);
        if (streq(property, "LatestHandshake"))
                return sd_bus_message_append(reply, "t", e->latest_handshake_usec);
        if (streq(property, "RxBytes"))
                return sd_bus_message_append(reply, "t", e->rx_bytes);
        if (streq(property, "TxBytes"))
                return sd_bus_message_append(reply, "t", e->tx_bytes);
        if (streq(property, "PeerCount"))
                return sd_bus_message_append(reply, "u", peer_count(e->manager, e));
        return -ENOENT;
}

void exit_bus_emit_changed(Exit *e, char **names) {
        if (e->manager && e->object_path)
                (void) sd_bus_emit_properties_changed_strv(e->manager->bus, e->object_path, PIC_EXIT_INTERFACE, names);
}

void exit_bus_peer_moved(Manager *m, const char *from, const char *to) {
        const char *names[] = { from, to };
        char *changed[] = { "PeerCount", NULL };

        if (streq(strempty(from), strempty(to)))
                return;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                Exit *e = isempty(names[i]) ? NULL : hashmap_get(m->exits_by_name, names[i]);
                if (e)
                        exit_bus_emit_changed(e, changed);
        }
}

int exit_bus_authorize_peer_exit(Manager *m, sd_bus_message *message, bool changes_exit, sd_bus_error *error) {
        if (!changes_exit)
                return 1;
        return polkit_verify_async(m->polkit, message, ACTION_MANAGE_EXITS, error);
}

static void file_name(const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s.json", name);
}

int exit_bus_store(Manager *m, const Exit *e) {
        _cleanup_(erase_and_freep) char *text = NULL;
        char name[PEER_NAME_MAX + 6];

        int r = exit_to_json(e, &text);
        if (r < 0)
                return r;
        file_name(e->name, name, sizeof name);
        return write_file_atomic(m->exits_fd, name, text, strlen(text), 0600);
}

int exit_bus_index(Manager *m, Exit *e) {
        int r = sd_bus_path_encode(PIC_EXIT_PATH_PREFIX, e->name, &e->object_path);
        if (r < 0)
                return r;
        e->manager = m;
        snprintf(e->ifname, sizeof e->ifname, "%s%u", m->config.exit_ifname_prefix, e->number);
        snprintf(e->unit, sizeof e->unit, "pic-exit-%s.service", e->name);
        return hashmap_put(m->exits_by_name, e->name, e);
}

static int load_exit(const char *file, const char *text, size_t name_len, void *userdata) {
        Manager *m = userdata;
        _cleanup_(exit_freep) Exit *e = NULL;
        char why[256];
        Exit *other;
        bool taken = false;

        if (!text || exit_from_json(text, &e, why, sizeof why) < 0) {
                log_error("Skipping exits/%s: not an exit. The file was left as it is.", file);
                return 0;
        }
        HASHMAP_FOREACH(other, m->exits_by_name)
                taken = taken || other->number == e->number;
        if (strlen(e->name) != name_len || strncmp(file, e->name, name_len) != 0 || taken) {
                log_error("Skipping exits/%s: it names exit '%s' (number %u).", file, e->name, e->number);
                return 0;
        }
        int r = exit_bus_index(m, e);
        if (r >= 0)
                TAKE_PTR(e);
        return r;
}

int exit_bus_load(Manager *m) {
        return for_each_json_file(m->exits_fd, EXIT_FILE_MAX, load_exit, m);
}

void exit_bus_start_all(Manager *m) {
        Exit *e, *orphans[EXIT_NUMBER_MAX];
        size_t n = 0;

        HASHMAP_FOREACH(e, m->exits_by_name) {
                if (e->type == EXIT_TYPE_CELL) {
                        Link *l = hashmap_get(m->links_by_name, e->name);
                        if (l)
                                exit_cell_sync(m, l);
                        else if (n < ELEMENTSOF(orphans))
                                orphans[n++] = e; /* removed after the walk: it changes the map */
                        continue;
                }
                int r = exit_run_start(m, e);
                if (r < 0)
                        log_error_errno(r, "Exit %s could not be started: %m", e->name);
        }
        for (size_t i = 0; i < n; i++) {
                log_notice("The link with cell %s is gone: so is the exit through it.", orphans[i]->name);
                (void) exit_bus_forget(m, orphans[i]);
        }
}

static void exit_release(Exit *e) {
        exit_test_cancel_all(e);
        e->mgmt_source = sd_event_source_disable_unref(e->mgmt_source);
        if (e->mgmt_fd >= 0)
                close(e->mgmt_fd);
        e->poll_timer = sd_event_source_disable_unref(e->poll_timer);
        e->unit_match = sd_bus_slot_unref(e->unit_match);
        e->unit_call = sd_bus_slot_unref(e->unit_call);
        exit_free(e);
}

void exit_bus_free_all(Manager *m) {
        Exit *e;
        HASHMAP_FOREACH(e, m->exits_by_name)
                exit_release(e); /* the map itself goes with the manager */
}

/* Rules, the firewall's sets: whatever the set of exits is now. */
void exit_bus_steer_all(Manager *m) {
        (void) exit_steer_sync_rules(m);
        (void) cell_firewall_rebuild(m);
}

/* ---- settings: AddExit's and Update's a{sv} */

typedef struct ExitSettings {
        const char *config, *test_target, *proxy, *target, *ssh_key, *host_key;
        char **resolvers;
        bool has_config, has_test_target, has_proxy, has_resolvers, has_target, has_ssh_key, has_host_key;
} ExitSettings;

static void settings_done(ExitSettings *s) {
        s->resolvers = strv_free(s->resolvers);
}

static int settings_read(sd_bus_message *message, ExitSettings *s, sd_bus_error *error) {
        const BusDictField fields[] = {
                { "Config", 's', &s->config, &s->has_config },
                { "TestTarget", 's', &s->test_target, &s->has_test_target },
                { "Proxy", 's', &s->proxy, &s->has_proxy },
                { "DnsServers", 'a', &s->resolvers, &s->has_resolvers, .max_items = EXIT_RESOLVERS_MAX },
                { "Target", 's', &s->target, &s->has_target },
                { "SshKey", 's', &s->ssh_key, &s->has_ssh_key },
                { "HostKey", 's', &s->host_key, &s->has_host_key },
        };
        return bus_read_dict(message, fields, ELEMENTSOF(fields), error);
}

/* The keys a type takes: InvalidArgs naming one it does not. */
static int settings_check_type(const ExitSettings *s, ExitType type, sd_bus_error *error) {
        if (s->has_config && !exit_takes_config(type))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, type == EXIT_TYPE_CELL ?
                                         "Config: a cell exit's tunnel is set up with that cell; only TestTarget "
                                         "can change." : "Config: a %s exit takes no file.",
                                         exit_type_to_string(type));
        if (s->has_proxy && type != EXIT_TYPE_PROXY)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Proxy: only a proxy exit takes it.");
        if (s->has_resolvers && type != EXIT_TYPE_PROXY && type != EXIT_TYPE_SSHUTTLE)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "DnsServers: only a proxy or sshuttle exit takes them (the others' come with "
                                        "their file or their tunnel).");
        if ((s->has_target || s->has_ssh_key || s->has_host_key) && type != EXIT_TYPE_SSHUTTLE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s: only an sshuttle exit takes it.",
                                         s->has_target ? "Target" : s->has_ssh_key ? "SshKey" : "HostKey");
        return 0;
}

/* new: a fresh exit taking the settings (and, for an Update, old's other ones). */
static int settings_apply(const ExitSettings *s, const Exit *old, Exit *new, sd_bus_error *error) {
        char why[512];
        int r = 0;

        if (s->has_config || (old && exit_takes_config(old->type)))
                r = exit_set_config(new, s->has_config ? s->config : old->config_text, why, sizeof why);
        char **resolvers = s->has_resolvers ? s->resolvers : old ? old->resolvers : NULL;
        if (r >= 0 && new->type == EXIT_TYPE_PROXY)
                r = exit_set_proxy(new, s->has_proxy ? s->proxy : old->proxy_text, resolvers, why, sizeof why);
        if (r >= 0 && new->type == EXIT_TYPE_SSHUTTLE)
                r = exit_set_sshuttle(new, &(ExitSshSettings) {
                        .target = s->has_target ? s->target : old->ssh_target_text,
                        .key = s->has_ssh_key ? s->ssh_key : old->ssh_key_text,
                        .host_key = s->has_host_key ? s->host_key : old->host_key,
                        .resolvers = resolvers,
                }, why, sizeof why);
        if (r >= 0 && (s->has_test_target || old))
                r = exit_set_test_target(new, s->has_test_target ? s->test_target : old->test_target, why, sizeof why);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why);
        return r;
}

unsigned exit_bus_free_number(Manager *m) {
        for (unsigned n = 1; n <= EXIT_NUMBER_MAX; n++) {
                bool taken = false;
                Exit *e;
                HASHMAP_FOREACH(e, m->exits_by_name)
                        taken = taken || e->number == n;
                if (!taken)
                        return n;
        }
        return 0;
}

int method_add_exit(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(settings_done) ExitSettings s = {};
        const char *name, *type_name;
        char file[PEER_NAME_MAX + 6];
        int r;

        r = sd_bus_message_read(message, "ss", &name, &type_name);
        if (r < 0)
                return r;
        r = settings_read(message, &s, error);
        if (r < 0)
                return r;
        if (!peer_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Name: an exit's name must be %s.",
                                         PEER_NAME_CHARSET_DOC);
        ExitType type = exit_type_from_string(type_name);
        if (type == EXIT_TYPE_CELL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Type: an exit of type \"cell\" appears on its own when a linked cell offers its "
                                        "uplink (Link.OfferExit there).");
        if (type < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Type: an exit's type must be \"wireguard\", \"openvpn\", \"tor\", "
                                         "\"proxy\" or \"sshuttle\".");
        r = settings_check_type(&s, type, error);
        if (r < 0)
                return r;
        if (exit_takes_config(type) && !s.has_config)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Config is required: the exit's wg-quick or .ovpn file.");
        if (type == EXIT_TYPE_PROXY && !s.has_proxy)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Proxy is required: socks5://[user:password@]address:port or http://….");
        if (type == EXIT_TYPE_SSHUTTLE && !(s.has_target && s.has_ssh_key && s.has_host_key))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s is required: an sshuttle exit needs Target (user@address[:port]), SshKey "
                                         "(a private key without a passphrase) and HostKey (the server's public key).",
                                         !s.has_target ? "Target" : !s.has_ssh_key ? "SshKey" : "HostKey");
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        if (hashmap_get(m->exits_by_name, name))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "An exit named '%s' already exists.", name);
        file_name(name, file, sizeof file);
        if (faccessat(m->exits_fd, file, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "exits/%s exists but could not be loaded; move it away first.", file);
        unsigned number = exit_bus_free_number(m);
        if (number == 0)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "The cell has %u exits, the most it serves.",
                                         EXIT_NUMBER_MAX);
        _cleanup_(exit_freep) Exit *e = NULL;
        r = exit_new(name, type, number, &e);
        if (r < 0)
                return r;
        r = settings_apply(&s, NULL, e, error);
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_EXITS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_wait_idle(m, message);
        if (r <= 0)
                return r < 0 ? sd_bus_error_set_errno(error, r) : 1;

        e->created_usec = now_usec(CLOCK_REALTIME);
        r = exit_bus_store(m, e);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store exit '%s': %s.", name, strerror(-r));
        r = exit_bus_index(m, e);
        if (r < 0) {
                (void) unlink_durable(m->exits_fd, file);
                return r;
        }
        Exit *added = TAKE_PTR(e);
        exit_bus_steer_all(m);
        r = exit_run_start(m, added);
        if (r < 0)
                log_error_errno(r, "Exit %s could not be started: %m", added->name);
        log_info("Added exit %s (%s, number %u).", added->name, exit_type_to_string(added->type), added->number);
        (void) sd_bus_emit_object_added(m->bus, added->object_path);
        return sd_bus_reply_method_return(message, "o", added->object_path);
}

static int method_update(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Exit *e = userdata;
        Manager *m = e->manager;
        _cleanup_(settings_done) ExitSettings s = {};
        int r;

        r = settings_read(message, &s, error);
        if (r < 0)
                return r;
        r = settings_check_type(&s, e->type, error);
        if (r < 0)
                return r;
        _cleanup_(exit_freep) Exit *new = NULL;
        r = exit_new(e->name, e->type, e->number, &new);
        if (r < 0)
                return r;
        r = settings_apply(&s, e, new, error);
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_EXITS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        new->created_usec = e->created_usec;
        memcpy(new->cell_private_key, e->cell_private_key, WG_KEY_LEN);
        r = exit_bus_store(m, new);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store exit '%s': %s.", e->name,
                                         strerror(-r));
        /* the settings move over (a cell exit's tunnel is the link's: only its target); the running parts
         * stay with e */
        char *target = e->test_target;
        e->test_target = new->test_target;
        new->test_target = target;
        if (exit_takes_config(e->type)) {
                char *text = e->config_text;
                WgQuickConfig config = e->config;
                OvpnConfig ovpn = e->ovpn;
                e->config_text = new->config_text;
                e->config = new->config;
                e->ovpn = new->ovpn;
                new->config_text = text; /* freed (and wiped) with new */
                new->config = config;
                new->ovpn = ovpn;
                (void) cell_firewall_rebuild(m); /* its resolvers may have changed, and its peers' DNS with them */
                exit_run_reconfigure(m, e);
        } else if (exit_is_tcp_only(e->type) && e->type != EXIT_TYPE_TOR &&
                   (s.has_proxy || s.has_resolvers || s.has_target || s.has_ssh_key || s.has_host_key)) {
                SWAP(e->proxy_text, new->proxy_text);
                SWAP(e->proxy, new->proxy);
                SWAP(e->resolvers, new->resolvers);
                SWAP(e->ssh_key_text, new->ssh_key_text);
                SWAP(e->ssh_target_text, new->ssh_target_text);
                SWAP(e->ssh_target, new->ssh_target);
                SWAP(e->host_key, new->host_key);
                exit_run_reconfigure(m, e);
        }
        log_info("Updated exit %s.", e->name);
        char *changed[] = { "Address", "Endpoint", "DnsServers", "TestTarget", NULL };
        exit_bus_emit_changed(e, changed);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_test(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Exit *e = userdata;
        Manager *m = e->manager;

        int r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_EXITS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = exit_test_start(e, message);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "Exit %s is already being tested; wait for it.",
                                         e->name);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Cannot test exit %s: %s.", e->name, strerror(-r));
        return 1;
}

int exit_bus_forget(Manager *m, Exit *e) {
        char file[PEER_NAME_MAX + 6];

        file_name(e->name, file, sizeof file);
        int r = unlink_durable(m->exits_fd, file);
        if (r < 0 && r != -ENOENT)
                return r;
        if (e->running)
                exit_run_stop(m, e);
        hashmap_remove(m->exits_by_name, e->name);
        (void) sd_bus_emit_object_removed(m->bus, e->object_path);
        unit_targets_set(m, UNIT_TARGET_EXIT, e->name, false);
        log_info("Removed exit %s.", e->name);
        exit_release(e);
        exit_bus_steer_all(m);
        return 0;
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Exit *e = userdata;
        Manager *m = e->manager;
        char users[160] = "";
        unsigned n = 0;
        Peer *p;

        HASHMAP_FOREACH(p, m->peers_by_name)
                if (streq(p->exit, e->name) && n++ < 3) {
                        size_t len = strlen(users);
                        snprintf(users + len, sizeof users - len, "%s%s", len ? ", " : "", p->name);
                }
        if (e->type == EXIT_TYPE_CELL)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "Exit %s is kept (down) while cell %s does not offer it and goes with the link.", e->name,
                                         e->name);
        if (n > 0)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "Exit %s is used by %u peer(s) (%s%s): give them another exit or none first "
                                         "(picctl peer exit NAME --none).", e->name, n, users, n > 3 ? ", …" : "");
        int r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_EXITS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = exit_bus_forget(m, e);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to remove exits/%s.json: %s.", e->name,
                                         strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable exit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Type", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Unit", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Interface", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mark", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Table", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Address", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DnsServers", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TestTarget", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Created", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LatestHandshake", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TxBytes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PeerCount", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Test", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", connect_usec), method_test,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int exit_bus_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, PIC_EXIT_PATH_PREFIX, PIC_EXIT_INTERFACE, exit_vtable,
                                           exit_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, PIC_EXIT_PATH_PREFIX, exit_enumerate, m);
}
