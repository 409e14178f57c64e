/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exit-bus.h"
#include "exit-steer.h"
#include "exit-unit.h"
#include "exit-wg.h"
#include "keys.h"
#include "log.h"
#include "netlink/rtnl.h"
#include "strv.h"
#include "time-util.h"
#include "transient-unit.h"
#include "wg/wg-genl.h"
#include "wg/wg-uapi.h"

#define EXIT_KEEPALIVE_SEC 25             /* keeps the first handshake coming and the server's NAT open */
#define EXIT_MTU_DEFAULT 1420
#define POLL_STARTING_USEC (100 * 1000ULL) /* while not up: a handshake opens the exit within this */
#define POLL_UP_USEC (1000 * 1000ULL)

void exit_wg_set_error(Exit *e, const char *fmt, ...) {
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

static void clear_error(Exit *e) {
        if (!e->last_error)
                return;
        e->last_error = mfree_str(e->last_error);
        char *changed[] = { "LastError", NULL };
        exit_bus_emit_changed(e, changed);
}

/* "a.b.c.d/n" or "v6/n" as an allowed IP of w. */
static int append_allowed_ip(WgPeer *w, const char *s) {
        char host[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t) (slash - s) : strlen(s);
        union { struct in_addr v4; struct in6_addr v6; } a;

        if (len >= sizeof host)
                return -EINVAL;
        memcpy(host, s, len);
        host[len] = 0;
        int family = strchr(host, ':') ? AF_INET6 : AF_INET;
        unsigned prefix = slash ? (unsigned) strtoul(slash + 1, NULL, 10) : (family == AF_INET ? 32 : 128);
        if (inet_pton(family, host, &a) != 1)
                return -EINVAL;
        return wg_peer_append_allowed_ip(w, family, &a, (uint8_t) prefix) ? 0 : -ENOMEM;
}

static int device_from_config(const Exit *e, WgDevice **ret) {
        /* the caller wipes the private key it carries (wg_device_free does not) */
        const WgQuickConfig *c = &e->config;
        WgDevice *d = calloc(1, sizeof *d);
        int r = 0;

        if (!d)
                return -ENOMEM;
        snprintf(d->name, sizeof d->name, "%s", e->ifname);
        d->flags = WG_DEVICE_REPLACE_PEERS | WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
        memcpy(d->private_key, c->private_key, WG_KEY_LEN);
        d->listen_port = c->listen_port; /* 0: any */
        WgPeer *w = wg_device_append_peer(d);
        if (!w)
                r = -ENOMEM;
        if (r >= 0) {
                memcpy(w->public_key, c->peer_public_key, WG_KEY_LEN);
                w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                           WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_PRESHARED_KEY;
                if (c->has_preshared_key)
                        memcpy(w->preshared_key, c->preshared_key, WG_KEY_LEN);
                w->persistent_keepalive = c->persistent_keepalive ?: EXIT_KEEPALIVE_SEC;
                r = wg_endpoint_parse(c->endpoint, &w->endpoint); /* checked when the settings were taken */
        }
        for (char **s = c->allowed_ips; r >= 0 && s && *s; s++)
                r = append_allowed_ip(w, *s);
        if (r < 0) {
                wg_device_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

static int get_device(Manager *m, const Exit *e, WgDevice **ret) {
        return e->kernel ? wg_genl_get_device(e->ifname, ret)
                         : wg_uapi_get_device(m->config.wireguard_run_dir, e->ifname, ret);
}

/* An interface that already holds want (pic-celld restarted, its tunnel did not)
 * is left alone: setting it again would drop the session and its handshake. */
static bool device_is_configured(Manager *m, const Exit *e, const WgDevice *want) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;

        if (get_device(m, e, &d) < 0)
                return false;
        bool same = memcmp(d->private_key, want->private_key, WG_KEY_LEN) == 0 && d->peers && !d->peers->next &&
                    memcmp(d->peers->public_key, want->peers->public_key, WG_KEY_LEN) == 0 &&
                    memcmp(d->peers->preshared_key, want->peers->preshared_key, WG_KEY_LEN) == 0 &&
                    d->peers->persistent_keepalive == want->peers->persistent_keepalive &&
                    memcmp(&d->peers->endpoint, &want->peers->endpoint, sizeof want->peers->endpoint) == 0 &&
                    (want->listen_port == 0 || d->listen_port == want->listen_port);
        key_wipe(d->private_key);
        return same;
}

/* Key, server, address, MTU, up, and the route of its table: a new interface becomes the exit. */
static int configure(Manager *m, Exit *e, int ifindex) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint32_t addr;
        uint8_t prefix;
        int r;

        r = device_from_config(e, &d);
        if (r < 0)
                return r;
        if (!device_is_configured(m, e, d))
                r = e->kernel ? wg_genl_set_device(d) : wg_uapi_set_device(m->config.wireguard_run_dir, d);
        key_wipe(d->private_key);
        if (r < 0)
                return r;
        r = exit_tunnel_address(e, &addr, &prefix);
        if (r < 0)
                return r;
        struct in_addr a = { .s_addr = htonl(addr) };
        r = rtnl_addr_sync(ifindex, AF_INET, &a, prefix);
        if (r >= 0)
                r = rtnl_link_set_mtu(ifindex, e->config.mtu ?: EXIT_MTU_DEFAULT);
        if (r >= 0)
                r = rtnl_link_set_up(ifindex, true);
        if (r >= 0)
                r = exit_steer_route(e, ifindex);
        return r;
}

void exit_wg_announce_state(Manager *m, Exit *e) {
        ExitState s = exit_state(e, now_usec(CLOCK_REALTIME));

        (void) exit_steer_set_open(m, e, s == EXIT_UP);
        if (s == e->announced_state)
                return;
        log_info("Exit %s: %s → %s.", e->name, exit_state_to_string(e->announced_state), exit_state_to_string(s));
        e->announced_state = s;
        char *changed[] = { "State", NULL };
        exit_bus_emit_changed(e, changed);
}

static void read_statistics(Manager *m, Exit *e) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        const char *names[4];
        size_t k = 0;

        int r = get_device(m, e, &d);
        if (r >= 0)
                key_wipe(d->private_key);
        if (r < 0 || !d->peers) {
                e->configured_ifindex = 0; /* gone or emptied under us: configured again next time */
                return;
        }
        const WgPeer *w = d->peers;
        if (memcmp(w->public_key, e->config.peer_public_key, WG_KEY_LEN) != 0) {
                e->configured_ifindex = 0;
                return;
        }
        if (e->latest_handshake_usec != w->last_handshake_usec) {
                e->latest_handshake_usec = w->last_handshake_usec;
                names[k++] = "LatestHandshake";
        }
        if (e->rx_bytes != w->rx_bytes) {
                e->rx_bytes = w->rx_bytes;
                names[k++] = "RxBytes";
        }
        if (e->tx_bytes != w->tx_bytes) {
                e->tx_bytes = w->tx_bytes;
                names[k++] = "TxBytes";
        }
        names[k] = NULL;
        if (k > 0)
                exit_bus_emit_changed(e, (char **) names);
}

void exit_wg_refresh(Manager *m, Exit *e) {
        int ifindex = rtnl_link_index(e->ifname);

        if (ifindex <= 0) {
                /* killed, or not started yet: its route went with it, so its peers' traffic has nowhere to go */
                e->configured_ifindex = 0;
                e->latest_handshake_usec = 0;
                if (e->kernel && e->runner != EXIT_RUNNER_STOPPED) {
                        int r = rtnl_link_create(e->ifname, "wireguard");
                        if (r < 0 && r != -EEXIST)
                                exit_wg_set_error(e, "Cannot create interface %s: %s.", e->ifname, strerror(-r));
                }
                if (e->runner == EXIT_RUNNER_RUNNING)
                        e->runner = EXIT_RUNNER_STARTING;
        } else if (ifindex != e->configured_ifindex && e->runner != EXIT_RUNNER_STOPPED &&
                   e->runner != EXIT_RUNNER_FAILED) {
                int r = configure(m, e, ifindex);
                if (r >= 0) {
                        e->configured_ifindex = ifindex;
                        e->latest_handshake_usec = 0; /* a new process: its first handshake is still to come */
                        e->runner = EXIT_RUNNER_RUNNING;
                        clear_error(e);
                        log_info("Exit %s: configured %s (ifindex %d).", e->name, e->ifname, ifindex);
                } else if (r == -ENOENT || r == -ECONNREFUSED) {
                        e->runner = EXIT_RUNNER_STARTING; /* its UAPI socket is not there yet */
                } else {
                        exit_wg_set_error(e, "Cannot configure %s: %s.", e->ifname, strerror(-r));
                }
        }
        if (e->configured_ifindex > 0 && ifindex == e->configured_ifindex)
                read_statistics(m, e);
        exit_wg_announce_state(m, e);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Exit *e = userdata;
        Manager *m = e->manager;

        exit_wg_refresh(m, e);
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
                exit_wg_set_error(e, "Unit %s failed (%s); see its log (journalctl -u %s).", e->unit,
                          result && *result ? result : "unknown", e->unit);
        } else if (streq(active, "inactive") && e->runner != EXIT_RUNNER_FAILED) {
                e->runner = EXIT_RUNNER_STOPPED;
        } else if (streq(active, "activating") || streq(active, "active") || streq(active, "reloading")) {
                if (e->runner != EXIT_RUNNER_RUNNING)
                        e->runner = EXIT_RUNNER_STARTING;
        }
        exit_wg_refresh(m, e);
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
                exit_wg_refresh(e->manager, e);
                return 0;
        }
        if (sd_bus_error_has_name(err, "org.freedesktop.systemd1.UnitExists")) {
                start_unit(e->manager, e, true); /* it survived a restart of pic-celld: keep it */
                return 0;
        }
        e->runner = EXIT_RUNNER_FAILED;
        exit_wg_set_error(e, "Unit %s could not be started: %s", e->unit, err->message ?: err->name);
        exit_wg_announce_state(e->manager, e);
        return 0;
}

static void start_unit(Manager *m, Exit *e, bool existing) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        char description[128];
        char *argv[] = { m->config.wireguard_go, (char *) "-f", e->ifname, NULL };
        int r;

        snprintf(description, sizeof description, "PIC exit %s (wireguard-go)", e->name);
        if (existing) {
                r = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                                   "org.freedesktop.systemd1.Manager", "StartUnit");
                if (r >= 0)
                        r = sd_bus_message_append(call, "ss", e->unit, "replace");
        } else
                r = exit_unit_start_message(m->bus, &(ExitUnit) {
                        .name = e->unit,
                        .description = description,
                        .argv = argv,
                        .run_dir = m->config.exit_run_dir ?: m->config.wireguard_run_dir,
                        .netns = m->config.netns_name,
                }, &call);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, &e->unit_call, call, on_unit_started, e, 0);
        if (r < 0) {
                e->runner = EXIT_RUNNER_FAILED;
                exit_wg_set_error(e, "Cannot ask systemd to start %s: %s.", e->unit, strerror(-r));
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

int exit_wg_start(Manager *m, Exit *e) {
        int r;

        e->runner = EXIT_RUNNER_STARTING;
        e->running = true;
        e->kernel = false;
        /* A tunnel that outlived pic-celld is kept as it is: a live UAPI socket is wireguard-go's. */
        int fd = wg_uapi_connect(m->config.wireguard_run_dir, e->ifname);
        if (fd >= 0)
                close(fd);
        else if (m->config.backend != WG_BACKEND_CHOICE_USERSPACE) {
                r = rtnl_link_create(e->ifname, "wireguard");
                if (r == -EEXIST) { /* the kernel's only if the kernel's WireGuard answers for it */
                        _cleanup_(wg_device_freep) WgDevice *d = NULL;
                        e->kernel = wg_genl_get_device(e->ifname, &d) >= 0;
                        if (d)
                                key_wipe(d->private_key);
                } else
                        e->kernel = r >= 0;
                if (r < 0 && r != -EEXIST && r != -EOPNOTSUPP && m->config.backend == WG_BACKEND_CHOICE_KERNEL)
                        exit_wg_set_error(e, "Cannot create interface %s: %s.", e->ifname, strerror(-r));
        }
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
        exit_wg_refresh(m, e);
        return 0;
}

void exit_wg_reconfigure(Manager *m, Exit *e) {
        e->configured_ifindex = 0; /* the next refresh writes the new settings */
        if (e->runner == EXIT_RUNNER_FAILED && !e->kernel) {
                e->runner = EXIT_RUNNER_STARTING;
                start_unit(m, e, false); /* a unit that gave up is collected: a fresh one */
        }
        exit_wg_refresh(m, e);
}

void exit_wg_stop(Manager *m, Exit *e) {
        e->poll_timer = sd_event_source_disable_unref(e->poll_timer);
        e->unit_match = sd_bus_slot_unref(e->unit_match);
        e->unit_call = sd_bus_slot_unref(e->unit_call);
        e->runner = EXIT_RUNNER_STOPPED;
        e->running = false;
        e->configured_ifindex = 0;
        e->latest_handshake_usec = 0;
        if (e->kernel)
                (void) rtnl_link_delete(e->ifname);
        else if (!isempty(e->unit))
                (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                                "org.freedesktop.systemd1.Manager", "StopUnit", NULL, NULL, "ss",
                                                e->unit, "replace");
        (void) exit_steer_route(e, 0);
        exit_wg_announce_state(m, e);
}
