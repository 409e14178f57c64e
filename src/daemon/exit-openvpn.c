/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver of exits of type "openvpn": OpenVPN in a unit, with the file as
 * read strictly (src/exit/ovpn.h) written where the unit finds it, its own
 * tun device and --route-noexec (routing is pic-celld's), no scripts, and a
 * management socket pic-celld reads: CONNECTED is up; traffic and the
 * address the server assigned come from there too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "exit-bus.h"
#include "exit-run.h"
#include "exit-steer.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"

#define UNIT_RUN_DIR "/run/wireguard" /* where the unit sees the exits' run directory (exit-unit.c) */

static void file_name(const Exit *e, const char *suffix, char *buf, size_t size) {
        snprintf(buf, size, "%s%s", e->ifname, suffix);
}

static int open_run_dir(Manager *m) {
        int fd = open(m->config.wireguard_run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int write_config(Manager *m, const Exit *e) {
        char name[IFNAMSIZ + 8];
        int dir = open_run_dir(m);
        if (dir < 0)
                return dir;
        file_name(e, ".ovpn", name, sizeof name);
        int r = write_file_atomic(dir, name, e->ovpn.text, strlen(e->ovpn.text), 0600);
        close(dir);
        return r;
}

static void prepare(Manager *m, Exit *e) {
        e->kernel = false; /* OpenVPN's own device, in its unit */
}

static int unit_command(Manager *m, const Exit *e, char ***ret_argv) {
        char config[64], mgmt[64];

        int r = write_config(m, e);
        if (r < 0)
                return r;
        snprintf(config, sizeof config, UNIT_RUN_DIR "/%s.ovpn", e->ifname);
        snprintf(mgmt, sizeof mgmt, UNIT_RUN_DIR "/%s.mgmt", e->ifname);
        char *argv[] = { (char *) "/usr/sbin/openvpn", (char *) "--config", config, (char *) "--dev", (char *) e->ifname,
                         (char *) "--dev-type", (char *) "tun", (char *) "--route-noexec",
                         (char *) "--script-security", (char *) "1", (char *) "--management", mgmt, (char *) "unix",
                         NULL };
        *ret_argv = strv_copy(argv);
        return *ret_argv ? 0 : -ENOMEM;
}

static void mgmt_close(Exit *e) {
        e->mgmt_source = sd_event_source_disable_unref(e->mgmt_source);
        if (e->mgmt_fd >= 0)
                close(e->mgmt_fd);
        e->mgmt_fd = -1;
        e->mgmt_len = 0;
        e->tunnel_connected = false;
}

static void take_line(Manager *m, Exit *e, const char *line) {
        OvpnStatus before = e->ovpn_status;
        const char *names[5];
        size_t k = 0;

        int r = ovpn_mgmt_line(line, &e->ovpn_status);
        if (r < 0)
                log_debug("Exit %s: OpenVPN said something unreadable: %.80s", e->name, line);
        if (r <= 0)
                return;
        e->tunnel_connected = ovpn_status_connected(&e->ovpn_status);
        if (!streq(before.local_address, e->ovpn_status.local_address))
                names[k++] = "Address";
        if (before.rx_bytes != e->ovpn_status.rx_bytes) {
                e->rx_bytes = e->ovpn_status.rx_bytes;
                names[k++] = "RxBytes";
        }
        if (before.tx_bytes != e->ovpn_status.tx_bytes) {
                e->tx_bytes = e->ovpn_status.tx_bytes;
                names[k++] = "TxBytes";
        }
        names[k] = NULL;
        if (k > 0)
                exit_bus_emit_changed(e, (char **) names);
        if (!streq(before.state, e->ovpn_status.state)) {
                log_debug("Exit %s: OpenVPN %s.", e->name, e->ovpn_status.state);
                exit_run_announce_state(m, e);
        }
}

static int on_mgmt(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Exit *e = userdata;
        Manager *m = e->manager;

        ssize_t n = read(fd, e->mgmt_buf + e->mgmt_len, sizeof e->mgmt_buf - 1 - e->mgmt_len);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
                mgmt_close(e); /* it went away: the next refresh finds out what became of it */
                e->configured_ifindex = 0;
                exit_run_announce_state(m, e);
                return 0;
        }
        if (n < 0)
                return 0;
        e->mgmt_len += (size_t) n;
        e->mgmt_buf[e->mgmt_len] = 0;
        char *start = e->mgmt_buf, *nl;
        while ((nl = memchr(start, '\n', e->mgmt_len - (size_t) (start - e->mgmt_buf)))) {
                *nl = 0;
                if (nl > start && nl[-1] == '\r')
                        nl[-1] = 0;
                take_line(m, e, start);
                start = nl + 1;
        }
        e->mgmt_len -= (size_t) (start - e->mgmt_buf);
        memmove(e->mgmt_buf, start, e->mgmt_len);
        if (e->mgmt_len >= sizeof e->mgmt_buf - 1) { /* a line longer than OpenVPN writes: not OpenVPN */
                log_warning("Exit %s: its management socket says too much in one line; reconnecting.", e->name);
                mgmt_close(e);
                e->configured_ifindex = 0;
        }
        return 0;
}

static int mgmt_connect(Manager *m, Exit *e) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static const char hello[] = "state on\nbytecount 2\nstate\n";

        if ((size_t) snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.mgmt", m->config.wireguard_run_dir, e->ifname) >=
            sizeof sa.sun_path)
                return -ENAMETOOLONG;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* a local socket: connecting does not wait on anything but the listener's backlog */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || write(fd, hello, sizeof hello - 1) != sizeof hello - 1) {
                int r = errno == ENOENT || errno == ECONNREFUSED ? -ENOENT : -errno;
                close(fd);
                return r;
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
                close(fd);
                return -errno;
        }
        e->mgmt_fd = fd;
        e->mgmt_len = 0;
        e->ovpn_status = (OvpnStatus) {};
        int r = sd_event_add_io(m->event, &e->mgmt_source, fd, EPOLLIN, on_mgmt, e);
        if (r < 0)
                mgmt_close(e);
        return r;
}

static int configure(Manager *m, Exit *e, int ifindex) {
        mgmt_close(e); /* a new device is a new process: talk to that one */
        int r = mgmt_connect(m, e);
        if (r < 0)
                return r;
        return exit_steer_route(e, ifindex);
}

static bool read_status(Manager *m, Exit *e) {
        return e->mgmt_fd >= 0; /* what it says arrives on its socket (on_mgmt) */
}

static void stopped(Manager *m, Exit *e) {
        char name[IFNAMSIZ + 8];
        mgmt_close(e);
        int dir = open_run_dir(m);
        if (dir < 0)
                return;
        file_name(e, ".ovpn", name, sizeof name);
        (void) unlinkat(dir, name, 0); /* it holds the client's key */
        close(dir);
}

static int reconfigure(Manager *m, Exit *e) {
        int r = write_config(m, e);
        if (r < 0)
                return r;
        mgmt_close(e);
        return exit_run_restart_unit(m, e); /* OpenVPN reads its file at start */
}

const ExitDriver exit_openvpn_driver = {
        .prepare = prepare,
        .unit_command = unit_command,
        .configure = configure,
        .read_status = read_status,
        .stopped = stopped,
        .reconfigure = reconfigure,
};
