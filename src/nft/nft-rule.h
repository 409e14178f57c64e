/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Building nftables rules expression by expression (libnftnl), with the first
 * allocation failure remembered instead of checked at every step. Addresses
 * and ports given to the match helpers are in host byte order. */

#include <stdint.h>

#include "macro.h"

struct nftnl_rule;

typedef struct NftRule {
        struct nftnl_rule *rule;
        int error; /* first failure, 0 if none */
} NftRule;

/* A rule for family/table/chain, with comment stored as nft(8) stores it
 * (so `nft list` shows it too). -ENOMEM. */
int nft_rule_new(NftRule *ret, uint16_t family, const char *table, const char *chain, const char *comment);
void nft_rule_done(NftRule *r);

void nft_rule_meta_load(NftRule *r, uint32_t key, uint32_t dreg);
void nft_rule_payload_load(NftRule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
void nft_rule_cmp(NftRule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len);
void nft_rule_lookup(NftRule *r, uint32_t sreg, const char *set, uint32_t set_id);
/* The lookup inverted: matches when the key is not in the set. */
void nft_rule_lookup_not(NftRule *r, uint32_t sreg, const char *set, uint32_t set_id);
/* A map lookup: the key's value into dreg; no match ends the rule. */
void nft_rule_map(NftRule *r, uint32_t sreg, uint32_t dreg, const char *map, uint32_t map_id);
/* meta KEY set <sreg> (the packet's mark, …). */
void nft_rule_meta_set(NftRule *r, uint32_t key, uint32_t sreg);
/* reg &= mask, on 4 bytes (mask in the register's byte order). */
void nft_rule_and(NftRule *r, uint32_t reg, uint32_t mask_be);
/* Jumps to a regular chain of the same table. */
void nft_rule_jump(NftRule *r, const char *chain);
/* redirect to :<port in the register, network order> (nat chains). */
void nft_rule_redirect_reg(NftRule *r, uint32_t port_reg);
void nft_rule_immediate(NftRule *r, uint32_t dreg, const void *data, uint32_t len);
void nft_rule_verdict(NftRule *r, int verdict);

/* Common matches */
void nft_rule_match_iifname(NftRule *r, const char *ifname);
void nft_rule_match_oifname(NftRule *r, const char *ifname);
void nft_rule_match_ipv4(NftRule *r); /* meta nfproto ipv4, needed before ip fields in inet */
void nft_rule_match_ip_daddr(NftRule *r, uint32_t addr);
void nft_rule_match_ip_saddr_prefix(NftRule *r, uint32_t network, uint8_t prefix);
void nft_rule_match_ip_daddr_prefix(NftRule *r, uint32_t network, uint8_t prefix);
void nft_rule_match_l4proto(NftRule *r, uint8_t protocol);
void nft_rule_match_th_dport(NftRule *r, uint16_t port);
void nft_rule_match_ct_state(NftRule *r, uint32_t state_bits); /* any of the bits */

/* Statements */
void nft_rule_dnat_ipv4(NftRule *r, uint32_t addr);
/* dnat to addr:port (host order), through registers 1 and 2. */
void nft_rule_dnat_ipv4_port(NftRule *r, uint32_t addr, uint16_t port);
/* DNAT to the IPv4 address a register holds (a map's value). */
void nft_rule_dnat_ipv4_reg(NftRule *r, uint32_t reg);
void nft_rule_masquerade(NftRule *r);
