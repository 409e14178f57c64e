/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cell's dnsmasq as a transient systemd unit: the StartTransientUnit call
 * that describes it, hardening included. */

#include <systemd/sd-bus.h>

typedef struct DnsUnit {
        const char *name;        /* e.g. pic-dns.service */
        const char *dnsmasq;     /* the binary */
        const char *hosts_dir;   /* bound read-only where dnsmasq reads it */
        const char *interface;   /* the cell's WireGuard interface */
        const char *netns;       /* NULL: the service manager's own network namespace */
        const char *bus_address; /* NULL: the system bus; else given to dnsmasq (tests' private bus) */
} DnsUnit;

/* Where the unit sees hosts_dir: a fixed path, whatever permissions lead to
 * the real one (dnsmasq reads as an unprivileged user). */
#define DNS_UNIT_HOSTS_DIR "/run/pic-dns"

int dns_unit_start_message(sd_bus *bus, const DnsUnit *u, sd_bus_message **ret);
