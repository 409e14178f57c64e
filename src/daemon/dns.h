/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cell's DNS: a dnsmasq in a transient systemd unit, answering on the
 * cell's interface from hosts files this module keeps in --dns-dir (the
 * peers' in 64 files by a hash of their names, one for the cell and its
 * services) and forwarding everything else to
 * the upstreams pushed over its bus name. The records follow the model: they
 * are derived state, written again at start, so a failed write degrades DNS
 * (DnsState says so and the next change retries) but never fails a change of
 * the cell or its peers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define DNS_BUS_NAME "org.pic.Cell1.Dns"
#define DNS_STATE_MAX 256

typedef struct Manager Manager;
typedef struct Peer Peer;

typedef struct DnsControl {
        int dir_fd;
        char state[DNS_STATE_MAX]; /* the DnsState property */
        bool running;              /* our dnsmasq holds DNS_BUS_NAME */
        bool have_systemd;         /* a service manager is on the bus */
        unsigned owner_queries;    /* GetNameOwner answers still to come at start */
        bool files_stale;          /* a write failed: the next sync writes everything */
        sd_bus_slot *name_match;
        sd_bus_slot *systemd_match;
        sd_bus_slot *unit_call;
        sd_bus_slot *push_call;
        sd_event_source *check_timer; /* dnsmasq not on the bus a while after its start: ask why */
        /* Record files waiting to be written, a slice per loop iteration (dns.c). */
        sd_event_source *write_source;
        uint64_t dirty_shards;
        uint64_t freeing_shards; /* of those, the ones losing a name or address: written first */
        bool cell_dirty, prune_pending;
        /* Per-domain forwards (cell links will set them); not stored: their owners give them again at start. */
        char **forward_domains, **forward_servers;
} DnsControl;

/* Called with each record the cell answers: a name and its IPv4 address (host order). */
typedef int (*DnsRecordFn)(const char *name, uint32_t address, void *userdata);

/* At start, after the bus is attached: the directory, the name watch, the
 * records and (once the cell is set up) the unit. Failures only degrade DNS. */
int dns_start(Manager *m);
void dns_done(Manager *m);

/* The cell changed (Setup, Configure of name/domain/upstreams, Apply):
 * every record again, the unit started if it is not, the servers pushed. */
void dns_cell_changed(Manager *m);
/* Every record again, written a slice per loop iteration after the calls
 * waiting (an import of many peers). */
void dns_records_resync(Manager *m);
/* One peer changed: old_name was its name before (NULL: added), new is it
 * now (NULL: removed). */
void dns_peer_changed(Manager *m, const char *old_name, const Peer *new);

const char *dns_state(Manager *m);

/* Every record, the cell's first, then the peers' in name order. */
int dns_records(Manager *m, DnsRecordFn fn, void *userdata);

/* Replaces the per-domain forwards: queries for domains[i] (and below) go to
 * servers[i]. Checked first (-EINVAL, nothing changes); pushed at once. */
int dns_set_forwards(Manager *m, char *const *domains, char *const *servers);
