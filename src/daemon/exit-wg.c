/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver of exits of types "wireguard" and "cell": a WireGuard interface
 * of the kernel's, or wireguard-go's in a unit; each new one gets the key,
 * the server, the address and MTU, and its table's route; the last handshake
 * says whether it is up. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exit-bus.h"
#include "exit-run.h"
#include "exit-steer.h"
#include "keys.h"
#include "log.h"
#include "netlink/rtnl.h"
#include "strv.h"
#include "wg/wg-genl.h"
#include "wg/wg-uapi.h"

#define EXIT_KEEPALIVE_SEC 25 /* keeps the first handshake coming and the server's NAT open */
#define EXIT_MTU_DEFAULT 1420

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

static bool read_statistics(Manager *m, Exit *e) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        const char *names[4];
        size_t k = 0;

        int r = get_device(m, e, &d);
        if (r >= 0)
                key_wipe(d->private_key);
        if (r < 0 || !d->peers || memcmp(d->peers->public_key, e->config.peer_public_key, WG_KEY_LEN) != 0)
                return false; /* gone or emptied under us */
        const WgPeer *w = d->peers;
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
        return true;
}


/* A tunnel that outlived pic-celld is kept as it is: a live UAPI socket is wireguard-go's. */
static void prepare(Manager *m, Exit *e) {
        int fd = wg_uapi_connect(m->config.wireguard_run_dir, e->ifname);
        if (fd >= 0) {
                close(fd);
                return;
        }
        if (m->config.backend == WG_BACKEND_CHOICE_USERSPACE)
                return;
        int r = rtnl_link_create(e->ifname, "wireguard");
        if (r == -EEXIST) { /* the kernel's only if the kernel's WireGuard answers for it */
                _cleanup_(wg_device_freep) WgDevice *d = NULL;
                e->kernel = wg_genl_get_device(e->ifname, &d) >= 0;
                if (d)
                        key_wipe(d->private_key);
        } else
                e->kernel = r >= 0;
        if (r < 0 && r != -EEXIST && r != -EOPNOTSUPP && m->config.backend == WG_BACKEND_CHOICE_KERNEL)
                exit_run_set_error(e, "Cannot create interface %s: %s.", e->ifname, strerror(-r));
}

static int unit_command(Manager *m, const Exit *e, char ***ret_argv) {
        char *argv[] = { m->config.wireguard_go, (char *) "-f", (char *) e->ifname, NULL };
        *ret_argv = strv_copy(argv);
        return *ret_argv ? 0 : -ENOMEM;
}

const ExitDriver exit_wireguard_driver = {
        .prepare = prepare,
        .unit_command = unit_command,
        .configure = configure,
        .read_status = read_statistics,
};
