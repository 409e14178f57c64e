/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <linux/fib_rules.h>

#include "cell-firewall.h"
#include "exit-steer.h"
#include "log.h"
#include "netlink/rtnl-route.h"
#include "netlink/rtnl-rule.h"

uint32_t exit_mark(const Exit *e) {
        return FIREWALL_EXIT_MARK_BASE | e->number;
}

uint32_t exit_table(const Exit *e) {
        return EXIT_TABLE_BASE + e->number;
}

int exit_steer_sync_rules(Manager *m) {
        RtnlRule want[EXIT_NUMBER_MAX + 1];
        size_t n = 0;
        Exit *e;

        HASHMAP_FOREACH(e, m->exits_by_name)
                want[n++] = (RtnlRule) {
                        .family = AF_INET,
                        .priority = EXIT_RULE_PRIORITY_BASE + e->number,
                        .table = exit_table(e),
                        .has_fwmark = true,
                        .fwmark = exit_mark(e),
                        .protocol = RTNL_PROTO_PIC,
                };
        /* Kept with no exit too: a peer may name one that is gone, and its mark still must not leak. */
        want[n++] = (RtnlRule) {
                .family = AF_INET,
                .priority = EXIT_RULE_PRIORITY_LAST,
                .has_fwmark = true,
                .fwmark = FIREWALL_EXIT_MARK_BASE,
                .fwmask = FIREWALL_EXIT_MARK_MASK,
                .action = FR_ACT_UNREACHABLE,
                .protocol = RTNL_PROTO_PIC,
        };
        int r = rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, want, n);
        if (r < 0)
                return log_error_errno(r, "Failed to set the exits' policy routing rules: %m");
        return 0;
}

int exit_steer_route(const Exit *e, int ifindex) {
        RtnlRoute route = {
                .family = AF_INET,
                .oif = ifindex,
        };
        int r = rtnl_route_sync(AF_INET, exit_table(e), RTNL_PROTO_PIC, &route, ifindex > 0 ? 1 : 0);
        if (r < 0)
                return log_warning_errno(r, "Failed to route exit %s's table %u through %s: %m", e->name,
                                         exit_table(e), e->ifname);
        return 0;
}

int exit_steer_firewall_exits(Manager *m, FirewallExit **ret, size_t *ret_n) {
        size_t n = 0;
        FirewallExit *l = calloc(hashmap_size(m->exits_by_name) + 1, sizeof *l);
        Exit *e;

        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH(e, m->exits_by_name) {
                FirewallExit *f = &l[n++];
                f->mark = exit_mark(e);
                f->tcp_port = exit_tcp_port(e);
                f->dns_port = exit_dns_port(e);
                if (!f->tcp_port) /* a TCP-only exit has no interface */
                        snprintf(f->ifname, sizeof f->ifname, "%s", e->ifname);
                f->up = e->open;
                /* a TCP-only exit resolves at its DNS port: its own resolvers are its program's business */
                f->n_dns = f->tcp_port ? 0 : exit_dns_servers(e, f->dns, FIREWALL_EXIT_DNS_MAX);
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

void exit_steer_peer_entry(Manager *m, const char *exit_name, FirewallPeer *ret) {
        uint32_t dns[1];

        ret->exit_mark = ret->exit_dns = ret->exit_tcp_port = ret->exit_dns_port = 0;
        if (isempty(exit_name))
                return;
        Exit *e = hashmap_get(m->exits_by_name, exit_name);
        if (!e) {
                ret->exit_mark = FIREWALL_EXIT_MARK_BASE; /* fails closed */
                return;
        }
        ret->exit_mark = exit_mark(e);
        ret->exit_tcp_port = exit_tcp_port(e);
        ret->exit_dns_port = exit_dns_port(e);
        if (!ret->exit_tcp_port && exit_dns_servers(e, dns, 1) == 1)
                ret->exit_dns = dns[0];
}

int exit_steer_set_open(Manager *m, Exit *e, bool open) {
        int r = -ENOENT;

        if (e->open == open)
                return 0;
        e->open = open;
        if (m->firewall && !m->firewall_stale)
                r = firewall_set_exit_up(m->firewall, exit_mark(e), open);
        if (r < 0)
                r = cell_firewall_rebuild(m); /* built without this exit yet, or refused: from the model */
        if (r < 0)
                log_warning_errno(r, "Failed to %s exit %s in the firewall: %m", open ? "open" : "close", e->name);
        else
                log_info("Exit %s is %s: its peers' traffic %s.", e->name, open ? "up" : "not up",
                         open ? "leaves through it" : "is dropped (kill-switch)");
        return r;
}
