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

#define UNIT_RUN_DIR "/run/wireguard" /* where the unit sees the exits' run directory (exit-unit.c) */
#define TORRC_MAX 1024

static int write_torrc(Manager *m, const Exit *e) {
        char text[TORRC_MAX], addr[CIDR4_STRLEN], name[IFNAMSIZ + 8];

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
        int dir = open(m->config.wireguard_run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        snprintf(name, sizeof name, "%s.torrc", e->ifname);
        int r = write_file_atomic(dir, name, text, strlen(text), 0600);
        close(dir);
        return r;
}

static void prepare(Manager *m, Exit *e) {
        e->kernel = false;
}

static int unit_command(Manager *m, const Exit *e, char ***ret_argv) {
        char torrc[64];

        int r = write_torrc(m, e);
        if (r < 0)
                return r;
        snprintf(torrc, sizeof torrc, UNIT_RUN_DIR "/%s.torrc", e->ifname);
        char *argv[] = { (char *) "/usr/bin/tor", (char *) "-f", torrc, NULL };
        *ret_argv = strv_copy(argv);
        return *ret_argv ? 0 : -ENOMEM;
}

/* Whether something listens on the cell's VPN address at port (type): binding there is refused then. */
static bool listens(uint32_t address, uint16_t port, int type) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address) };
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        bool taken = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno == EADDRINUSE;
        close(fd);
        return taken;
}

static bool read_status(Manager *m, Exit *e) {
        uint32_t addr = m->cell.vpn_address.addr;
        e->tunnel_connected = listens(addr, exit_tcp_port(e), SOCK_STREAM) && listens(addr, exit_dns_port(e), SOCK_DGRAM);
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
