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
/* set ids that rules use to name a set created in the same batch */
#define SET_ID_SERVICE_ENDPOINTS 1
#define SET_ID_PEER_ACCESS 2
#define SET_ID_PEER_GRANTS 3
#define SET_ID_LINK_ACCESS 4

#define FIREWALL_CHAIN_PREROUTING "prerouting"
#define FIREWALL_CHAIN_INPUT "input"
#define FIREWALL_CHAIN_FORWARD "forward"
#define FIREWALL_CHAIN_POSTROUTING "postrouting"

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
        bool inject_failure;
};

typedef struct NftBatch NftBatch;
/* The chains and their rules (firewall-rules.c), into a batch that created the table and sets. */
int firewall_add_chains(Firewall *f, NftBatch *b);
