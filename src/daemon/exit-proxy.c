/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver of exits of type "proxy": a unit whose main process is
 * pic-exit-proxy (src/exit), which relays its peers' DNS through the proxy
 * on the exit's DNS port and runs redsocks for their TCP on its TCP port
 * (where the firewall redirects them: firewall.h). pic-exit-proxy probes the
 * proxy and says whether it serves (exit-helper.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exit-helper.h"
#include "exit-run.h"
#include "fileio.h"
#include "log.h"
#include "names.h"
#include "strv.h"

#define REDSOCKS "/usr/sbin/redsocks"
#define REDSOCKS_CONF_MAX 2048
#define SUFFIX_CONF ".redsocks"
#define SUFFIX_URL ".proxy"
#define SUFFIX_RESOLVERS ".resolvers"

/* redsocks' configuration: it listens on the exit's TCP port and takes each
 * connection's destination from conntrack (the firewall's redirect). */
static int write_redsocks_conf(Manager *m, const Exit *e) {
        char text[REDSOCKS_CONF_MAX], addr[CIDR4_STRLEN], proxy[CIDR4_STRLEN], credentials[2 * PROXY_CREDENTIAL_MAX + 64] = "";
        ProxyUrl u;
        char why[256];

        int r = proxy_url_parse(e->proxy_text, &u, why, sizeof why);
        if (r < 0)
                return r;
        if (u.has_credentials) /* proxy-url.h: no '"' or '\' in them, so quoting them is safe */
                snprintf(credentials, sizeof credentials, "        login = \"%s\";\n        password = \"%s\";\n", u.user,
                         u.password);
        snprintf(text, sizeof text,
                 "// pic-celld's, for exit %s: rewritten at each start\n"
                 "base {\n"
                 "        log_debug = off;\n"
                 "        log_info = on;\n"
                 "        log = \"stderr\";\n"
                 "        daemon = off;\n"
                 "        redirector = iptables;\n"
                 "}\n"
                 "redsocks {\n"
                 "        local_ip = %s;\n"
                 "        local_port = %u;\n"
                 "        ip = %s;\n"
                 "        port = %u;\n"
                 "        type = %s;\n"
                 "%s"
                 "}\n",
                 e->name, ipv4_format(m->cell.vpn_address.addr, addr), exit_tcp_port(e),
                 ipv4_format(u.address, proxy), u.port, u.kind == PROXY_HTTP ? "http-connect" : "socks5", credentials);
        r = exit_run_write_file(m, e, SUFFIX_CONF, text);
        explicit_bzero(credentials, sizeof credentials);
        explicit_bzero(text, sizeof text);
        proxy_url_wipe(&u);
        return r;
}

static void prepare(Manager *m, Exit *e) {
        e->kernel = false;
}

/* Everything the unit reads at start: its command line stays the same, so a restart takes new settings. */
static int write_files(Manager *m, const Exit *e) {
        char url[PROXY_URL_MAX + 2], resolvers[EXIT_RESOLVERS_MAX * (CIDR4_STRLEN + 1) + 1] = "";

        for (char **s = e->resolvers; s && *s; s++)
                snprintf(resolvers + strlen(resolvers), sizeof resolvers - strlen(resolvers), "%s\n", *s);
        snprintf(url, sizeof url, "%s\n", e->proxy_text); /* exit_set_proxy bounded it */
        int r = write_redsocks_conf(m, e);
        if (r >= 0)
                r = exit_run_write_file(m, e, SUFFIX_URL, url);
        explicit_bzero(url, sizeof url);
        if (r >= 0)
                r = exit_run_write_file(m, e, SUFFIX_RESOLVERS, resolvers);
        return r;
}

static int unit_command(Manager *m, const Exit *e, char ***ret_argv) {
        _cleanup_(strv_freep) char **argv = NULL;
        char url_file[64], conf_file[64], resolvers_file[64];

        int r = write_files(m, e);
        if (r < 0)
                return r;
        snprintf(url_file, sizeof url_file, EXIT_UNIT_RUN_DIR "/%s" SUFFIX_URL, e->ifname);
        snprintf(conf_file, sizeof conf_file, EXIT_UNIT_RUN_DIR "/%s" SUFFIX_CONF, e->ifname);
        snprintf(resolvers_file, sizeof resolvers_file, EXIT_UNIT_RUN_DIR "/%s" SUFFIX_RESOLVERS, e->ifname);
        r = exit_helper_argv(m, e, &argv);
        if (r >= 0)
                r = strv_extend_many(&argv, "--proxy-file", url_file, "--resolvers-file", resolvers_file, "--",
                                     REDSOCKS, "-c", conf_file, NULL);
        if (r < 0)
                return r;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

static bool read_status(Manager *m, Exit *e) {
        return exit_helper_read_status(m, e, "The proxy does not serve");
}

static int configure(Manager *m, Exit *e, int ifindex) {
        return -EOPNOTSUPP; /* no interface: not called */
}

/* Its URL may hold credentials: not left behind in /run. */
static void stopped(Manager *m, Exit *e) {
        exit_run_remove_file(m, e, SUFFIX_URL);
        exit_run_remove_file(m, e, SUFFIX_CONF);
        exit_run_remove_file(m, e, SUFFIX_RESOLVERS);
        exit_helper_forget_status(m, e);
}

/* The program reads its settings at start. */
static int reconfigure(Manager *m, Exit *e) {
        int r = write_files(m, e);
        if (r < 0)
                return r;
        exit_helper_forget_status(m, e);
        return exit_run_restart_unit(m, e);
}

const ExitDriver exit_proxy_driver = {
        .prepare = prepare,
        .unit_command = unit_command,
        .configure = configure,
        .read_status = read_status,
        .stopped = stopped,
        .reconfigure = reconfigure,
        .no_interface = true,
};
