/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cell's named services: the one place their protocols and ports are defined. */
#include <netinet/in.h>

#include "firewall.h"

static const char *const service_names[] = { "dns", "web", "mail", "calendar", "files", "webdav", NULL };

#define TCP(p) { IPPROTO_TCP, (p) }
#define UDP(p) { IPPROTO_UDP, (p) }

/* Addresses 0: served on the cell's VPN address unless the configuration says otherwise. */
static const FirewallService default_services[] = {
        { .name = "dns",      .ports = { UDP(53), TCP(53) },                             .n_ports = 2 },
        { .name = "web",      .ports = { TCP(80), TCP(443) },                            .n_ports = 2 },
        /* smtp, imap, submissions, submission, imaps */
        { .name = "mail",     .ports = { TCP(25), TCP(143), TCP(465), TCP(587), TCP(993) }, .n_ports = 5 },
        /* CalDAV/CardDAV (Radicale's port) */
        { .name = "calendar", .ports = { TCP(5232) },                                    .n_ports = 1 },
        /* SMB */
        { .name = "files",    .ports = { TCP(445) },                                     .n_ports = 1 },
        { .name = "webdav",   .ports = { TCP(8443) },                                    .n_ports = 1 },
};

const char *const *firewall_service_names(void) {
        return service_names;
}

const FirewallService *firewall_default_services(size_t *ret_n) {
        *ret_n = ELEMENTSOF(default_services);
        return default_services;
}

bool firewall_service_known(const char *name) {
        if (!name)
                return false;
        for (const char *const *n = service_names; *n; n++)
                if (streq(*n, name))
                        return true;
        return false;
}

/* Where a peer's traffic may go beyond the services, each a class in the
 * peer_grants set; the number is the class's value there. */
static const char *const network_names[] = { "internet", "lan", "peers", NULL };

const char *const *firewall_network_names(void) {
        return network_names;
}

uint32_t firewall_network_class(const char *name) {
        for (size_t i = 0; name && network_names[i]; i++)
                if (streq(network_names[i], name))
                        return (uint32_t) i + 1;
        return 0;
}

/* Private, shared (CGNAT) and link-local ranges: never the internet. */
static const Cidr4 default_lan_networks[] = {
        { 0x0a000000, 8 },  /* 10.0.0.0/8 */
        { 0xac100000, 12 }, /* 172.16.0.0/12 */
        { 0xc0a80000, 16 }, /* 192.168.0.0/16 */
        { 0x64400000, 10 }, /* 100.64.0.0/10 */
        { 0xa9fe0000, 16 }, /* 169.254.0.0/16 */
};

const Cidr4 *firewall_default_lan_networks(size_t *ret_n) {
        *ret_n = ELEMENTSOF(default_lan_networks);
        return default_lan_networks;
}
