/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "dns-unit.h"
#include "dnsmasq.h"
#include "dns.h"
#include "macro.h"
#include "strv.h"
#include "transient-unit.h"

#define RESTART_USEC (200 * 1000ULL) /* a killed dnsmasq answers again well within 2 s */

/* The socket path of a "unix:path=/…[,guid=…]" address into buf; false for any
 * other address (or one with escapes, which a test's never has). */
static bool unix_socket_path(const char *address, char *buf, size_t size) {
        const char *p = address + strlen("unix:path=");
        size_t n;

        if (strncmp(address, "unix:path=", strlen("unix:path=")) != 0 || p[0] != '/')
                return false;
        n = strcspn(p, ",;");
        if (n >= size || memchr(p, '%', n))
                return false;
        memcpy(buf, p, n);
        buf[n] = 0;
        return true;
}

int dns_unit_start_message(sd_bus *bus, const DnsUnit *u, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(strv_freep) char **argv = NULL;
        char netns[300], env[4200], socket[4096];
        const char *bus_socket = "/run/dbus/system_bus_socket";
        int r;

        /* the bus socket dnsmasq must reach (PrivateTmp= hides a test's bus under /tmp too);
         * an abstract or TCP address needs no file */
        if (u->bus_address)
                bus_socket = unix_socket_path(u->bus_address, socket, sizeof socket) ? socket : NULL;

        r = dnsmasq_argv(&(DnsmasqCommand) {
                .binary = u->dnsmasq,
                .bus_name = DNS_BUS_NAME,
                .hosts_dir = DNS_UNIT_HOSTS_DIR,
                .interface = u->interface,
        }, &argv);
        if (r < 0)
                return r;

        r = transient_unit_begin(bus, u->name, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)",
                                          "Description", "s", "PIC cell DNS (dnsmasq)",
                                          "Restart", "s", "always",
                                          "RestartUSec", "t", RESTART_USEC,
                                          /* gone once stopped or failed, so the next start can create it again */
                                          "CollectMode", "s", "inactive-or-failed",
                                          "BindReadOnlyPaths", "a(ssbt)", 1, u->hosts_dir, DNS_UNIT_HOSTS_DIR, 0,
                                          (uint64_t) 0);
        if (r >= 0)
                /* dnsmasq binds port 53 as root, then runs as its own user; it refuses to
                 * start without NET_RAW even when it serves no DHCP. */
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)",
                                          "CapabilityBoundingSet", "t",
                                          (uint64_t) ((1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_NET_RAW) |
                                                      (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID)),
                                          "NoNewPrivileges", "b", 1,
                                          "ProtectSystem", "s", "strict",
                                          "ProtectHome", "s", "yes",
                                          "PrivateTmp", "b", 1);
        if (r >= 0)
                r = transient_unit_append_exec_start(m, argv);
        if (r >= 0 && u->netns) {
                snprintf(netns, sizeof netns, "/run/netns/%s", u->netns);
                r = sd_bus_message_append(m, "(sv)", "NetworkNamespacePath", "s", netns);
        }
        if (r >= 0 && u->bus_address) {
                snprintf(env, sizeof env, "DBUS_SYSTEM_BUS_ADDRESS=%s", u->bus_address);
                r = sd_bus_message_append(m, "(sv)", "Environment", "as", 1, env);
        }
        /* An empty /run of its own: the hosts directory's mount point is made there, never
         * on the host, and dnsmasq sees nothing else of /run but the bus socket. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "TemporaryFileSystem", "a(ss)", 1, "/run", "mode=0755");
        if (r >= 0 && bus_socket)
                r = sd_bus_message_append(m, "(sv)", "BindPaths", "a(ssbt)", 1, bus_socket, bus_socket, 0,
                                          (uint64_t) 0);
        if (r >= 0)
                r = transient_unit_finish(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}
