/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "setup-code.h"
#include "bus-api.h"
#include "cell.h"
#include "changes.h"
#include "dns.h"
#include "ddns/ddns-provider.h"
#include <net/if.h>

#include "hashmap.h"
#include "invites.h"
#include "nft/firewall.h"
#include "password-worker.h"
#include "polkit.h"
#include "unit-targets.h"
#include "wait-list.h"
#include "wg/wg-backend.h"


#define TEST_STATIC_PEERS_MAX 4

/* test-kind.h */
typedef struct TestStaticPeer {
        WgKey public_key;
        uint32_t address;
} TestStaticPeer;

/* Everything the daemon was told on its command line. */
typedef struct ManagerConfig {
        char *state_dir;
        char *netns;          /* entered at start */
        char *netns_name;     /* the namespace it runs in, for the units it starts (--netns or --netns-name) */
        char *ifname;
        char *wireguard_run_dir;
        char *wireguard_go;
        char *exit_ifname_prefix; /* an exit's interface: this and its number (default "pic-exit") */
        char *exit_run_dir;       /* wireguard_run_dir as the service manager sees it (NULL: the same) */
        char *exit_proxy_helper;  /* pic-exit-proxy, a proxy exit's unit program */
        char *uplink;        /* NULL: the interface of the default route */
        char *services_file; /* NULL: the built-in service table */
        char *dns_dir;       /* hosts files for the cell's dnsmasq (dns.c) */
        char *dnsmasq;
        char *dns_unit;
        char *resolv_conf;   /* Setup's default DnsServers */
        char **test_dns_forward_domains, **test_dns_forward_servers; /* tests: dns.c's forwards at start */
        bool has_lan_networks; /* false: firewall_default_lan_networks() */
        Cidr4 lan_networks[FIREWALL_LAN_NETWORKS_MAX];
        size_t n_lan_networks;
        char *test_firewall_failure_file; /* tests: while it exists, firewall batches are made to fail */
        char *test_failure_file;          /* tests: failure-injection.h */
        TestStaticPeer test_static_peers[TEST_STATIC_PEERS_MAX]; /* tests: test-kind.h */
        size_t n_test_static_peers;
        WgBackendChoice backend;
        uint64_t stats_interval_usec;
        uint64_t polkit_timeout_usec;
        uint64_t link_confirm_timeout_usec; /* a link with no handshake this long after pairing is dropped */
        uint64_t ddns_check_interval_usec;  /* how often the public address is looked at (ddns-update.h) */
        uint64_t ddns_backoff_first_usec, ddns_backoff_max_usec; /* after a failed update */
        uint64_t ddns_refresh_usec;         /* the provider is told again after this even when unchanged */
        char *test_ddns_ca_file;            /* tests: the trust anchor for DDNS providers and address services */
        char *test_ddns_base[_DDNS_PROVIDER_MAX];            /* tests: per DdnsProviderId, https://HOST:PORT instead of its own */
} ManagerConfig;

typedef struct Peer Peer;
typedef struct ApplyOperation ApplyOperation;

/* The one context: event loop, bus, authorization, the cell and its peers. */
typedef struct Manager {
        ManagerConfig config;
        sd_event *event;
        sd_bus *bus;
        PolkitRegistry *polkit;
        PasswordWorker *passwords;
        int state_fd, peers_fd;

        Cell cell;
        Hashmap *peers_by_name;    /* Peer.name → Peer, owns the peers */
        Hashmap *peers_by_address; /* &Peer.address → Peer */
        Hashmap *peers_by_key;     /* Peer.public_key_b64 → Peer */
        uint32_t next_address;     /* every address of the subnet below it is taken: searches start here */

        Changes cell_changes;  /* coalesced PropertiesChanged (changes.c) */
        Peer *changed_peers;
        sd_event_source *emit_event;

        Firewall *firewall;
        bool firewall_stale; /* the last rebuild failed: the table may not match the model */
        FirewallService *services; /* overrides from --services */
        char **service_names;
        size_t n_services;
        sd_event_source *firewall_monitor;
        sd_event_source *route_monitor; /* follows the default route (uplink.c) */
        char uplink[IF_NAMESIZE];

        char *failure_seen; /* failure-injection.c: the instruction being counted */
        unsigned failure_count;

        WgBackend *wg;
        bool wg_ready;
        bool online;           /* setup complete and wg_ready, as last announced (Online, pic-online.target) */
        UnitTargets targets;   /* the pic-*.target units (unit-targets.h) */
        sd_event_source *stats_timer;
        sd_event_source *wg_child;
        sd_event_source *wg_start_timer; /* a wireguard-go we started is not ready yet */
        uint64_t wg_start_deadline;
        WaitList wg_waiters; /* calls waiting for it (wireguard-start.c) */
        struct ApplyOperation *apply; /* an Apply writing files (cell-apply.c) */
        struct BackupJob *backup;     /* a backup being written (backup-bus.c) */
        struct RestoreJob *restore;   /* a backup being read in (restore-bus.c) */
        bool restored;                /* a restore was committed: changes wait for the restart */
        WaitList idle_waiters;        /* changes waiting for it to end */
        DnsControl dns;
        int links_fd;
        Hashmap *links_by_name;  /* Link.remote.name → Link, owns them (link-bus.h) */
        uint64_t refused_messages; /* ReceiveMessage refusals since start (Manager.RefusedMessages) */
        struct PairingCall *pairings; /* AddLink calls waiting for the other cell (link-pairing.h) */
        struct HttpClient *http; /* requests to other cells and DDNS providers (http-client.h) */
        struct Ddns *ddns;       /* dynamic DNS (ddns-update.h) */
        InviteStore invites;     /* invites.h */
        int exits_fd;
        Hashmap *exits_by_name;  /* Exit.name → Exit, owns them (exit-bus.h) */
        bool exit_rules_stale;   /* the exits' policy rules could not be set: retried by the statistics timer */
        bool systemd_subscribed; /* Subscribe() was called: systemd sends unit signals (exit-wg.c) */
        SigningKey signing_key;  /* signing-key-file.h; made on first use */
        SetupCode setup_code;    /* until Setup (setup-code.h) */
        bool has_signing_key;
} Manager;

int manager_new(Manager **ret, ManagerConfig *config);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
/* Connects to the system bus (before the sandbox may hide /run). */
int manager_connect_bus(Manager *m);
/* Loads state, rebuilds WireGuard, publishes the objects and takes the name. */
int manager_start(Manager *m);
int manager_run(Manager *m);

/* The device, its keys and every peer, from the model, in one batch. */
int manager_reconcile(Manager *m);
void manager_watch_wireguard_go(Manager *m);

/* Peer bookkeeping: the maps and object paths. */
int manager_add_peer(Manager *m, Peer *p);
void manager_remove_peer(Manager *m, Peer *p);
int manager_replace_peer(Manager *m, Peer *old, Peer *new);
/* new takes old's place in the maps (and its queued signals); old is kept, not
 * freed, so the swap can be undone. On failure old stays indexed. */
int manager_swap_peer(Manager *m, Peer *old, Peer *new);
void manager_unindex_peer(Manager *m, Peer *p);

/* Makes a peer change real: stored durably and live in WireGuard, old
 * swapped for new in the model. old NULL adds, new NULL removes (the caller
 * then drops the object). On failure neither the files nor WireGuard nor the
 * model change. */
int manager_commit_peer(Manager *m, Peer *old, Peer *new);
/* The same for many new peers at once (an import): one batch of files, one
 * WireGuard change, one firewall transaction; all or nothing. On success the
 * model owns them. */
int manager_commit_new_peers(Manager *m, Peer *const *peers, size_t n);
/* The lowest free address of the subnet at or after start (0: anywhere) for a
 * peer without one, or -ENOSPC; nothing is reserved until the peer is indexed. */
int manager_allocate_address(Manager *m, uint32_t start, bool (*is_taken)(uint32_t addr, void *userdata),
                             void *userdata, uint32_t *ret);
