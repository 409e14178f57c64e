/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver of exits of type "tor": tor in a unit, a client only, with a
 * TransPort and a DNSPort on the cell's VPN address (where the firewall
 * redirects its peers' TCP and DNS: firewall.h) and nothing else; it is up
 * while both listen. tor builds its circuits itself: what reaches its ports
 * leaves through tor or not at all. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exit-run.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"

#define TORRC_MAX 1024

static int write_torrc(Manager *m, const Exit *e) {
        char text[TORRC_MAX], addr[CIDR4_STRLEN];

        ipv4_format(m->cell.vpn_address.addr, addr);
        snprintf(text, sizeof text,
                 "# pic-celld's, for exit %s: rewritten at each start\n"
                 "SocksPort 0\n"
                 "TransPort %s:%u\n"
                 "DNSPort %s:%u\n"
                 "ClientOnly 1\n"
                 "DataDirectory /tmp/tor\n"  /* the unit's own /tmp (PrivateTmp=) */
                 "AvoidDiskWrites 1\n"
                 "Log notice stderr\n",
                 e->name, addr, exit_tcp_port(e), addr, exit_dns_port(e));
        return exit_run_write_file(m, e, ".torrc", text);
}

static void prepare(Manager *m, Exit *e) {
        e->kernel = false;
}

static int unit_command(Manager *m, const Exit *e, char ***ret_argv) {
        char torrc[64];

        int r = write_torrc(m, e);
        if (r < 0)
                return r;
        snprintf(torrc, sizeof torrc, EXIT_UNIT_RUN_DIR "/%s.torrc", e->ifname);
        char *argv[] = { (char *) "/usr/bin/tor", (char *) "-f", torrc, NULL };
        *ret_argv = strv_copy(argv);
        return *ret_argv ? 0 : -ENOMEM;
}

static bool read_status(Manager *m, Exit *e) {
        e->tunnel_connected = exit_run_local_ports_listen(m, e);
        return e->tunnel_connected;
}

static int configure(Manager *m, Exit *e, int ifindex) {
        return -EOPNOTSUPP; /* no interface: not called */
}

const ExitDriver exit_tor_driver = {
        .prepare = prepare,
        .unit_command = unit_command,
        .configure = configure,
        .read_status = read_status,
        .no_interface = true,
};
