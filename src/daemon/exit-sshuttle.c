/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver of exits of type "sshuttle": sshuttle to an SSH server, its
 * transparent TCP port on the exit's TCP port (where the firewall redirects
 * its peers' TCP), run by pic-exit-proxy, which relays the peers' DNS from
 * the exit's DNS port to sshuttle's own DNS port (wherever sshuttle bound it)
 * and says in a status file whether an answer comes back through the tunnel.
 *
 * sshuttle installs nftables rules of its own in the namespace it runs in;
 * given only a documentation address (RFC 5737) to capture, they catch
 * nothing of anyone's: the cell's firewall does the steering. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit-helper.h"
#include "exit-run.h"
#include "log.h"
#include "strv.h"

#define SSHUTTLE "/usr/bin/sshuttle"
#define CAPTURE_NOTHING "192.0.2.1" /* TEST-NET-1: sshuttle's own rules match only this */
#define SUFFIX_KEY ".ssh-key"
#define SUFFIX_KNOWN_HOSTS ".known-hosts"

static int write_files(Manager *m, const Exit *e) {
        char line[SSH_HOST_KEY_MAX + 64], addr[CIDR4_STRLEN];

        ipv4_format(e->ssh_target.address, addr);
        if (e->ssh_target.port == 22)
                snprintf(line, sizeof line, "%s %s\n", addr, e->host_key);
        else
                snprintf(line, sizeof line, "[%s]:%u %s\n", addr, e->ssh_target.port, e->host_key);
        /* ssh will not load a key whose last line lacks its newline (as pasted, often) */
        size_t len = strlen(e->ssh_key_text);
        _cleanup_(erase_and_freep) char *key = malloc(len + 2);
        if (!key)
                return -ENOMEM;
        memcpy(key, e->ssh_key_text, len + 1);
        if (len > 0 && key[len - 1] != '\n')
                memcpy(key + len, "\n", 2);
        int r = exit_run_write_file(m, e, SUFFIX_KEY, key);
        if (r >= 0)
                r = exit_run_write_file(m, e, SUFFIX_KNOWN_HOSTS, line);
        return r;
}

static void prepare(Manager *m, Exit *e) {
        e->kernel = false;
}

static int unit_command(Manager *m, const Exit *e, char ***ret_argv) {
        _cleanup_(strv_freep) char **argv = NULL;
        char vpn[CIDR4_STRLEN], listen[CIDR4_STRLEN + 8], remote[SSH_USER_MAX + CIDR4_STRLEN + 8], ssh[512],
                to_ns[CIDR4_STRLEN + 8];

        int r = write_files(m, e);
        if (r < 0)
                return r;
        ipv4_format(m->cell.vpn_address.addr, vpn);
        snprintf(listen, sizeof listen, "%s:%u", vpn, exit_tcp_port(e));
        snprintf(remote, sizeof remote, "%s@", e->ssh_target.user);
        ipv4_format(e->ssh_target.address, remote + strlen(remote));
        snprintf(remote + strlen(remote), sizeof remote - strlen(remote), ":%u", e->ssh_target.port);
        /* sshuttle splits this into words itself (no shell): no word here has a space */
        snprintf(ssh, sizeof ssh,
                 "ssh -F /dev/null -i " EXIT_UNIT_RUN_DIR "/%s" SUFFIX_KEY
                 " -o UserKnownHostsFile=" EXIT_UNIT_RUN_DIR "/%s" SUFFIX_KNOWN_HOSTS
                 " -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes"
                 " -o IdentitiesOnly=yes -o ServerAliveInterval=10 -o ServerAliveCountMax=3 -o ConnectTimeout=10",
                 e->ifname, e->ifname);

        r = exit_helper_argv(m, e, &argv);
        if (r >= 0)
                r = strv_extend_many(&argv, "--dns-from-child", vpn, "--free-port", listen, "--", SSHUTTLE, "--method", "nft", "--listen",
                                     listen, "--ns-hosts", CAPTURE_NOTHING, "--disable-ipv6", "-e", ssh, "-r",
                                     remote, NULL);
        if (r >= 0 && e->resolvers) {
                snprintf(to_ns, sizeof to_ns, "%s:53", e->resolvers[0]);
                r = strv_extend_many(&argv, "--to-ns", to_ns, NULL);
        }
        if (r >= 0)
                r = strv_extend(&argv, CAPTURE_NOTHING "/32");
        if (r < 0)
                return r;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

static bool read_status(Manager *m, Exit *e) {
        return exit_helper_read_status(m, e, "The tunnel does not serve");
}

static int configure(Manager *m, Exit *e, int ifindex) {
        return -EOPNOTSUPP; /* no interface: not called */
}

/* Its key is not left behind in /run. */
static void stopped(Manager *m, Exit *e) {
        exit_run_remove_file(m, e, SUFFIX_KEY);
        exit_run_remove_file(m, e, SUFFIX_KNOWN_HOSTS);
        exit_helper_forget_status(m, e);
}

/* sshuttle reads its settings at start. */
static int reconfigure(Manager *m, Exit *e) {
        int r = write_files(m, e);
        if (r < 0)
                return r;
        exit_helper_forget_status(m, e);
        return exit_run_restart_unit(m, e);
}

const ExitDriver exit_sshuttle_driver = {
        .prepare = prepare,
        .unit_command = unit_command,
        .configure = configure,
        .read_status = read_status,
        .stopped = stopped,
        .reconfigure = reconfigure,
        .no_interface = true,
};
