/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pic-celld's firewall: one nftables table of its own, `inet pic`, written
 * with libnftnl in single batch transactions over netlink, in the caller's
 * current network namespace. Nothing here touches another table or flushes
 * the ruleset.
 *
 * The table (see firewall_dump() for what the kernel holds):
 *   set service_endpoints  ipv4_addr . inet_proto . inet_service
 *       every (address, protocol, port) a named service is served on
 *   set peer_access        ipv4_addr . ipv4_addr . inet_proto . inet_service
 *       (peer address . service address . protocol . port) a peer may reach
 *   set peer_grants        ipv4_addr . mark
 *       (peer address . network class) for the networks a peer may reach:
 *       firewall_network_class() of "internet", "lan" or "peers"
 *   chain prerouting (nat, dstnat): from the WireGuard interface to the cell's
 *       VPN address, 53/udp+tcp → the dns service address, 80,443/tcp → web
 *   set link_access        ipv4_addr . ipv4_addr . inet_proto . inet_service, intervals
 *       (linked cell's subnet . service address . protocol . port): what this
 *       cell shares with each linked cell (one range per linked subnet)
 *   chain input (filter, policy accept): established/related accept; from the
 *       WireGuard interface: @peer_access accept, @link_access accept, ping of the cell's VPN
 *       address accept, anything else (the host's other ports) drop
 *   chain forward (filter, policy accept): established/related accept; from
 *       the WireGuard interface: @peer_access accept, @link_access accept, @service_endpoints drop;
 *       back out of it (another peer): "peers" grant accept, else drop; to a
 *       LAN network: "lan" grant accept, else drop; anything else (the
 *       internet): "internet" grant accept, else drop
 *   chain postrouting (nat, srcnat): out of the uplink from the VPN subnet:
 *       masquerade (no chain when the uplink is empty)
 * Per-peer facts are set elements only, so the rule count does not depend on
 * the number of peers. The DNAT runs before the filter, so the filter and the
 * sets see the service address, not the cell's VPN address.
 *
 * Addresses are IPv4 in host byte order (as in cidr.h). Errors are negative
 * errnos; a batch the kernel refuses changes nothing (nftables transactions
 * are all or nothing) and the first error of the batch is returned. */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "macro.h"

#define FIREWALL_TABLE "pic"
#define FIREWALL_SERVICE_PORTS_MAX 8
#define FIREWALL_LAN_NETWORKS_MAX 16

typedef struct FirewallPort {
        uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t port;
} FirewallPort;

typedef struct FirewallService {
        const char *name; /* one of firewall_service_names() */
        uint32_t address; /* where it is served; 0: the cell's VPN address */
        FirewallPort ports[FIREWALL_SERVICE_PORTS_MAX];
        size_t n_ports;
} FirewallService;

/* A linked cell: its subnet may reach the services this cell shares with it. */
typedef struct FirewallLink {
        Cidr4 subnet;
        char **services; /* NULL-terminated service names; NULL: none */
} FirewallLink;

/* Exits (firewall-exits.c, firewall-exit-rules.c): a peer's internet traffic is marked with its
 * exit's mark (map peer_exits, chain steer, after the DNAT so it sees the
 * destination a packet really goes to; destinations in the VPN subnet, the
 * LAN and linked subnets are not marked) and policy routing (pic-celld's rules)
 * sends it to the exit's table. Kill-switch, the forward chain's first rule:
 * a packet carrying an exit mark leaves only by that exit's interface while
 * the exit is up (set exit_paths: mark . interface), else it is dropped, even
 * an established connection's. The peers' DNS to the cell's VPN address goes
 * to their exit's DNS server when it has one (map peer_exit_dns), through the
 * exit. A TCP-only exit (tor) has local ports instead of an interface: its
 * peers' TCP to the internet and their DNS are redirected there (maps
 * peer_exit_tcp_ports, peer_exit_dns_ports; set exit_local_paths opens them
 * while it is up), and everything else they send meets the kill-switch.
 * Nothing comes in from an exit's interface but replies. */
#define FIREWALL_EXIT_MARK_BASE 0x00a50000U
/* Exit.Test() of a TCP-only exit: pic-celld's connection carries this base | the exit's number
 * and is sent to the exit's transparent port (its destination kept for the program to read);
 * with this mark nothing else leaves the box. No policy rule matches it. */
#define FIREWALL_EXIT_TEST_MARK_BASE 0x00a60000U
#define FIREWALL_EXIT_MARK_MASK 0xffff0000U
#define FIREWALL_EXITS_MAX 64
#define FIREWALL_EXIT_DNS_MAX 4

typedef struct FirewallExit {
        uint32_t mark;              /* FIREWALL_EXIT_MARK_BASE | its number */
        char ifname[IFNAMSIZ];      /* its tunnel's interface; "" for a TCP-only exit */
        uint16_t tcp_port, dns_port; /* a TCP-only exit's local ports (transparent TCP, DNS); 0 for a tunnel */
        bool up;                    /* its peers' traffic may leave (exit_paths, exit_local_paths) */
        uint32_t dns[FIREWALL_EXIT_DNS_MAX]; /* resolvers reached through it */
        size_t n_dns;
} FirewallExit;

typedef struct FirewallConfig {
        const char *wg_ifname;     /* the WireGuard interface (required) */
        const char *uplink_ifname; /* NULL or "": no masquerade */
        Cidr4 vpn_subnet;
        uint32_t vpn_address;      /* the cell's own VPN address (DNAT match) */
        /* Entries replacing the default of the same name; names must be known. */
        const FirewallService *services;
        size_t n_services;
        /* What counts as the LAN; NULL: firewall_default_lan_networks(). */
        const Cidr4 *lan_networks;
        size_t n_lan_networks;
        /* Linked cells and what is shared with each (copied). */
        const FirewallLink *links;
        size_t n_links;
        /* Exits (copied); at most FIREWALL_EXITS_MAX. */
        const FirewallExit *exits;
        size_t n_exits;
} FirewallConfig;

typedef struct FirewallPeer {
        uint32_t address;
        char **services; /* NULL-terminated service names; NULL: none */
        char **networks; /* NULL-terminated network names; NULL: none */
        uint32_t exit_mark; /* 0: the uplink; else its exit's mark (one that is no exit's: all dropped) */
        uint32_t exit_dns;  /* 0: the cell's DNS; else where its DNS queries go */
        uint16_t exit_tcp_port, exit_dns_port; /* behind a TCP-only exit: its local ports (0: none) */
} FirewallPeer;

typedef struct Firewall Firewall;

/* The known service names, NULL-terminated: dns web mail calendar files webdav. */
const char *const *firewall_service_names(void);
/* The built-in service table (FIREWALL_N_SERVICES entries, addresses 0). */
const FirewallService *firewall_default_services(size_t *ret_n);
/* True if name is a known service. */
bool firewall_service_known(const char *name);
/* The networks a peer may be granted, NULL-terminated: internet lan peers. */
const char *const *firewall_network_names(void);
/* The class number of a network name in peer_grants (1…), 0 if unknown. */
uint32_t firewall_network_class(const char *name);
/* Private, CGNAT and link-local ranges. */
const Cidr4 *firewall_default_lan_networks(size_t *ret_n);

/* Copies and validates c: -EINVAL for a missing/too long interface name, an
 * unknown service name, a service without ports or with a bad protocol.
 * Talks to nobody. */
int firewall_new(Firewall **ret, const FirewallConfig *c);
Firewall *firewall_free(Firewall *f);

/* The effective service (defaults with overrides, address resolved), or NULL. */
const FirewallService *firewall_get_service(Firewall *f, const char *name);

/* Replaces the whole table (ours only) with the configuration and all peers'
 * elements in one transaction: creates it if missing, deletes and rebuilds it
 * otherwise. -EINVAL (nothing sent) for an unknown service name. */
int firewall_apply(Firewall *f, const FirewallPeer *peers, size_t n_peers);

/* One transaction changing only one peer's elements, old → new (either NULL:
 * added or removed; the address may change too): elements of old that new
 * lacks are removed, all of new's are (re-)added. Idempotent: removing an
 * element that is not there or adding one that is are not errors, so a stale
 * old still ends with exactly new granted. -EINVAL (nothing sent) for an
 * unknown service or network name; -ENOENT if our table does not exist (call
 * firewall_apply()). */
int firewall_change_peer(Firewall *f, const FirewallPeer *old, const FirewallPeer *new);

/* Many new peers' elements in one transaction (an import); -EINVAL as above. */
int firewall_add_peers(Firewall *f, const FirewallPeer *peers, size_t n);

/* Only the services of one peer at one address (its networks stay as they are). */
int firewall_set_peer_access(Firewall *f, uint32_t peer_address, char **old_services, char **new_services);

/* Removes the peer's elements for services (its current ServiceAccess). */
int firewall_remove_peer(Firewall *f, uint32_t peer_address, char **services);

/* One transaction changing whether an exit's peers' traffic may leave by its
 * interface (its element of exit_paths); -ENOENT for an exit the table was not
 * built with. */
int firewall_set_exit_up(Firewall *f, uint32_t mark, bool up);

/* The table as the kernel has it now, read back over netlink: chains (hook,
 * priority, policy), rules (handle, what they do, the kernel's expressions)
 * and sets with their elements (sorted), as text. -ENOENT if there is no table. */
int firewall_dump(Firewall *f, char **ret_text);

/* 1 if our table exists, 0 if not, negative errno on failure. */
int firewall_table_exists(Firewall *f);

/* A non-blocking netlink socket subscribed to nftables events in the current
 * network namespace; poll it for EPOLLIN and call firewall_monitor_process(). */
int firewall_open_monitor(int *ret_fd);
/* Drains pending events. *ret_table_gone is true when our table was deleted
 * (`nft delete table inet pic`, `nft flush ruleset`) and does not exist now:
 * our own firewall_apply() deletes and recreates it, which is not "gone". When
 * events were lost (ENOBUFS) the table is checked directly. */
int firewall_monitor_process(int fd, bool *ret_table_gone);

/* Tests only: the next transaction gets one invalid message appended at the
 * end, so the kernel refuses the whole batch. */
void firewall_test_inject_failure(Firewall *f, bool enable);

DEFINE_TRIVIAL_CLEANUP_FUNC(Firewall *, firewall_free);
