/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "exit-bus.h"
#include "bus-dict.h"
#include "bus-api.h"
#include "cell-apply.h"
#include "cell-bus.h"
#include "cell-firewall.h"
#include "changes.h"
#include "ddns-bus.h"
#include "setup-code-bus.h"
#include "ddns-update.h"
#include "dns-bus.h"
#include "dnsmasq.h"
#include "keys.h"
#include "link-pairing.h"
#include "link-push.h"
#include "log.h"
#include "names.h"
#include "password-bus.h"
#include "peer-batch-bus.h"
#include "password.h"
#include "peer-bus.h"
#include "peer-options.h"
#include "state.h"
#include "wireguard-start.h"


int cell_bus_require_setup(Manager *m, sd_bus_error *error) {
        if (m->cell.setup_complete)
                return 0;
        return sd_bus_error_set(error, PIC_ERROR_SETUP_REQUIRED,
                                "The cell is not set up yet: call Setup (picctl setup) first.");
}

int cell_bus_authorize_change(Manager *m, sd_bus_message *message, const char *action, sd_bus_error *error) {
        int r = polkit_verify_async(m->polkit, message, action, error);
        if (r <= 0)
                return r;
        r = manager_wait_idle(m, message);
        if (r <= 0)
                return r < 0 ? sd_bus_error_set_errno(error, r) : 0;
        r = manager_wait_wireguard(m, message);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "WireGuard on %s is not up: %s.", m->config.ifname,
                                         strerror(-r));
        return r;
}

void cell_bus_emit_changed(Manager *m, char **names) {
        changes_mark_cell(m, names);
}

static char *all_cell_properties[] = { "SetupComplete", "Name", "Domain", "VpnAddress", "ListenPort", "PublicKey",
                                       "Endpoint", "WireGuardBackend", "PendingChanges", "HasAdminPassword", "AdminLoginId",
                                       "DnsServers", DDNS_PROPERTY_NAMES, NULL };

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        char buf[CIDR4_STRLEN];
        const char *v = "";

        if (streq(property, "Name"))
                v = m->cell.name;
        else if (streq(property, "Domain"))
                v = m->cell.domain;
        else if (streq(property, "Endpoint"))
                v = m->cell.endpoint;
        else if (streq(property, "PublicKey"))
                v = m->cell.setup_complete ? m->cell.public_key_b64 : "";
        else if (streq(property, "VpnAddress"))
                v = m->cell.setup_complete ? cidr4_format(&m->cell.vpn_address, buf) : "";
        else if (streq(property, "InterfaceName"))
                v = m->config.ifname;
        else if (streq(property, "WireGuardBackend"))
                v = m->wg_ready ? wg_backend_kind_to_string(m->wg->kind) : "";
        else if (streq(property, "Uplink"))
                v = m->uplink;
        else if (streq(property, "Version"))
                v = PIC_VERSION;
        return sd_bus_message_append_basic(reply, 's', strempty(v));
}

static int property_get_pending(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        char buf[CIDR4_STRLEN];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0 && m->cell.pending_vpn_address)
                r = sd_bus_message_append(reply, "{sv}", "VpnAddress", "s",
                                          cidr4_format(&m->cell.pending_vpn_address_value, buf));
        if (r >= 0 && m->cell.pending_listen_port)
                r = sd_bus_message_append(reply, "{sv}", "ListenPort", "q", m->cell.pending_listen_port_value);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int property_get_setup_complete(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", m->cell.setup_complete);
}

static int property_get_online(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", m->online);
}

static int property_get_has_admin_password(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply, void *userdata,
                                           sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", m->cell.admin_password_hash != NULL);
}

static int property_get_admin_login_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        char id[PASSWORD_LOGIN_ID_LEN + 1];
        password_login_id(m->cell.admin_password_hash, id);
        return sd_bus_message_append(reply, "s", id);
}

static int property_get_peer_count(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) hashmap_size(m->peers_by_name));
}

static int read_cell_settings(sd_bus_message *message, CellSettings *s, DdnsChange *d, sd_bus_error *error) {
        char why[256];
        bool has_name = false, has_domain = false, has_vpn = false, has_endpoint = false, has_admin_password = false,
             has_setup_code = false;
        const BusDictField fields[] = {
                { "Name", 's', &s->name, &has_name },
                { "Domain", 's', &s->domain, &has_domain },
                { "VpnAddress", 's', &s->vpn_address, &has_vpn },
                { "ListenPort", 'q', &s->listen_port, &s->has_listen_port },
                { "Endpoint", 's', &s->endpoint, &has_endpoint },
                { "AdminPassword", 's', &s->admin_password, &has_admin_password },
                { "SetupCode", 's', &s->setup_code, &has_setup_code },
                { "DnsServers", 'a', &s->dns_servers, &s->has_dns_servers, DNS_SERVERS_MAX,
                  cell_dns_servers_validate },
                { "DdnsProvider", 's', &d->provider, &d->has_provider },
                { "DdnsHostname", 's', &d->hostname, &d->has_hostname },
                { "DdnsToken", 's', &d->token, &d->has_token },
                { "DdnsUsername", 's', &d->username, &d->has_username },
                { "DdnsPassword", 's', &d->password, &d->has_password },
                { "DdnsZoneId", 's', &d->zone_id, &d->has_zone_id },
                { "DdnsRecordId", 's', &d->record_id, &d->has_record_id },
                { "DdnsServer", 's', &d->server, &d->has_server },
                { "DdnsAddressSource", 's', &d->address_source, &d->has_address_source },
        };
        int r = bus_read_dict(message, fields, ELEMENTSOF(fields), error);
        if (r < 0)
                return r;
        if (cell_settings_validate(s, why, sizeof why) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why);
        return 0;
}

static int method_setup(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(cell_settings_done) CellSettings s = {};
        DdnsChange ddns = {};
        int r;

        r = read_cell_settings(message, &s, &ddns, error);
        if (r < 0)
                return r;
        if (!ddns_change_is_empty(&ddns))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Dynamic DNS (the Ddns settings) is set with Configure once the cell is set up.");
        if (!s.name || !s.domain || !s.vpn_address)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Setup needs Name, Domain and VpnAddress (missing: %s%s%s).",
                                         s.name ? "" : "Name ", s.domain ? "" : "Domain ",
                                         s.vpn_address ? "" : "VpnAddress");
        if (m->cell.setup_complete)
                return sd_bus_error_set(error, PIC_ERROR_CONFLICT,
                                        "The cell is already set up; change it with Configure.");
        r = setup_code_bus_check(m, message, s.setup_code, error);
        if (r < 0)
                return r;
        _cleanup_(password_answer_done) PasswordAnswer hashed = {};
        if (s.admin_password) {
                PasswordRequest req = { .make_hash = true, .new_password = s.admin_password };
                r = bus_password_job(m, message, ACTION_CONFIGURE, &req, &hashed, error);
        } else
                r = polkit_verify_async(m->polkit, message, ACTION_CONFIGURE, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        Cell c = {
                .setup_complete = true,
                .name = strdup(s.name),
                .domain = strdup(s.domain),
                .endpoint = isempty(s.endpoint) ? NULL : strdup(s.endpoint),
                .vpn_address = s.vpn,
                .listen_port = s.has_listen_port ? s.listen_port : CELL_DEFAULT_LISTEN_PORT,
        };
        if (!c.name || !c.domain || (!isempty(s.endpoint) && !c.endpoint)) {
                cell_done(&c);
                return -ENOMEM;
        }
        c.admin_password_hash = TAKE_PTR(hashed.hash);
        /* Without DnsServers, the resolvers the host uses now. */
        r = s.has_dns_servers ? 0 : resolv_conf_servers(m->config.resolv_conf, &s.dns_servers);
        if (r < 0)
                log_warning_errno(r, "Failed to read %s, the cell starts without DNS upstreams: %m",
                                  m->config.resolv_conf);
        c.dns_servers = TAKE_PTR(s.dns_servers);
        r = key_generate_private(c.private_key);
        if (r < 0) {
                cell_done(&c);
                return r;
        }
        key_public_from_private(c.public_key, c.private_key);
        key_to_base64(c.public_key, c.public_key_b64);

        /* Device first: a failed device leaves the cell not set up, so Setup
         * can simply be tried again. A wireguard-go that was starting for this call
         * and failed fails it, rather than being started once more. */
        r = manager_wireguard_answer(m, message);
        Cell old = m->cell;
        m->cell = c;
        if (r >= 0 || r == -ENOENT)
                r = manager_reconcile(m);
        if (r >= 0)
                r = cell_firewall_rebuild(m);
        if (r >= 0)
                r = state_save_cell(m->state_fd, &m->cell);
        if (r < 0) {
                m->cell = old;
                cell_done(&c);
                if (r == -EINPROGRESS) /* wireguard-go is starting: run again once it is up */
                        return manager_queue_wireguard_waiter(m, message) < 0 ? -ENOMEM : 1;
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Setup failed: %s.", strerror(-r));
        }
        cell_done(&old);
        log_info("Cell %s.%s set up on %s.", m->cell.name, m->cell.domain, m->config.ifname);
        r = setup_code_forget(m->state_fd, &m->setup_code);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the used setup code: %m");
        cell_bus_emit_changed(m, all_cell_properties);
        dns_cell_changed(m);
        return sd_bus_reply_method_return(message, NULL);
}

static int check_peers_fit(Manager *m, const Cidr4 *to, sd_bus_error *error) {
        char a[CIDR4_STRLEN], b[CIDR4_STRLEN];
        Peer *p = cell_apply_misfit(m, to);

        if (!p)
                return 0;
        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                 "VpnAddress %s cannot hold peer '%s' (%s) at the same host number; "
                                 "choose a larger subnet or move the peer first.",
                                 cidr4_format(to, b), p->name, ipv4_format(p->address, a));
}

/* Stores c and makes it the cell; on failure c is dropped and nothing changes. */
static int commit_cell(Manager *m, Cell *c, sd_bus_error *error) {
        int r = state_save_cell(m->state_fd, c);
        if (r < 0) {
                cell_done(c);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the settings: %s.", strerror(-r));
        }
        cell_done(&m->cell);
        m->cell = *c;
        return 0;
}

static int method_configure(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(cell_settings_done) CellSettings s = {};
        _cleanup_(ddns_config_done) DdnsConfig ddns = {};
        DdnsChange ddns_change = {};
        int r;

        r = read_cell_settings(message, &s, &ddns_change, error);
        if (r < 0)
                return r;
        if (s.admin_password)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "AdminPassword is changed with SetAdminPassword, not Configure.");
        if (s.setup_code)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "SetupCode is for Setup only.");
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        if (s.vpn_address) {
                r = check_peers_fit(m, &s.vpn, error);
                if (r < 0)
                        return r;
        }
        bool ddns_changes = !ddns_change_is_empty(&ddns_change);
        if (ddns_changes) {
                r = ddns_bus_check_change(m, &ddns_change, &ddns, error);
                if (r < 0)
                        return r;
        }
        r = polkit_verify_async(m->polkit, message, ACTION_CONFIGURE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_wait_idle(m, message); /* an Apply is writing files */
        if (r <= 0)
                return r < 0 ? r : 1;
        r = link_check_own_change(m, s.name, s.domain, s.vpn_address ? &s.vpn : NULL, error);
        if (r < 0)
                return r;
        bool moves = (s.domain && !streq(s.domain, m->cell.domain)) ||
                     (s.endpoint && !streq(s.endpoint, strempty(m->cell.endpoint)));
        if (moves && link_push_mark_identity(m) < 0)
                return sd_bus_error_set(error, PIC_ERROR_FAILED,
                                        "Failed to store that linked cells are to be told of the change; nothing "
                                        "was changed.");

        Cell c;
        r = cell_copy(&m->cell, &c);
        if (r < 0)
                return r;
        char *changed[8];
        size_t n = 0;
        if (s.name && !streq(s.name, c.name)) {
                free(c.name);
                c.name = strdup(s.name);
                changed[n++] = "Name";
        }
        if (s.domain && !streq(s.domain, c.domain)) {
                free(c.domain);
                c.domain = strdup(s.domain);
                changed[n++] = "Domain";
        }
        if (s.endpoint && !streq(s.endpoint, strempty(c.endpoint))) {
                free(c.endpoint);
                c.endpoint = isempty(s.endpoint) ? NULL : strdup(s.endpoint);
                changed[n++] = "Endpoint";
        }
        if (s.has_dns_servers && !strv_equal(s.dns_servers, c.dns_servers)) {
                strv_free(c.dns_servers);
                c.dns_servers = TAKE_PTR(s.dns_servers);
                changed[n++] = "DnsServers";
        }
        if (s.vpn_address || s.has_listen_port)
                changed[n++] = "PendingChanges";
        if (s.vpn_address) {
                c.pending_vpn_address = s.vpn.addr != c.vpn_address.addr || s.vpn.prefix != c.vpn_address.prefix;
                c.pending_vpn_address_value = s.vpn;
        }
        if (s.has_listen_port) {
                c.pending_listen_port = s.listen_port != c.listen_port;
                c.pending_listen_port_value = s.listen_port;
        }
        changed[n] = NULL;
        if (!c.name || !c.domain || (!isempty(s.endpoint) && !c.endpoint)) {
                cell_done(&c);
                return -ENOMEM;
        }
        /* ddns.json first: a cell.json that fails to store puts the old one back */
        if (ddns_changes && (r = ddns_config_save(m->state_fd, &ddns)) < 0) {
                cell_done(&c);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the settings: %s.", strerror(-r));
        }
        r = commit_cell(m, &c, error);
        if (r < 0) {
                if (ddns_changes && ddns_config_save(m->state_fd, &m->ddns->config) < 0)
                        log_error("ddns.json holds the refused dynamic DNS settings; they take effect at the next start.");
                return r;
        }
        if (ddns_changes)
                ddns_adopt_config(m, &ddns);
        if (n > 0) {
                cell_bus_emit_changed(m, changed);
                dns_cell_changed(m);
        }
        if (moves)
                link_push_restart(m); /* linked cells follow */
        return sd_bus_reply_method_return(message, NULL);
}

static void on_apply_done(Manager *m, int result, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;

        if (result < 0) {
                (void) sd_bus_reply_method_errorf(message, PIC_ERROR_FAILED,
                                                  "Failed to apply the pending settings (nothing was changed): %s.",
                                                  strerror(-result));
                return;
        }
        Peer *p;
        char *names[] = { "Address", NULL };
        HASHMAP_FOREACH(p, m->peers_by_name)
                peer_bus_emit_changed(p, names);
        char *changed[] = { "VpnAddress", "ListenPort", "PendingChanges", "WireGuardBackend", NULL };
        cell_bus_emit_changed(m, changed);
        dns_cell_changed(m);
        link_push_restart(m); /* linked cells follow */
        (void) sd_bus_reply_method_return(message, NULL);
}

static int method_apply(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        /* Peers added since Configure were placed in the live subnet: check again. */
        if (m->cell.pending_vpn_address) {
                r = check_peers_fit(m, &m->cell.pending_vpn_address_value, error);
                if (r < 0)
                        return r;
        }
        r = cell_bus_authorize_change(m, message, ACTION_CONFIGURE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!m->cell.pending_vpn_address && !m->cell.pending_listen_port)
                return sd_bus_reply_method_return(message, NULL);
        /* a cell linked since Configure may collide */
        if (m->cell.pending_vpn_address) {
                r = link_check_own_change(m, NULL, NULL, &m->cell.pending_vpn_address_value, error);
                if (r < 0)
                        return r;
        }
        if (m->cell.pending_vpn_address && link_push_mark_identity(m) < 0)
                return sd_bus_error_set(error, PIC_ERROR_FAILED,
                                        "Failed to store that linked cells are to be told of the change; nothing "
                                        "was changed.");

        r = cell_apply_start(m, on_apply_done, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to start applying the pending settings: %s.",
                                         strerror(-r));
        }
        return 1; /* replied by on_apply_done */
}

static int method_discard_pending(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_CONFIGURE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_wait_idle(m, message); /* an Apply is writing files */
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!m->cell.pending_vpn_address && !m->cell.pending_listen_port)
                return sd_bus_reply_method_return(message, NULL);

        Cell c;
        r = cell_copy(&m->cell, &c);
        if (r < 0)
                return r;
        c.pending_vpn_address = c.pending_listen_port = false;
        r = commit_cell(m, &c, error);
        if (r < 0)
                return r;
        char *changed[] = { "PendingChanges", NULL };
        cell_bus_emit_changed(m, changed);
        return sd_bus_reply_method_return(message, NULL);
}

static bool address_is_taken(uint32_t addr, void *userdata) {
        Manager *m = userdata;
        return addr == m->cell.vpn_address.addr || hashmap_get(m->peers_by_address, &addr);
}

static int method_add_peer(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(peer_options_done) PeerOptions o = {};
        char a[CIDR4_STRLEN];
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = peer_options_read(message, &o, false, error);
        if (r < 0)
                return r;
        if (!peer_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Peer name must be %s.", PEER_NAME_CHARSET_DOC);
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        if (hashmap_get(m->peers_by_name, name))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "A peer named '%s' already exists.", name);
        if (state_peer_file_exists(m->peers_fd, name))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "peers/%s.json exists but could not be loaded; move it away first.", name);
        r = peer_options_check(m, &o, NULL, error);
        if (r < 0)
                return r;
        if (!o.has_addr) {
                if (manager_allocate_address(m, 0, address_is_taken, m, &o.addr) < 0)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "The cell's subnet %s has no free address left.",
                                                 cidr4_format(&m->cell.vpn_address, a));
                o.has_addr = true;
        }
        r = exit_bus_authorize_peer_exit(m, message, o.has_exit && !isempty(o.exit), error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = cell_bus_authorize_change(m, message, ACTION_MANAGE_PEERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        _cleanup_(peer_freep) Peer *p = NULL;
        r = peer_new(&p, name);
        if (r < 0)
                return r;
        if (!o.has_pub && (r = peer_generate_keys(p)) < 0)
                return r;
        r = peer_options_apply(&o, p);
        if (r < 0)
                return r;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->created_usec = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;

        r = manager_commit_peer(m, NULL, p);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to add peer '%s': %s.", name, strerror(-r));
        Peer *added = TAKE_PTR(p);
        log_info("Added peer %s (%s).", added->name, ipv4_format(added->address, a));
        (void) sd_bus_emit_object_added(m->bus, added->object_path);
        exit_bus_peer_moved(m, NULL, added->exit);
        char *changed[] = { "PeerCount", NULL };
        cell_bus_emit_changed(m, changed);
        return sd_bus_reply_method_return(message, "o", added->object_path);
}

static int method_get_peer_by_name(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        Peer *p = peer_name_is_valid(name) ? hashmap_get(m->peers_by_name, name) : NULL;
        if (!p)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "No peer named '%.*s'.",
                                         utf8_prefix_len(name, 64), name);
        return sd_bus_reply_method_return(message, "o", p->object_path);
}

static int method_set_admin_password(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *old_password, *new_password;
        int r;

        r = sd_bus_message_read(message, "ss", &old_password, &new_password);
        if (r < 0)
                return r;
        if (password_check_quality(new_password) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The new password must be %d-%d characters without control characters.",
                                         PASSWORD_MIN, PASSWORD_MAX);
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        /* Knowing the old password is required once there is one, even for root. */
        _cleanup_(password_answer_done) PasswordAnswer a = {};
        PasswordRequest req = {
                .check = m->cell.admin_password_hash != NULL,
                .check_hash = m->cell.admin_password_hash,
                .check_password = old_password,
                .make_hash = true,
                .new_password = new_password,
        };
        r = bus_password_job(m, message, ACTION_CONFIGURE, &req, &a, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_wait_idle(m, message); /* an Apply is writing files: hashed again when it is done */
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!streq_ptr(a.checked_hash, m->cell.admin_password_hash))
                return sd_bus_error_set(error, PIC_ERROR_CONFLICT,
                                        "The admin password was changed meanwhile; try again.");
        if (m->cell.admin_password_hash && !a.matches)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The old password is wrong.");

        Cell c;
        r = cell_copy(&m->cell, &c);
        if (r < 0)
                return r;
        free(c.admin_password_hash);
        c.admin_password_hash = TAKE_PTR(a.hash);
        r = commit_cell(m, &c, error);
        if (r < 0)
                return r;
        log_info("The admin password was changed.");
        char *changed[] = { "HasAdminPassword", "AdminLoginId", NULL };
        cell_bus_emit_changed(m, changed);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_authenticate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *user, *password;
        int r;

        r = sd_bus_message_read(message, "ss", &user, &password);
        if (r < 0)
                return r;
        if (strlen(user) > 64 || strlen(password) > PASSWORD_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Wrong user name or password.");
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;

        bool admin = streq(user, "admin");
        Peer *p = !admin && peer_name_is_valid(user) ? hashmap_get(m->peers_by_name, user) : NULL;
        const char *hash = admin ? m->cell.admin_password_hash : p ? p->login_password_hash : NULL;
        /* Unknown users cost a check too (a NULL hash), so timing tells nothing. */
        _cleanup_(password_answer_done) PasswordAnswer a = {};
        PasswordRequest req = { .check = true, .check_hash = hash, .check_password = password };
        r = bus_password_job(m, message, ACTION_AUTHENTICATE, &req, &a, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        /* the user looked up again after the check: checked against what it holds now */
        if (!a.matches || !streq_ptr(a.checked_hash, hash) || (!admin && (!p || !p->enabled)))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Wrong user name or password.");
        /* the grant: what a session made from this login remembers of it (AdminLoginId, LoginId) */
        char grant[PASSWORD_LOGIN_ID_LEN + 1];
        password_login_id(hash, grant);
        if (admin)
                return sd_bus_reply_method_return(message, "sss", "admin", "", grant);
        return sd_bus_reply_method_return(message, "sss", "peer", p->name, grant);
}

static int method_get_firewall(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(freep) char *text = NULL;

        int r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_READ_FIREWALL, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = cell_firewall_dump(m, &text);
        if (r == -ENOENT)
                return sd_bus_error_set(error, PIC_ERROR_FAILED, "The firewall table inet pic does not exist right now.");
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to read the firewall: %s.", strerror(-r));
        return sd_bus_reply_method_return(message, "s", text);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SetupComplete", "b", property_get_setup_complete, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Online", "b", property_get_online, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Name", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Domain", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VpnAddress", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ListenPort", "q", NULL, offsetof(Manager, cell.listen_port), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PublicKey", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InterfaceName", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WireGuardBackend", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PendingChanges", "a{sv}", property_get_pending, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PeerCount", "u", property_get_peer_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Uplink", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasAdminPassword", "b", property_get_has_admin_password, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AdminLoginId", "s", property_get_admin_login_id, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DnsState", "s", dns_bus_property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DnsServers", "as", dns_bus_property_get_servers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DnsForwards", "a(ss)", dns_bus_property_get_forwards, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsState", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsAddress", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsLastUpdate", "t", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsLastError", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsProvider", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsHostname", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsAddressSource", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsServer", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsZoneId", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DdnsRecordId", "s", ddns_bus_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Setup", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_setup,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Configure", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_configure,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE), /* DdnsToken, DdnsPassword */
        SD_BUS_METHOD_WITH_ARGS("Apply", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_apply, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DiscardPending", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_discard_pending,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddPeer", SD_BUS_ARGS("s", name, "a{sv}", options), SD_BUS_RESULT("o", peer),
                                method_add_peer, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetAdminPassword", SD_BUS_ARGS("s", old_password, "s", new_password), SD_BUS_NO_RESULT,
                                method_set_admin_password, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Authenticate", SD_BUS_ARGS("s", username, "s", password),
                                SD_BUS_RESULT("s", role, "s", peer, "s", grant), method_authenticate,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("AddPeers", SD_BUS_ARGS("aa{sv}", peers), SD_BUS_RESULT("ao", paths), method_add_peers,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetFirewall", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", ruleset), method_get_firewall,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDnsRecords", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ss)", records),
                                dns_bus_method_list_records, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddExit", SD_BUS_ARGS("s", name, "s", type, "a{sv}", settings), SD_BUS_RESULT("o", exit),
                                method_add_exit, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("GetPeerByName", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", peer),
                                method_get_peer_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int cell_bus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, "org.pic.Cell1.Manager", manager_vtable, m);
}
