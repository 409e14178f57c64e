/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <stdio.h>

#include "exit-unit.h"
#include "macro.h"
#include "transient-unit.h"

#define RESTART_USEC (200 * 1000ULL) /* a killed tunnel is back well within a second */

int exit_unit_start_message(sd_bus *bus, const ExitUnit *u, sd_bus_message **ret) {
        sd_bus_message *m = NULL;
        char netns[300];

        int r = transient_unit_begin(bus, u->name, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)",
                                          "Description", "s", u->description,
                                          "Restart", "s", "always",
                                          "RestartUSec", "t", RESTART_USEC,
                                          /* gone once stopped or failed, so the next start can create it again */
                                          "CollectMode", "s", "inactive-or-failed",
                                          "Environment", "as", 1, "LOG_LEVEL=error");
        if (r >= 0)
                /* a TUN device and its UAPI socket: nothing more */
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)",
                                          "CapabilityBoundingSet", "t", (uint64_t) (1ULL << CAP_NET_ADMIN),
                                          "NoNewPrivileges", "b", 1,
                                          "ProtectSystem", "s", "strict",
                                          "ProtectHome", "s", "yes",
                                          "PrivateTmp", "b", 1,
                                          "RestrictAddressFamilies", "(bas)", 1, 4, "AF_UNIX", "AF_INET",
                                          "AF_INET6", "AF_NETLINK");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)",
                                          "LockPersonality", "b", 1,
                                          "RestrictRealtime", "b", 1,
                                          "SystemCallArchitectures", "as", 1, "native");
        if (r >= 0)
                r = transient_unit_append_exec_start(m, u->argv);
        /* PrivateTmp= hides a program kept under /tmp (pic-exit-proxy of a build tree there) */
        if (r >= 0 && (startswith(u->argv[0], "/tmp/") || startswith(u->argv[0], "/var/tmp/")))
                r = sd_bus_message_append(m, "(sv)", "BindReadOnlyPaths", "a(ssbt)", 1, u->argv[0], u->argv[0], 0,
                                          (uint64_t) 0);
        if (r >= 0 && u->netns) {
                snprintf(netns, sizeof netns, "/run/netns/%s", u->netns);
                r = sd_bus_message_append(m, "(sv)", "NetworkNamespacePath", "s", netns);
        }
        /* An empty /run of its own, with only the socket directory pic-celld reads. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)",
                                          "TemporaryFileSystem", "a(ss)", 1, "/run", "mode=0755",
                                          "BindPaths", "a(ssbt)", 1, u->run_dir, "/run/wireguard", 0, (uint64_t) 0);
        if (r >= 0)
                r = transient_unit_finish(m);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}
