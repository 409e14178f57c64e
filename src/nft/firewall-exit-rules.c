/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rules of table inet pic for exits (firewall.h): the steering (a mark
 * per exit, by map; TCP-only exits' TCP and DNS redirected to their local
 * ports), the kill-switch, what may come back, the masquerade. The sets and
 * maps are firewall-exits.c's. */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "firewall-internal.h"
#include "nft-batch.h"
#include "nft-rule.h"

/* meta mark & FIREWALL_EXIT_MARK_MASK == base */
static void match_mark_base(NftRule *rule, uint32_t base) {
        nft_rule_meta_load(rule, NFT_META_MARK, NFT_REG_1);
        nft_rule_and(rule, NFT_REG_1, FIREWALL_EXIT_MARK_MASK);
        nft_rule_cmp(rule, NFT_REG_1, NFT_CMP_EQ, &base, sizeof base);
}

void firewall_rule_match_exit_mark(NftRule *rule) {
        match_mark_base(rule, FIREWALL_EXIT_MARK_BASE);
}

/* Exit peers' DNS to the cell's VPN address goes to their exit's resolver (@peer_exit_dns). */
static int add_exit_dns_dnat_rules(Firewall *f, NftBatch *b) {
        static const uint8_t protocols[] = { IPPROTO_UDP, IPPROTO_TCP };

        for (size_t i = 0; i < ELEMENTSOF(protocols); i++) {
                _cleanup_(nft_rule_done) NftRule rule = {};
                int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_PREROUTING,
                                     protocols[i] == IPPROTO_UDP ?
                                     "DNS of peers behind an exit goes to its resolver (@" FIREWALL_MAP_PEER_EXIT_DNS ")" :
                                     "the same over TCP");
                if (r < 0)
                        return r;
                nft_rule_match_iifname(&rule, f->wg_ifname);
                nft_rule_match_ipv4(&rule);
                nft_rule_match_ip_daddr(&rule, f->vpn_address);
                nft_rule_match_l4proto(&rule, protocols[i]);
                nft_rule_match_th_dport(&rule, 53);
                nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
                nft_rule_map(&rule, NFT_REG_1, NFT_REG_1, FIREWALL_MAP_PEER_EXIT_DNS, SET_ID_PEER_EXIT_DNS);
                nft_rule_dnat_ipv4_reg(&rule, NFT_REG_1);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* meta mark set ip saddr map @peer_exits: no element, no mark. */
static void set_exit_mark(NftRule *rule) {
        nft_rule_payload_load(rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
        nft_rule_map(rule, NFT_REG_1, NFT_REG_1, FIREWALL_MAP_PEER_EXITS, SET_ID_PEER_EXITS);
        nft_rule_meta_set(rule, NFT_META_MARK, NFT_REG_1);
}

static int add_steer_bypass(Firewall *f, NftBatch *b, const char *chain, const Cidr4 *net, const char *what) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        char comment[256], s[CIDR4_STRLEN];

        snprintf(comment, sizeof comment, "%s %s: not through an exit", what, cidr4_format(net, s));
        int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, chain, comment);
        if (r < 0)
                return r;
        nft_rule_match_iifname(&rule, f->wg_ifname);
        nft_rule_match_ipv4(&rule);
        nft_rule_match_ip_daddr_prefix(&rule, net->addr, net->prefix);
        nft_rule_verdict(&rule, NFT_RETURN);
        return firewall_commit_rule(b, &rule);
}

/* What is not the internet does not go through an exit: the VPN subnet, the LAN, linked cells. */
static int add_steer_bypasses(Firewall *f, NftBatch *b, const char *chain) {
        Cidr4 subnet = { cidr4_network(&f->vpn_subnet), f->vpn_subnet.prefix };
        int r = add_steer_bypass(f, b, chain, &subnet, "the VPN subnet");
        for (size_t i = 0; r >= 0 && i < f->n_lan_networks; i++)
                r = add_steer_bypass(f, b, chain, &f->lan_networks[i], "the LAN");
        for (size_t i = 0; r >= 0 && i < f->n_links; i++)
                r = add_steer_bypass(f, b, chain, &f->links[i].subnet, "a linked cell");
        return r;
}

/* Marks what peers behind an exit send to the internet (and to the exits' resolvers) with its mark. */
int firewall_add_steer_rules(Firewall *f, NftBatch *b) {
        int r;

        {
                _cleanup_(nft_rule_done) NftRule rule = {};
                r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_STEER,
                                 "queries to the exits' resolvers go through the peer's exit");
                if (r < 0)
                        return r;
                nft_rule_match_iifname(&rule, f->wg_ifname);
                nft_rule_match_ipv4(&rule);
                nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
                nft_rule_lookup(&rule, NFT_REG_1, FIREWALL_SET_EXIT_DNS, SET_ID_EXIT_DNS);
                set_exit_mark(&rule);
                nft_rule_verdict(&rule, NFT_RETURN);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        r = add_steer_bypasses(f, b, FIREWALL_CHAIN_STEER);
        if (r < 0)
                return r;

        _cleanup_(nft_rule_done) NftRule rule = {};
        r = firewall_peer_rule_new(f, &rule, FIREWALL_CHAIN_STEER,
                          "the internet: peers behind an exit get its mark (@" FIREWALL_MAP_PEER_EXITS ")");
        if (r < 0)
                return r;
        nft_rule_match_ipv4(&rule);
        set_exit_mark(&rule);
        return firewall_commit_rule(b, &rule);
}

/* The kill-switch, first in forward: exit-marked traffic leaves only by its
 * exit's interface while that exit is up (@exit_paths), connections already
 * established included. */
int firewall_add_kill_switch_rule(Firewall *f, NftBatch *b) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_FORWARD,
                             "kill-switch: traffic for an exit leaves by it while it is up, or not at all "
                             "(@" FIREWALL_SET_EXIT_PATHS ")");
        if (r < 0)
                return r;
        firewall_rule_match_exit_mark(&rule);
        nft_rule_meta_load(&rule, NFT_META_MARK, NFT_REG32_00);
        nft_rule_meta_load(&rule, NFT_META_OIFNAME, NFT_REG32_01);
        nft_rule_lookup_not(&rule, NFT_REG32_00, FIREWALL_SET_EXIT_PATHS, SET_ID_EXIT_PATHS);
        nft_rule_verdict(&rule, NF_DROP);
        return firewall_commit_rule(b, &rule);
}

/* Beyond replies, nothing comes in from an exit: its far side is not ours to trust. */
int firewall_add_exit_inbound_rule(NftBatch *b, const char *chain) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, chain,
                             "nothing but replies from an exit's interface (@" FIREWALL_SET_EXIT_IFACES ")");
        if (r < 0)
                return r;
        nft_rule_meta_load(&rule, NFT_META_IIFNAME, NFT_REG_1);
        nft_rule_lookup(&rule, NFT_REG_1, FIREWALL_SET_EXIT_IFACES, SET_ID_EXIT_IFACES);
        nft_rule_verdict(&rule, NF_DROP);
        return firewall_commit_rule(b, &rule);
}

int firewall_add_exit_masquerade_rule(NftBatch *b) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_POSTROUTING,
                             "peers behind an exit leave by it with its address");
        if (r < 0)
                return r;
        firewall_rule_match_exit_mark(&rule);
        nft_rule_masquerade(&rule);
        return firewall_commit_rule(b, &rule);
}


/* Peers behind an exit reach its resolvers (the DNAT above sent them there). */
int firewall_add_exit_resolver_rule(Firewall *f, NftBatch *b) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_FORWARD,
                             "peers behind an exit reach its resolvers (@" FIREWALL_SET_EXIT_DNS ")");
        if (r < 0)
                return r;
        firewall_rule_match_exit_mark(&rule);
        nft_rule_match_ipv4(&rule);
        nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
        nft_rule_lookup(&rule, NFT_REG_1, FIREWALL_SET_EXIT_DNS, SET_ID_EXIT_DNS);
        nft_rule_match_th_dport(&rule, 53);
        nft_rule_verdict(&rule, NF_ACCEPT);
        return firewall_commit_rule(b, &rule);
}

/* One rule: mark set from @peer_exits, then redirect to the port @map gives the sender
 * (a peer not in it: no match, nothing set). */
static void redirect_to_exit_port(NftRule *rule, const char *map, uint32_t map_id) {
        nft_rule_payload_load(rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
        nft_rule_map(rule, NFT_REG_1, NFT_REG_2, map, map_id);
        nft_rule_payload_load(rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
        nft_rule_map(rule, NFT_REG_1, NFT_REG_1, FIREWALL_MAP_PEER_EXITS, SET_ID_PEER_EXITS);
        nft_rule_meta_set(rule, NFT_META_MARK, NFT_REG_1);
        nft_rule_redirect_reg(rule, NFT_REG_2);
}

/* TCP-only exits (tor): their peers' DNS to the cell's VPN address and their TCP to the
 * internet are redirected to the exit's local ports; the rest of what they send carries the
 * mark and meets the kill-switch (no exit path is ever open for them). */
static int add_exit_redirect_rules(Firewall *f, NftBatch *b) {
        static const uint8_t protocols[] = { IPPROTO_UDP, IPPROTO_TCP };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(protocols); i++) {
                _cleanup_(nft_rule_done) NftRule rule = {};
                r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_PREROUTING,
                                 protocols[i] == IPPROTO_UDP ?
                                 "DNS of peers behind a TCP-only exit goes to its resolver port "
                                 "(@" FIREWALL_MAP_PEER_EXIT_DNS_PORTS ")" : "the same over TCP");
                if (r < 0)
                        return r;
                nft_rule_match_iifname(&rule, f->wg_ifname);
                nft_rule_match_ipv4(&rule);
                nft_rule_match_ip_daddr(&rule, f->vpn_address);
                nft_rule_match_l4proto(&rule, protocols[i]);
                nft_rule_match_th_dport(&rule, 53);
                redirect_to_exit_port(&rule, FIREWALL_MAP_PEER_EXIT_DNS_PORTS, SET_ID_PEER_EXIT_DNS_PORTS);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        r = firewall_add_chain(b, FIREWALL_CHAIN_STEER_TCP, NULL, 0, 0);
        if (r >= 0)
                r = add_steer_bypasses(f, b, FIREWALL_CHAIN_STEER_TCP);
        if (r < 0)
                return r;
        _cleanup_(nft_rule_done) NftRule redirect = {};
        r = nft_rule_new(&redirect, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_STEER_TCP,
                         "the internet: to the exit's transparent port (@" FIREWALL_MAP_PEER_EXIT_TCP_PORTS ")");
        if (r < 0)
                return r;
        nft_rule_match_ipv4(&redirect);
        redirect_to_exit_port(&redirect, FIREWALL_MAP_PEER_EXIT_TCP_PORTS, SET_ID_PEER_EXIT_TCP_PORTS);
        r = firewall_commit_rule(b, &redirect);
        if (r < 0)
                return r;
        /* the chain exists now: prerouting may jump to it */
        _cleanup_(nft_rule_done) NftRule rule = {};
        r = firewall_peer_rule_new(f, &rule, FIREWALL_CHAIN_PREROUTING, "TCP of peers behind a TCP-only exit");
        if (r < 0)
                return r;
        nft_rule_match_l4proto(&rule, IPPROTO_TCP);
        nft_rule_jump(&rule, FIREWALL_CHAIN_STEER_TCP);
        return firewall_commit_rule(b, &rule);
}

int firewall_add_exit_nat_rules(Firewall *f, NftBatch *b) {
        if (f->n_exits == 0)
                return 0;
        int r = add_exit_dns_dnat_rules(f, b);
        return r < 0 ? r : add_exit_redirect_rules(f, b);
}

/* A redirected connection's first packet reaches the exit's local port while the exit is up
 * (@exit_local_paths); later ones are established. */
int firewall_add_exit_local_rule(NftBatch *b) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_INPUT,
                             "peers behind a TCP-only exit reach its ports while it is up (@" FIREWALL_SET_EXIT_LOCAL ")");
        if (r < 0)
                return r;
        firewall_rule_match_exit_mark(&rule);
        nft_rule_meta_load(&rule, NFT_META_MARK, NFT_REG32_00);
        nft_rule_payload_load(&rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
        nft_rule_lookup(&rule, NFT_REG32_00, FIREWALL_SET_EXIT_LOCAL, SET_ID_EXIT_LOCAL);
        nft_rule_verdict(&rule, NF_ACCEPT);
        return firewall_commit_rule(b, &rule);
}

/* Exit.Test() of a TCP-only exit: pic-celld's connection, with the exit's test mark, goes to the
 * exit's transparent port as a peer's would; a test-marked packet going anywhere else is dropped. */
int firewall_add_exit_test_chains(Firewall *f, NftBatch *b) {
        uint32_t vpn_be = htonl(f->vpn_address);
        int r;

        if (f->n_exits == 0)
                return 0;
        r = firewall_add_chain(b, FIREWALL_CHAIN_OUTPUT_NAT, "nat", NF_INET_LOCAL_OUT, PRIORITY_DSTNAT);
        for (size_t i = 0; r >= 0 && i < f->n_exits; i++) {
                const FirewallExit *e = &f->exits[i];
                uint32_t mark = FIREWALL_EXIT_TEST_MARK_BASE | (e->mark & ~FIREWALL_EXIT_MARK_MASK);
                if (!e->tcp_port)
                        continue;
                _cleanup_(nft_rule_done) NftRule rule = {};
                r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_OUTPUT_NAT,
                                 "Exit.Test() through a TCP-only exit: to its transparent port");
                if (r < 0)
                        return r;
                nft_rule_meta_load(&rule, NFT_META_MARK, NFT_REG_1);
                nft_rule_cmp(&rule, NFT_REG_1, NFT_CMP_EQ, &mark, sizeof mark);
                nft_rule_match_ipv4(&rule);
                nft_rule_match_l4proto(&rule, IPPROTO_TCP);
                nft_rule_dnat_ipv4_port(&rule, f->vpn_address, e->tcp_port);
                r = firewall_commit_rule(b, &rule);
        }
        if (r >= 0)
                r = firewall_add_chain(b, FIREWALL_CHAIN_OUTPUT, "filter", NF_INET_LOCAL_OUT, PRIORITY_FILTER);
        if (r < 0)
                return r;
        _cleanup_(nft_rule_done) NftRule rule = {};
        r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_OUTPUT,
                         "Exit.Test()'s connections reach an exit's port or nothing");
        if (r < 0)
                return r;
        match_mark_base(&rule, FIREWALL_EXIT_TEST_MARK_BASE);
        nft_rule_match_ipv4(&rule);
        nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
        nft_rule_cmp(&rule, NFT_REG_1, NFT_CMP_NEQ, &vpn_be, sizeof vpn_be);
        nft_rule_verdict(&rule, NF_DROP);
        return firewall_commit_rule(b, &rule);
}
