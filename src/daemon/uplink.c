/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <linux/rtnetlink.h>

#include "cell-bus.h"
#include "cell-firewall.h"
#include "ddns-update.h"
#include "log.h"
#include "netlink/rtnl-monitor.h"
#include "netlink/rtnl-route.h"
#include "uplink.h"

/* The interface of the main table's default route, "" when there is none. */
static void default_route_interface(char ifname[static IF_NAMESIZE]) {
        _cleanup_(freep) RtnlRoute *routes = NULL;
        size_t n = 0;

        ifname[0] = 0;
        /* the main table only: an exit's table has a default route too (exit-steer.h) */
        if (rtnl_route_list(AF_INET, RT_TABLE_MAIN, &routes, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (routes[i].dst_prefixlen == 0 && routes[i].oif > 0 &&
                    if_indextoname((unsigned) routes[i].oif, ifname))
                        return;
        ifname[0] = 0;
}

static int on_route_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        char now[IF_NAMESIZE];

        int r = rtnl_monitor_drain(fd);
        if (r < 0)
                log_warning_errno(r, "Failed to read route events: %m");
        if (r <= 0)
                return 0;
        default_route_interface(now);
        if (streq(now, m->uplink))
                return 0;
        log_info("The uplink is now %s (was %s).", now[0] ? now : "none", m->uplink[0] ? m->uplink : "none");
        snprintf(m->uplink, sizeof m->uplink, "%s", now);
        char *changed[] = { "Uplink", NULL };
        cell_bus_emit_changed(m, changed);
        if (m->cell.setup_complete)
                (void) cell_firewall_rebuild(m); /* the masquerade names the uplink */
        ddns_uplink_changed(m); /* the public address may have moved with it */
        return 0;
}

int uplink_follow(Manager *m) {
        int fd, r;

        if (m->config.uplink) {
                snprintf(m->uplink, sizeof m->uplink, "%s", m->config.uplink);
                return 0;
        }
        /* Subscribe first, then read: a change in between is not missed. */
        r = rtnl_monitor_open(&fd);
        if (r < 0)
                return log_error_errno(r, "Failed to watch routes: %m");
        r = sd_event_add_io(m->event, &m->route_monitor, fd, EPOLLIN, on_route_event, m);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = sd_event_source_set_io_fd_own(m->route_monitor, true);
        if (r < 0)
                return r;
        default_route_interface(m->uplink);
        return 0;
}
