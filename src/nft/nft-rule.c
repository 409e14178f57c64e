/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <net/if.h>

#include "nft-rule.h"

int nft_rule_new(NftRule *ret, uint16_t family, const char *table, const char *chain, const char *comment) {
        struct nftnl_rule *rule;

        rule = nftnl_rule_alloc();
        if (!rule)
                return -ENOMEM;
        nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, family);
        nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, chain);

        if (comment) {
                struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc(strlen(comment) + 16);

                if (!udata || !nftnl_udata_put_strz(udata, NFTNL_UDATA_RULE_COMMENT, comment)) {
                        nftnl_udata_buf_free(udata);
                        nftnl_rule_free(rule);
                        return -ENOMEM;
                }
                nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
                nftnl_udata_buf_free(udata);
        }

        *ret = (NftRule) { .rule = rule };
        return 0;
}

void nft_rule_done(NftRule *r) {
        if (r->rule)
                nftnl_rule_free(r->rule);
        r->rule = NULL;
}

static struct nftnl_expr *expr_new(NftRule *r, const char *name) {
        struct nftnl_expr *e;

        if (r->error < 0)
                return NULL;
        e = nftnl_expr_alloc(name);
        if (!e)
                r->error = -ENOMEM;
        return e;
}

static void expr_add(NftRule *r, struct nftnl_expr *e) {
        nftnl_rule_add_expr(r->rule, e);
}

void nft_rule_meta_load(NftRule *r, uint32_t key, uint32_t dreg) {
        struct nftnl_expr *e = expr_new(r, "meta");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
        expr_add(r, e);
}

void nft_rule_payload_load(NftRule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
        struct nftnl_expr *e = expr_new(r, "payload");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
        expr_add(r, e);
}

void nft_rule_cmp(NftRule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len) {
        struct nftnl_expr *e = expr_new(r, "cmp");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, data, len);
        expr_add(r, e);
}

/* A set lookup: flags (NFT_LOOKUP_F_INV) and dreg (a map's value; 0: none) as given. */
static void add_lookup(NftRule *r, uint32_t sreg, uint32_t dreg, uint32_t flags, const char *set, uint32_t set_id) {
        struct nftnl_expr *e = expr_new(r, "lookup");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
        if (dreg)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
        if (set_id != 0)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
        if (flags)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, flags);
        expr_add(r, e);
}

void nft_rule_lookup(NftRule *r, uint32_t sreg, const char *set, uint32_t set_id) {
        add_lookup(r, sreg, 0, 0, set, set_id);
}

void nft_rule_lookup_not(NftRule *r, uint32_t sreg, const char *set, uint32_t set_id) {
        add_lookup(r, sreg, 0, NFT_LOOKUP_F_INV, set, set_id);
}

void nft_rule_map(NftRule *r, uint32_t sreg, uint32_t dreg, const char *map, uint32_t map_id) {
        add_lookup(r, sreg, dreg, 0, map, map_id);
}

void nft_rule_meta_set(NftRule *r, uint32_t key, uint32_t sreg) {
        struct nftnl_expr *e = expr_new(r, "meta");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
        expr_add(r, e);
}

void nft_rule_and(NftRule *r, uint32_t reg, uint32_t mask_be) {
        uint32_t zero = 0;
        struct nftnl_expr *e = expr_new(r, "bitwise");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
        nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, &mask_be, sizeof mask_be);
        nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
        expr_add(r, e);
}

void nft_rule_jump(NftRule *r, const char *chain) {
        struct nftnl_expr *e = expr_new(r, "immediate");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t) NFT_JUMP);
        nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
        expr_add(r, e);
}

void nft_rule_redirect_reg(NftRule *r, uint32_t port_reg) {
        struct nftnl_expr *e = expr_new(r, "redir");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, port_reg);
        expr_add(r, e);
}

void nft_rule_immediate(NftRule *r, uint32_t dreg, const void *data, uint32_t len) {
        struct nftnl_expr *e = expr_new(r, "immediate");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
        nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, data, len);
        expr_add(r, e);
}

void nft_rule_verdict(NftRule *r, int verdict) {
        struct nftnl_expr *e = expr_new(r, "immediate");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t) verdict);
        expr_add(r, e);
}

static void match_ifname(NftRule *r, uint32_t key, const char *ifname) {
        char name[IFNAMSIZ] = {};

        /* Zero-padded to IFNAMSIZ, as the kernel's register holds it. */
        strncpy(name, ifname, sizeof name - 1);
        nft_rule_meta_load(r, key, NFT_REG_1);
        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, name, sizeof name);
}

void nft_rule_match_iifname(NftRule *r, const char *ifname) {
        match_ifname(r, NFT_META_IIFNAME, ifname);
}

void nft_rule_match_oifname(NftRule *r, const char *ifname) {
        match_ifname(r, NFT_META_OIFNAME, ifname);
}

void nft_rule_match_ipv4(NftRule *r) {
        uint8_t proto = NFPROTO_IPV4;

        nft_rule_meta_load(r, NFT_META_NFPROTO, NFT_REG_1);
        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, sizeof proto);
}

void nft_rule_match_ip_daddr(NftRule *r, uint32_t addr) {
        uint32_t be = htonl(addr);

        nft_rule_payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &be, sizeof be);
}

static void match_ip_prefix(NftRule *r, uint32_t offset, uint32_t network, uint8_t prefix) {
        uint32_t mask = htonl(prefix == 0 ? 0 : UINT32_MAX << (32 - prefix));
        uint32_t net = htonl(network) & mask, zero = 0;
        struct nftnl_expr *e;

        nft_rule_payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, offset, 4, NFT_REG_1);
        e = expr_new(r, "bitwise");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
        nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof mask);
        nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
        expr_add(r, e);
        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &net, sizeof net);
}

void nft_rule_match_ip_saddr_prefix(NftRule *r, uint32_t network, uint8_t prefix) {
        match_ip_prefix(r, 12, network, prefix);
}

void nft_rule_match_ip_daddr_prefix(NftRule *r, uint32_t network, uint8_t prefix) {
        match_ip_prefix(r, 16, network, prefix);
}

void nft_rule_match_l4proto(NftRule *r, uint8_t protocol) {
        nft_rule_meta_load(r, NFT_META_L4PROTO, NFT_REG_1);
        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &protocol, sizeof protocol);
}

void nft_rule_match_th_dport(NftRule *r, uint16_t port) {
        uint16_t be = htons(port);

        nft_rule_payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &be, sizeof be);
}

void nft_rule_match_ct_state(NftRule *r, uint32_t state_bits) {
        uint32_t zero = 0;
        struct nftnl_expr *e;

        e = expr_new(r, "ct");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        expr_add(r, e);

        e = expr_new(r, "bitwise");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
        nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, &state_bits, sizeof state_bits);
        nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
        expr_add(r, e);

        nft_rule_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof zero);
}

/* port_reg 0: the port is left as it is. */
static void dnat_ipv4_regs(NftRule *r, uint32_t addr_reg, uint32_t port_reg) {
        struct nftnl_expr *e = expr_new(r, "nat");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg);
        if (port_reg)
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, port_reg);
        expr_add(r, e);
}

void nft_rule_dnat_ipv4_reg(NftRule *r, uint32_t reg) {
        dnat_ipv4_regs(r, reg, 0);
}

void nft_rule_dnat_ipv4(NftRule *r, uint32_t addr) {
        uint32_t be = htonl(addr);

        nft_rule_immediate(r, NFT_REG_1, &be, sizeof be);
        nft_rule_dnat_ipv4_reg(r, NFT_REG_1);
}

void nft_rule_dnat_ipv4_port(NftRule *r, uint32_t addr, uint16_t port) {
        uint32_t be = htonl(addr);
        uint16_t port_be = htons(port);

        nft_rule_immediate(r, NFT_REG_1, &be, sizeof be);
        nft_rule_immediate(r, NFT_REG_2, &port_be, sizeof port_be);
        dnat_ipv4_regs(r, NFT_REG_1, NFT_REG_2);
}

void nft_rule_masquerade(NftRule *r) {
        struct nftnl_expr *e = expr_new(r, "masq");
        if (!e)
                return;
        expr_add(r, e);
}
