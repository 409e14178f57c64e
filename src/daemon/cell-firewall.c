/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include "bus-dict.h"
#include "cell-firewall.h"
#include "desired.h"
#include "exit-steer.h"
#include "failure-injection.h"
#include "fileio.h"
#include "json-util.h"
#include "link.h"
#include "log.h"

/* Tests prove that a refused batch changes nothing by making the next one fail. */
static void maybe_inject_failure(Manager *m, Firewall *f) {
        if ((m->config.test_firewall_failure_file && access(m->config.test_firewall_failure_file, F_OK) >= 0) ||
            failure_injected(m, "firewall"))
                firewall_test_inject_failure(f, true);
}

static int new_firewall(Manager *m, Firewall **ret) {
        size_t n_links = 0, n_exits = 0;
        _cleanup_(freep) FirewallLink *links = calloc(MAX(hashmap_size(m->links_by_name), (size_t) 1), sizeof *links);
        _cleanup_(freep) FirewallExit *exits = NULL;
        Link *l;

        if (!links)
                return -ENOMEM;
        int r = exit_steer_firewall_exits(m, &exits, &n_exits);
        if (r < 0)
                return r;
        HASHMAP_FOREACH(l, m->links_by_name) /* borrowed: firewall_new copies them */
                links[n_links++] = (FirewallLink) { .subnet = l->subnet, .services = l->shared };
        FirewallConfig c = {
                .wg_ifname = m->config.ifname,
                .uplink_ifname = m->uplink,
                .vpn_subnet = { cidr4_network(&m->cell.vpn_address), m->cell.vpn_address.prefix },
                .vpn_address = m->cell.vpn_address.addr,
                .services = m->services,
                .n_services = m->n_services,
                .lan_networks = m->config.has_lan_networks ? m->config.lan_networks : NULL,
                .n_lan_networks = m->config.n_lan_networks,
                .links = links,
                .n_links = n_links,
                .exits = exits,
                .n_exits = n_exits,
        };
        return firewall_new(ret, &c);
}

static FirewallPeer peer_firewall_entry(Manager *m, const Peer *p) {
        FirewallPeer f = { .address = p->address, .services = p->service_access, .networks = p->network_access };
        exit_steer_peer_entry(m, p->exit, &f);
        return f;
}

int peer_firewall_contribute(Manager *m, FirewallPeerList *l) {
        Peer *p;
        int r;

        HASHMAP_FOREACH(p, m->peers_by_name)
                if ((r = firewall_peer_list_push(l, peer_firewall_entry(m, p))) < 0)
                        return r;
        return 0;
}

int cell_firewall_rebuild(Manager *m) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(firewall_peer_list_done) FirewallPeerList peers = {};
        int r;

        if (!m->cell.setup_complete)
                return 0;
        r = new_firewall(m, &f);
        if (r < 0)
                return log_error_errno(r, "Invalid firewall settings: %m");
        r = desired_firewall(m, &peers);
        if (r < 0)
                return r;
        maybe_inject_failure(m, f);
        r = firewall_apply(f, peers.items, peers.n);
        if (r < 0) {
                m->firewall_stale = true; /* retried on the next change and by the statistics timer */
                return log_error_errno(r, "Failed to build the firewall table: %m");
        }
        m->firewall_stale = false;
        firewall_free(m->firewall);
        m->firewall = TAKE_PTR(f);
        log_info("Firewall table inet pic carries %zu peers (uplink %s).", peers.n, isempty(m->uplink) ? "none" : m->uplink);
        return 0;
}

int cell_firewall_peer_change(Manager *m, const Peer *old, const Peer *new) {
        if (old && new && old->address == new->address && strv_equal(old->service_access, new->service_access) &&
            strv_equal(old->network_access, new->network_access) && streq(old->exit, new->exit))
                return 0; /* nothing the firewall knows changed */
        if (!m->firewall || m->firewall_stale) {
                /* Not built yet or refused earlier: rebuild from the model (which does not
                 * hold this change yet), then apply the change. */
                int r = cell_firewall_rebuild(m);
                if (r < 0)
                        return r;
        }
        maybe_inject_failure(m, m->firewall);
        /* An added peer has no old elements, a removed one no new ones; one batch either way. */
        FirewallPeer before = old ? peer_firewall_entry(m, old) : (FirewallPeer) {},
                     after = new ? peer_firewall_entry(m, new) : (FirewallPeer) {};
        return firewall_change_peer(m->firewall, old ? &before : NULL, new ? &after : NULL);
}

int cell_firewall_add_peers(Manager *m, Peer *const *peers, size_t n) {
        _cleanup_(freep) FirewallPeer *entries = calloc(n + 1, sizeof(FirewallPeer));
        int r;

        if (!entries)
                return -ENOMEM;
        if (!m->firewall || m->firewall_stale) {
                r = cell_firewall_rebuild(m); /* from the model, which does not hold them yet */
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++)
                entries[i] = peer_firewall_entry(m, peers[i]);
        maybe_inject_failure(m, m->firewall);
        return firewall_add_peers(m->firewall, entries, n);
}

static int on_firewall_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        bool gone = false;

        int r = firewall_monitor_process(fd, &gone);
        if (r < 0)
                log_warning_errno(r, "Failed to read nftables events: %m");
        if (gone && m->cell.setup_complete) {
                log_warning("Somebody removed table inet pic; building it again.");
                (void) cell_firewall_rebuild(m);
        }
        return 0;
}

int cell_firewall_watch(Manager *m) {
        int fd, r;

        r = firewall_open_monitor(&fd);
        if (r < 0)
                return log_error_errno(r, "Failed to watch nftables: %m");
        r = sd_event_add_io(m->event, &m->firewall_monitor, fd, EPOLLIN, on_firewall_event, m);
        if (r < 0) {
                close(fd);
                return r;
        }
        return sd_event_source_set_io_fd_own(m->firewall_monitor, true);
}

int cell_firewall_dump(Manager *m, char **ret) {
        if (!m->firewall)
                return -ENOENT;
        return firewall_dump(m->firewall, ret);
}

static int parse_port(const char *s, FirewallPort *ret) {
        uint8_t proto = strncmp(s, "tcp/", 4) == 0 ? IPPROTO_TCP : strncmp(s, "udp/", 4) == 0 ? IPPROTO_UDP : 0;
        char *end;
        unsigned long port = proto ? strtoul(s + 4, &end, 10) : 0;
        if (!proto || !s[4] || *end || port == 0 || port > 65535)
                return -EINVAL;
        *ret = (FirewallPort) { .protocol = proto, .port = (uint16_t) port };
        return 0;
}

int cell_firewall_load_services(Manager *m, const char *path) {
        _cleanup_(freep) char *text = NULL;
        _cleanup_(cjson_deletep) cJSON *o = NULL;
        const cJSON *entry;
        int r;

        r = read_file_at(AT_FDCWD, path, 1024 * 1024, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        o = cJSON_Parse(text);
        if (!cJSON_IsObject(o))
                return log_error_errno(-EINVAL, "%s: not a JSON object of services.", path);

        size_t n = (size_t) cJSON_GetArraySize(o);
        FirewallService *services = calloc(n + 1, sizeof(FirewallService));
        char **names = calloc(n + 1, sizeof(char *));
        if (!services || !names) {
                free(services);
                free(names);
                return -ENOMEM;
        }
        m->services = services;
        m->service_names = names;
        m->n_services = 0;
        cJSON_ArrayForEach(entry, o) {
                FirewallService *s = &services[m->n_services];
                const cJSON *address = cJSON_GetObjectItemCaseSensitive(entry, "address");
                const cJSON *ports = cJSON_GetObjectItemCaseSensitive(entry, "ports"), *port;

                if (!firewall_service_known(entry->string))
                        return log_error_errno(-EINVAL, "%s: unknown service '%s'.", path, entry->string);
                if (!(names[m->n_services] = strdup(entry->string)))
                        return -ENOMEM;
                s->name = names[m->n_services];
                if (cJSON_IsString(address) && ipv4_parse(address->valuestring, &s->address) < 0)
                        return log_error_errno(-EINVAL, "%s: %s: bad address '%s'.", path, s->name, address->valuestring);
                if (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) == 0 ||
                    cJSON_GetArraySize(ports) > FIREWALL_SERVICE_PORTS_MAX)
                        return log_error_errno(-EINVAL, "%s: %s: \"ports\" must list 1-%d of \"tcp/N\" or \"udp/N\".",
                                               path, s->name, FIREWALL_SERVICE_PORTS_MAX);
                cJSON_ArrayForEach(port, ports)
                        if (!cJSON_IsString(port) || parse_port(port->valuestring, &s->ports[s->n_ports++]) < 0)
                                return log_error_errno(-EINVAL, "%s: %s: ports must be \"tcp/N\" or \"udp/N\".",
                                                       path, s->name);
                m->n_services++;
        }
        return 0;
}
