/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What firewall*.c share: the Firewall object and the names in our table. */

#include <netinet/in.h> /* before any linux/ header that pulls in linux/in.h */
#include <linux/netfilter/nf_conntrack_common.h>

#include "firewall.h"

#define FIREWALL_N_SERVICES 6

#define FIREWALL_SET_SERVICE_ENDPOINTS "service_endpoints"
#define FIREWALL_SET_PEER_ACCESS "peer_access"
#define FIREWALL_SET_PEER_GRANTS "peer_grants"
#define FIREWALL_SET_LINK_ACCESS "link_access"
#define FIREWALL_MAP_PEER_EXITS "peer_exits"
#define FIREWALL_MAP_PEER_EXIT_DNS "peer_exit_dns"
#define FIREWALL_SET_EXIT_PATHS "exit_paths"
#define FIREWALL_SET_EXIT_DNS "exit_dns_servers"
#define FIREWALL_SET_EXIT_IFACES "exit_interfaces"
#define FIREWALL_MAP_PEER_EXIT_TCP_PORTS "peer_exit_tcp_ports"
#define FIREWALL_MAP_PEER_EXIT_DNS_PORTS "peer_exit_dns_ports"
#define FIREWALL_SET_EXIT_LOCAL "exit_local_paths"
/* set ids that rules use to name a set created in the same batch */
#define SET_ID_SERVICE_ENDPOINTS 1
#define SET_ID_PEER_ACCESS 2
#define SET_ID_PEER_GRANTS 3
#define SET_ID_LINK_ACCESS 4
#define SET_ID_PEER_EXITS 5
#define SET_ID_PEER_EXIT_DNS 6
#define SET_ID_EXIT_PATHS 7
#define SET_ID_EXIT_DNS 8
#define SET_ID_EXIT_IFACES 9
#define SET_ID_PEER_EXIT_TCP_PORTS 10
#define SET_ID_PEER_EXIT_DNS_PORTS 11
#define SET_ID_EXIT_LOCAL 12

/* nft(8)'s datatype numbers, so `nft list` shows the key types by name. */
#define NFT_TYPE_BITS 6
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_INET_PROTOCOL 12
#define NFT_TYPE_INET_SERVICE 13
#define NFT_TYPE_MARK 19
#define NFT_TYPE_IFNAME 41

#define FIREWALL_CHAIN_PREROUTING "prerouting"
#define FIREWALL_CHAIN_INPUT "input"
#define FIREWALL_CHAIN_FORWARD "forward"
#define FIREWALL_CHAIN_POSTROUTING "postrouting"
#define FIREWALL_CHAIN_STEER "steer"
#define FIREWALL_CHAIN_STEER_TCP "steer_tcp"
#define FIREWALL_CHAIN_OUTPUT_NAT "output_nat"
#define FIREWALL_CHAIN_OUTPUT "output"

/* nft's chain priorities: dstnat, filter, srcnat; the steering after the DNAT */
#define PRIORITY_DSTNAT (-100)
#define PRIORITY_STEER (-90)
#define PRIORITY_FILTER 0
#define PRIORITY_SRCNAT 100

#define IN_SET_PROTO(p) ((p) == IPPROTO_TCP || (p) == IPPROTO_UDP)

struct Firewall {
        char wg_ifname[IFNAMSIZ];
        char uplink_ifname[IFNAMSIZ]; /* "": no masquerade */
        Cidr4 vpn_subnet;
        uint32_t vpn_address;
        FirewallService services[FIREWALL_N_SERVICES]; /* defaults with overrides, addresses resolved */
        Cidr4 lan_networks[FIREWALL_LAN_NETWORKS_MAX];
        size_t n_lan_networks;
        FirewallLink *links;  /* copies; each services strv owned */
        size_t n_links;
        FirewallExit *exits;  /* copies */
        size_t n_exits;
        bool inject_failure;
};

typedef struct NftBatch NftBatch;
struct nftnl_set;
struct NftRule;
/* The chains and their rules (firewall-rules.c), into a batch that created the table and sets. */
int firewall_add_chains(Firewall *f, NftBatch *b);
/* A base chain (type and hook given) or, with type NULL, a regular one (a jump's target). */
int firewall_add_chain(NftBatch *b, const char *name, const char *type, uint32_t hook, int32_t priority);
/* Appends the rule to the batch (or returns its first building error) and frees it. */
int firewall_commit_rule(NftBatch *b, struct NftRule *rule);
/* A rule for what the peers send (in through the WireGuard interface). */
int firewall_peer_rule_new(Firewall *f, struct NftRule *rule, const char *chain, const char *comment);

/* Exits' rules (firewall-exit-rules.c), each where firewall-rules.c calls it. */
int firewall_add_exit_nat_rules(Firewall *f, NftBatch *b);     /* prerouting (nat), before the services' DNAT */
int firewall_add_steer_rules(Firewall *f, NftBatch *b);        /* chain steer */
int firewall_add_kill_switch_rule(Firewall *f, NftBatch *b);   /* first in forward */
int firewall_add_exit_inbound_rule(NftBatch *b, const char *chain); /* input, forward: after established */
int firewall_add_exit_resolver_rule(Firewall *f, NftBatch *b); /* forward */
int firewall_add_exit_local_rule(NftBatch *b);                 /* input */
int firewall_add_exit_masquerade_rule(NftBatch *b);            /* postrouting */
int firewall_add_exit_test_chains(Firewall *f, NftBatch *b);    /* output_nat and output, their own */

/* Collects elements into messages of at most NFT_BATCH_ELEMS_PER_MESSAGE (firewall.c). */
typedef struct ElemWriter {
        NftBatch *batch;
        const char *set;
        uint16_t type;
        struct nftnl_set *chunk;
        size_t n;
} ElemWriter;

int elem_writer_flush(ElemWriter *w);
int elem_writer_add(ElemWriter *w, const void *key, uint32_t len);
/* key_end: the range's last key (interval sets), or NULL. */
int elem_writer_add_range(ElemWriter *w, const void *key, const void *key_end, uint32_t len);
/* A map's element: key → data. */
int elem_writer_add_mapping(ElemWriter *w, const void *key, uint32_t len, const void *data, uint32_t data_len);
void elem_writer_done(ElemWriter *w);
int add_keys(ElemWriter *w, const void *keys, size_t n, size_t size);
/* A set keyed by a concatenation of n_fields fields (one field is fine too). */
int add_set(NftBatch *b, const char *name, uint32_t id, const uint32_t *types, const uint8_t *field_len,
            size_t n_fields, uint32_t extra_flags);

/* Exits (firewall-exits.c): their sets and elements, when the table is built;
 * the rules that use them are firewall-rules.c's. */
int firewall_copy_exits(Firewall *f, const FirewallExit *exits, size_t n);
int firewall_add_exit_sets(Firewall *f, NftBatch *b);
/* The exit elements of peers (maps peer_exits, peer_exit_dns), old → new. */
int firewall_write_peer_exit(NftBatch *b, const FirewallPeer *old, const FirewallPeer *new);
int firewall_add_peer_exits(NftBatch *b, const FirewallPeer *peers, size_t n);
void firewall_rule_match_exit_mark(struct NftRule *rule);
