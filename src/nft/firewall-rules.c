/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The chains and rules of table inet pic: the DNAT to the dns and web
 * services, what the peers' traffic may reach (by class, looked up in the
 * sets firewall.c fills) and the masquerade out of the uplink. */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>

#include "firewall-internal.h"
#include "log.h"
#include "nft-batch.h"
#include "nft-rule.h"


int firewall_add_chain(NftBatch *b, const char *name, const char *type, uint32_t hook, int32_t priority) {
        struct nftnl_chain *c;
        int r;

        c = nftnl_chain_alloc();
        if (!c)
                return -ENOMEM;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, FIREWALL_TABLE);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        if (type) {
                nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
                nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
                nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, priority);
                /* We only ever narrow what comes from the peers; the cell's other traffic is not ours to judge. */
                nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        r = nft_batch_add_chain(b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE | NLM_F_EXCL, c);
        nftnl_chain_free(c);
        return r;
}

int firewall_commit_rule(NftBatch *b, NftRule *rule) {
        int r = rule->error;

        if (r == 0)
                r = nft_batch_add_rule(b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND, rule->rule);
        nft_rule_done(rule);
        return r;
}

static int add_dnat_rules(Firewall *f, NftBatch *b, const char *service) {
        const FirewallService *svc = firewall_get_service(f, service);
        char addr[CIDR4_STRLEN], comment[256];
        int r;

        /* Nothing to translate when the service listens on the VPN address itself. */
        if (svc->address == f->vpn_address)
                return 0;

        for (size_t i = 0; i < svc->n_ports; i++) {
                const FirewallPort *p = &svc->ports[i];
                _cleanup_(nft_rule_done) NftRule rule = {};

                snprintf(comment, sizeof comment, "%s %u/%s on the VPN address goes to %s",
                         service, p->port, p->protocol == IPPROTO_TCP ? "tcp" : "udp", ipv4_format(svc->address, addr));
                r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_PREROUTING, comment);
                if (r < 0)
                        return r;
                nft_rule_match_iifname(&rule, f->wg_ifname);
                nft_rule_match_ipv4(&rule);
                nft_rule_match_ip_daddr(&rule, f->vpn_address);
                nft_rule_match_l4proto(&rule, p->protocol);
                nft_rule_match_th_dport(&rule, p->port);
                nft_rule_dnat_ipv4(&rule, svc->address);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A rule for what the peers send (in through the WireGuard interface). */
int firewall_peer_rule_new(Firewall *f, NftRule *rule, const char *chain, const char *comment) {
        int r = nft_rule_new(rule, NFPROTO_INET, FIREWALL_TABLE, chain, comment);
        if (r < 0)
                return r;
        nft_rule_match_iifname(rule, f->wg_ifname);
        return 0;
}

/* Matches a sender holding the grant for a network class (@peer_grants). */
static void match_grant(NftRule *rule, const char *network) {
        uint32_t class = htonl(firewall_network_class(network));

        nft_rule_match_ipv4(rule);
        nft_rule_payload_load(rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_00);
        nft_rule_immediate(rule, NFT_REG32_01, &class, sizeof class);
        nft_rule_lookup(rule, NFT_REG32_00, FIREWALL_SET_PEER_GRANTS, SET_ID_PEER_GRANTS);
}

/* source . destination . protocol . port from the WireGuard interface, looked up in @set: accept. */
static int add_access_rule(Firewall *f, NftBatch *b, const char *chain, const char *set, uint32_t set_id,
                           const char *comment) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = firewall_peer_rule_new(f, &rule, chain, comment);
        if (r < 0)
                return r;
        nft_rule_match_ipv4(&rule);
        nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_00);
        nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_01);
        nft_rule_meta_load(&rule, NFT_META_L4PROTO, NFT_REG32_02);
        nft_rule_payload_load(&rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_03);
        nft_rule_lookup(&rule, NFT_REG32_00, set, set_id);
        nft_rule_verdict(&rule, NF_ACCEPT);
        return firewall_commit_rule(b, &rule);
}

static int add_common_filter_rules(Firewall *f, NftBatch *b, const char *chain) {
        int r;

        {
                _cleanup_(nft_rule_done) NftRule rule = {};
                r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, chain, "replies and related traffic");
                if (r < 0)
                        return r;
                nft_rule_match_ct_state(&rule, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
                nft_rule_verdict(&rule, NF_ACCEPT);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        r = firewall_add_exit_inbound_rule(b, chain);
        if (r < 0)
                return r;
        r = add_access_rule(f, b, chain, FIREWALL_SET_PEER_ACCESS, SET_ID_PEER_ACCESS,
                            "peers reach the services they were granted (@" FIREWALL_SET_PEER_ACCESS ")");
        if (r < 0)
                return r;
        return add_access_rule(f, b, chain, FIREWALL_SET_LINK_ACCESS, SET_ID_LINK_ACCESS,
                               "linked cells reach the services shared with them (@" FIREWALL_SET_LINK_ACCESS ")");
}

/* The last rule of a chain for what the peers send: what nothing above let through. */
static int add_peer_drop_rule(Firewall *f, NftBatch *b, const char *chain, const char *comment) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        int r = firewall_peer_rule_new(f, &rule, chain, comment);
        if (r < 0)
                return r;
        nft_rule_verdict(&rule, NF_DROP);
        return firewall_commit_rule(b, &rule);
}

static int add_input_rules(Firewall *f, NftBatch *b) {
        const uint8_t echo_request = 8;
        int r;

        r = add_common_filter_rules(f, b, FIREWALL_CHAIN_INPUT);
        if (r < 0)
                return r;
        r = firewall_add_exit_local_rule(b);
        if (r < 0)
                return r;
        {
                _cleanup_(nft_rule_done) NftRule rule = {};
                r = firewall_peer_rule_new(f, &rule, FIREWALL_CHAIN_INPUT, "peers may ping the cell's VPN address");
                if (r < 0)
                        return r;
                nft_rule_match_ipv4(&rule);
                nft_rule_match_ip_daddr(&rule, f->vpn_address);
                nft_rule_match_l4proto(&rule, IPPROTO_ICMP);
                nft_rule_payload_load(&rule, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
                nft_rule_cmp(&rule, NFT_REG_1, NFT_CMP_EQ, &echo_request, sizeof echo_request);
                nft_rule_verdict(&rule, NF_ACCEPT);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        return add_peer_drop_rule(f, b, FIREWALL_CHAIN_INPUT, "the cell host's other ports are closed to peers");
}

/* Traffic to a class of destinations: accepted from peers holding the grant, then dropped. */
static int add_grant_rules(Firewall *f, NftBatch *b, const char *network, const Cidr4 *dest, bool out_wg,
                           const char *what) {
        char comment[256];
        int r;

        for (int granted = 1; granted >= 0; granted--) {
                _cleanup_(nft_rule_done) NftRule rule = {};
                snprintf(comment, sizeof comment, granted ? "%s: peers granted \"%s\"" : "%s: no one else",
                         what, network);
                r = firewall_peer_rule_new(f, &rule, FIREWALL_CHAIN_FORWARD, comment);
                if (r < 0)
                        return r;
                if (out_wg)
                        nft_rule_match_oifname(&rule, f->wg_ifname);
                if (dest) {
                        nft_rule_match_ipv4(&rule);
                        nft_rule_match_ip_daddr_prefix(&rule, dest->addr, dest->prefix);
                }
                if (granted)
                        match_grant(&rule, network);
                nft_rule_verdict(&rule, granted ? NF_ACCEPT : NF_DROP);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_forward_rules(Firewall *f, NftBatch *b) {
        char what[64], net[CIDR4_STRLEN];
        int r;

        r = firewall_add_kill_switch_rule(f, b);
        if (r < 0)
                return r;
        r = add_common_filter_rules(f, b, FIREWALL_CHAIN_FORWARD);
        if (r < 0)
                return r;
        r = firewall_add_exit_resolver_rule(f, b);
        if (r < 0)
                return r;
        {
                _cleanup_(nft_rule_done) NftRule rule = {};
                r = firewall_peer_rule_new(f, &rule, FIREWALL_CHAIN_FORWARD,
                                  "other services are closed to peers (@" FIREWALL_SET_SERVICE_ENDPOINTS ")");
                if (r < 0)
                        return r;
                nft_rule_match_ipv4(&rule);
                nft_rule_payload_load(&rule, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_00);
                nft_rule_meta_load(&rule, NFT_META_L4PROTO, NFT_REG32_01);
                nft_rule_payload_load(&rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);
                nft_rule_lookup(&rule, NFT_REG32_00, FIREWALL_SET_SERVICE_ENDPOINTS, SET_ID_SERVICE_ENDPOINTS);
                nft_rule_verdict(&rule, NF_DROP);
                r = firewall_commit_rule(b, &rule);
                if (r < 0)
                        return r;
        }
        r = add_grant_rules(f, b, "peers", NULL, true, "other peers");
        if (r < 0)
                return r;
        for (size_t i = 0; i < f->n_lan_networks; i++) {
                snprintf(what, sizeof what, "the LAN %s", cidr4_format(&f->lan_networks[i], net));
                r = add_grant_rules(f, b, "lan", &f->lan_networks[i], false, what);
                if (r < 0)
                        return r;
        }
        return add_grant_rules(f, b, "internet", NULL, false, "the internet");
}

static int add_masquerade_rule(Firewall *f, NftBatch *b) {
        _cleanup_(nft_rule_done) NftRule rule = {};
        char comment[256], subnet[CIDR4_STRLEN];
        int r;

        snprintf(comment, sizeof comment, "peers (%s) leave through %s with its address",
                 cidr4_format(&f->vpn_subnet, subnet), f->uplink_ifname);
        r = nft_rule_new(&rule, NFPROTO_INET, FIREWALL_TABLE, FIREWALL_CHAIN_POSTROUTING, comment);
        if (r < 0)
                return r;
        nft_rule_match_oifname(&rule, f->uplink_ifname);
        nft_rule_match_ipv4(&rule);
        nft_rule_match_ip_saddr_prefix(&rule, f->vpn_subnet.addr, f->vpn_subnet.prefix);
        nft_rule_masquerade(&rule);
        return firewall_commit_rule(b, &rule);
}

int firewall_add_chains(Firewall *f, NftBatch *b) {
        int r;

        r = firewall_add_chain(b, FIREWALL_CHAIN_PREROUTING, "nat", NF_INET_PRE_ROUTING, PRIORITY_DSTNAT);
        if (r < 0)
                return r;
        r = firewall_add_exit_nat_rules(f, b);
        if (r < 0)
                return r;
        r = add_dnat_rules(f, b, "dns");
        if (r < 0)
                return r;
        r = add_dnat_rules(f, b, "web");
        if (r < 0)
                return r;

        r = firewall_add_chain(b, FIREWALL_CHAIN_STEER, "filter", NF_INET_PRE_ROUTING, PRIORITY_STEER);
        if (r < 0)
                return r;
        r = firewall_add_steer_rules(f, b);
        if (r < 0)
                return r;
        r = firewall_add_chain(b, FIREWALL_CHAIN_INPUT, "filter", NF_INET_LOCAL_IN, PRIORITY_FILTER);
        if (r < 0)
                return r;
        r = add_input_rules(f, b);
        if (r < 0)
                return r;
        r = firewall_add_chain(b, FIREWALL_CHAIN_FORWARD, "filter", NF_INET_FORWARD, PRIORITY_FILTER);
        if (r < 0)
                return r;
        r = add_forward_rules(f, b);
        if (r < 0)
                return r;

        r = firewall_add_exit_test_chains(f, b);
        if (r < 0)
                return r;

        r = firewall_add_chain(b, FIREWALL_CHAIN_POSTROUTING, "nat", NF_INET_POST_ROUTING, PRIORITY_SRCNAT);
        if (r < 0)
                return r;
        r = firewall_add_exit_masquerade_rule(b);
        if (r < 0)
                return r;
        if (!isempty(f->uplink_ifname))
                return add_masquerade_rule(f, b);
        return 0;
}
