/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running an exit, whatever its type: its unit (or kernel interface) started
 * and followed over the bus, each new interface configured by its type's
 * driver, its state from what the driver reads, the kill-switch opened only
 * while it is up. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "exit-bus.h"
#include "exit-steer.h"
#include "exit-unit.h"
#include "exit-run.h"
#include "fileio.h"
#include "log.h"
#include "netlink/rtnl.h"
#include "strv.h"
#include "time-util.h"
#include "transient-unit.h"
#include "unit-targets.h"

#define POLL_STARTING_USEC (100 * 1000ULL) /* while not up: a handshake opens the exit within this */
#define POLL_UP_USEC (1000 * 1000ULL)

void exit_run_set_error(Exit *e, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (e->last_error && streq(e->last_error, buf))
                return;
        free(e->last_error);
        e->last_error = strdup(buf);
        log_warning("Exit %s: %s", e->name, buf);
        char *changed[] = { "LastError", NULL };
        exit_bus_emit_changed(e, changed);
}

void exit_run_clear_error(Exit *e) {
        if (!e->last_error)
                return;
        e->last_error = mfree_str(e->last_error);
        char *changed[] = { "LastError", NULL };
        exit_bus_emit_changed(e, changed);
}

const ExitDriver *exit_driver(const Exit *e) {
        switch (e->type) {
        case EXIT_TYPE_OPENVPN:
                return &exit_openvpn_driver;
        case EXIT_TYPE_TOR:
                return &exit_tor_driver;
        case EXIT_TYPE_PROXY:
                return &exit_proxy_driver;
        case EXIT_TYPE_SSHUTTLE:
                return &exit_sshuttle_driver;
        default:
                return &exit_wireguard_driver;
        }
}

int exit_run_write_file(Manager *m, const Exit *e, const char *suffix, const char *text) {
        char name[IFNAMSIZ + 32];

        int dir = open(m->config.wireguard_run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        snprintf(name, sizeof name, "%s%s", e->ifname, suffix);
        int r = write_file_atomic(dir, name, text, strlen(text), 0600);
        close(dir);
        return r;
}

void exit_run_remove_file(Manager *m, const Exit *e, const char *suffix) {
        char path[PATH_MAX];

        snprintf(path, sizeof path, "%s/%s%s", m->config.wireguard_run_dir, e->ifname, suffix);
        if (unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Exit %s: cannot remove %s: %m", e->name, path);
}

/* Whether something listens at the address and port (type): binding there is refused then. */
static bool listens(uint32_t address, uint16_t port, int type) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address) };
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        bool taken = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno == EADDRINUSE;
        close(fd);
        return taken;
}

bool exit_run_local_ports_listen(Manager *m, const Exit *e) {
        uint32_t addr = m->cell.vpn_address.addr;
        return listens(addr, exit_tcp_port(e), SOCK_STREAM) && listens(addr, exit_dns_port(e), SOCK_DGRAM);
}

void exit_run_announce_state(Manager *m, Exit *e) {
        ExitState s = exit_state(e, now_usec(CLOCK_REALTIME));

        (void) exit_steer_set_open(m, e, s == EXIT_UP);
        if (s == e->announced_state)
                return;
        log_info("Exit %s: %s → %s.", e->name, exit_state_to_string(e->announced_state), exit_state_to_string(s));
        e->announced_state = s;
        unit_targets_set(m, UNIT_TARGET_EXIT, e->name, s == EXIT_UP);
        char *changed[] = { "State", NULL };
        exit_bus_emit_changed(e, changed);
}

/* An exit without an interface (a TCP-only one): its driver says whether it serves. */
static void refresh_local(Manager *m, Exit *e) {
        if (e->runner == EXIT_RUNNER_STARTING || e->runner == EXIT_RUNNER_RUNNING) {
                bool ready = exit_driver(e)->read_status(m, e);
                e->runner = ready ? EXIT_RUNNER_RUNNING : EXIT_RUNNER_STARTING;
                if (ready)
                        exit_run_clear_error(e);
        }
        exit_run_announce_state(m, e);
}

void exit_run_refresh(Manager *m, Exit *e) {
        if (exit_driver(e)->no_interface) {
                refresh_local(m, e);
                return;
        }
        int ifindex = rtnl_link_index(e->ifname);

        if (ifindex <= 0) {
                /* killed, or not started yet: its route went with it, so its peers' traffic has nowhere to go */
                e->configured_ifindex = 0;
                e->latest_handshake_usec = 0;
                if (e->kernel && e->runner != EXIT_RUNNER_STOPPED) {
                        int r = rtnl_link_create(e->ifname, "wireguard");
                        if (r < 0 && r != -EEXIST)
                                exit_run_set_error(e, "Cannot create interface %s: %s.", e->ifname, strerror(-r));
                }
                if (e->runner == EXIT_RUNNER_RUNNING)
                        e->runner = EXIT_RUNNER_STARTING;
        } else if (ifindex != e->configured_ifindex && e->runner != EXIT_RUNNER_STOPPED &&
                   e->runner != EXIT_RUNNER_FAILED) {
                int r = exit_driver(e)->configure(m, e, ifindex);
                if (r >= 0) {
                        e->configured_ifindex = ifindex;
                        e->latest_handshake_usec = 0; /* a new process: its first handshake is still to come */
                        e->tunnel_connected = false;
                        e->runner = EXIT_RUNNER_RUNNING;
                        exit_run_clear_error(e);
                        log_info("Exit %s: configured %s (ifindex %d).", e->name, e->ifname, ifindex);
                } else if (r == -ENOENT || r == -ECONNREFUSED) {
                        e->runner = EXIT_RUNNER_STARTING; /* its control socket is not there yet */
                } else {
                        exit_run_set_error(e, "Cannot configure %s: %s.", e->ifname, strerror(-r));
                }
        }
        if (e->configured_ifindex > 0 && ifindex == e->configured_ifindex && !exit_driver(e)->read_status(m, e))
                e->configured_ifindex = 0; /* gone or emptied under us: configured again next time */
        exit_run_announce_state(m, e);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Exit *e = userdata;
        Manager *m = e->manager;

        exit_run_refresh(m, e);
        int r = sd_event_source_set_time_relative(s, e->announced_state == EXIT_UP ? POLL_UP_USEC : POLL_STARTING_USEC);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* ---- the unit, followed over the bus */

static int unit_path(const Exit *e, char **ret) {
        return sd_bus_path_encode("/org/freedesktop/systemd1/unit", e->unit, ret);
}

static void unit_state_changed(Manager *m, Exit *e, const char *active, const char *result) {
        if (streq(active, "failed")) {
                e->runner = EXIT_RUNNER_FAILED;
                exit_run_set_error(e, "Unit %s failed (%s); see its log (journalctl -u %s).", e->unit,
                          result && *result ? result : "unknown", e->unit);
        } else if (streq(active, "inactive") && e->runner != EXIT_RUNNER_FAILED) {
                e->runner = EXIT_RUNNER_STOPPED;
        } else if (streq(active, "activating") || streq(active, "active") || streq(active, "reloading")) {
                if (e->runner != EXIT_RUNNER_RUNNING)
                        e->runner = EXIT_RUNNER_STARTING;
        }
        exit_run_refresh(m, e);
}

static int on_unit_properties(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        Exit *e = userdata;
        const char *iface, *active = NULL, *result = NULL;

        int r = sd_bus_message_read(message, "s", &iface);
        if (r < 0 || (!streq(iface, "org.freedesktop.systemd1.Unit") && !streq(iface, "org.freedesktop.systemd1.Service")))
                return 0;
        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        while (r > 0 && (r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                const char *name, *value;
                r = sd_bus_message_read(message, "s", &name);
                if (r >= 0 && (streq(name, "ActiveState") || streq(name, "Result"))) {
                        r = sd_bus_message_read(message, "v", "s", &value);
                        if (r >= 0)
                                *(streq(name, "ActiveState") ? &active : &result) = value;
                } else if (r >= 0)
                        r = sd_bus_message_skip(message, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(message);
        }
        if (r >= 0 && active)
                unit_state_changed(e->manager, e, active, result);
        return 0;
}

static void start_unit(Manager *m, Exit *e, bool existing);

static int on_unit_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Exit *e = userdata;
        const sd_bus_error *err = sd_bus_message_get_error(reply);

        e->unit_call = sd_bus_slot_unref(e->unit_call);
        if (!err) {
                exit_run_refresh(e->manager, e);
                return 0;
        }
        if (sd_bus_error_has_name(err, "org.freedesktop.systemd1.UnitExists")) {
                start_unit(e->manager, e, true); /* it survived a restart of pic-celld: keep it */
                return 0;
        }
        e->runner = EXIT_RUNNER_FAILED;
        exit_run_set_error(e, "Unit %s could not be started: %s", e->unit, err->message ?: err->name);
        exit_run_announce_state(e->manager, e);
        return 0;
}

static void start_unit(Manager *m, Exit *e, bool existing) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(strv_freep) char **argv = NULL;
        char description[128];
        int r;

        snprintf(description, sizeof description, "PIC exit %s (%s)", e->name, exit_type_to_string(e->type));
        if (existing) {
                r = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                                   "org.freedesktop.systemd1.Manager", "StartUnit");
                if (r >= 0)
                        r = sd_bus_message_append(call, "ss", e->unit, "replace");
        } else {
                r = exit_driver(e)->unit_command(m, e, &argv);
                if (r >= 0)
                        r = exit_unit_start_message(m->bus, &(ExitUnit) {
                                .name = e->unit,
                                .description = description,
                                .argv = argv,
                                .run_dir = m->config.exit_run_dir ?: m->config.wireguard_run_dir,
                                .netns = m->config.netns_name,
                        }, &call);
        }
        if (r >= 0)
                r = sd_bus_call_async(m->bus, &e->unit_call, call, on_unit_started, e, 0);
        if (r < 0) {
                e->runner = EXIT_RUNNER_FAILED;
                exit_run_set_error(e, "Cannot ask systemd to start %s: %s.", e->unit, strerror(-r));
        }
}

static int follow_unit(Manager *m, Exit *e) {
        _cleanup_(freep) char *path = NULL;
        int r = unit_path(e, &path);
        if (r < 0)
                return r;
        /* systemd sends unit signals only to subscribers; one subscription serves every exit */
        if (!m->systemd_subscribed) {
                r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                             "org.freedesktop.systemd1.Manager", "Subscribe", NULL, NULL, NULL);
                if (r < 0)
                        return r;
                m->systemd_subscribed = true;
        }
        return sd_bus_match_signal_async(m->bus, &e->unit_match, SYSTEMD_BUS_NAME, path,
                                         "org.freedesktop.DBus.Properties", "PropertiesChanged", on_unit_properties,
                                         NULL, e);
}

int exit_run_start(Manager *m, Exit *e) {
        int r;

        e->runner = EXIT_RUNNER_STARTING;
        e->running = true;
        e->kernel = false;
        exit_driver(e)->prepare(m, e);
        if (e->kernel)
                e->unit[0] = 0; /* no program: the kernel serves it */
        else {
                r = follow_unit(m, e);
                if (r < 0)
                        log_warning_errno(r, "Exit %s: cannot follow %s over the bus: %m", e->name, e->unit);
                start_unit(m, e, false);
        }
        r = sd_event_add_time_relative(m->event, &e->poll_timer, CLOCK_MONOTONIC, POLL_STARTING_USEC, 0, on_poll, e);
        if (r < 0)
                return r;
        exit_run_refresh(m, e);
        return 0;
}

void exit_run_reconfigure(Manager *m, Exit *e) {
        e->configured_ifindex = 0; /* the next refresh writes the new settings */
        if (e->runner == EXIT_RUNNER_FAILED && !e->kernel) {
                e->runner = EXIT_RUNNER_STARTING;
                start_unit(m, e, false); /* a unit that gave up is collected: a fresh one */
        } else if (exit_driver(e)->reconfigure) {
                int r = exit_driver(e)->reconfigure(m, e);
                if (r < 0)
                        exit_run_set_error(e, "Cannot apply the new settings: %s.", strerror(-r));
        }
        exit_run_refresh(m, e);
}

int exit_run_restart_unit(Manager *m, Exit *e) {
        if (isempty(e->unit))
                return -EOPNOTSUPP;
        return sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                        "org.freedesktop.systemd1.Manager", "RestartUnit", NULL, NULL, "ss", e->unit,
                                        "replace");
}

void exit_run_stop(Manager *m, Exit *e) {
        e->poll_timer = sd_event_source_disable_unref(e->poll_timer);
        e->unit_match = sd_bus_slot_unref(e->unit_match);
        e->unit_call = sd_bus_slot_unref(e->unit_call);
        e->runner = EXIT_RUNNER_STOPPED;
        e->running = false;
        e->configured_ifindex = 0;
        e->latest_handshake_usec = 0;
        e->tunnel_connected = false;
        if (exit_driver(e)->stopped)
                exit_driver(e)->stopped(m, e);
        if (e->kernel)
                (void) rtnl_link_delete(e->ifname);
        else if (!isempty(e->unit))
                (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                                "org.freedesktop.systemd1.Manager", "StopUnit", NULL, NULL, "ss",
                                                e->unit, "replace");
        (void) exit_steer_route(e, 0);
        exit_run_announce_state(m, e);
}
