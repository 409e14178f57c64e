/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How pic-celld runs dnsmasq: the command line of its unit and the server
 * list it pushes over dnsmasq's D-Bus interface (SetDomainServers). */

#include <stddef.h>

#define DNSMASQ_OBJECT_PATH "/uk/org/thekelleys/dnsmasq"
#define DNSMASQ_INTERFACE "uk.org.thekelleys.dnsmasq"
#define DNS_SERVERS_MAX 8
#define DNS_SERVER_MAX_LEN 64 /* an IPv6 address, '#' and a port */

typedef struct DnsmasqCommand {
        const char *binary;    /* absolute path */
        const char *bus_name;  /* --enable-dbus=: a name of our own, never the host dnsmasq's */
        const char *hosts_dir; /* --hostsdir=, as dnsmasq sees it */
        const char *interface; /* answers on this interface's addresses only, following changes */
} DnsmasqCommand;

/* The argv (argv[0] = binary): no configuration file, no /etc/hosts, no
 * resolv.conf, in the foreground, logging to stderr. Every value is checked
 * (-EINVAL), since it ends up on a command line. */
int dnsmasq_argv(const DnsmasqCommand *c, char ***ret);

/* Whether s is an upstream server: an IPv4 or IPv6 address, optionally
 * followed by '#' and a port (1-65535). 0 or -EINVAL. */
int dns_server_check(const char *s);

typedef struct DnsForward {
        const char *domain; /* answered by … */
        const char *server; /* … this server (dns_server_check) */
} DnsForward;

/* SetDomainServers's argument: the cell's domain answered from the hosts
 * files only ("/domain/"), each forward ("/domain/server"), then the
 * upstreams for everything else. Replaces whatever was pushed before. */
int dnsmasq_server_list(const char *local_domain, char *const *upstreams, const DnsForward *forwards,
                        size_t n_forwards, char ***ret);

/* The upstreams a fresh cell starts with: the "nameserver" lines of a
 * resolv.conf (at most DNS_SERVERS_MAX, those dns_server_check() accepts).
 * A missing file gives an empty list. */
int resolv_conf_servers(const char *path, char ***ret);
