/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One nftables transaction: batch-begin, the messages added here (each with
 * NLM_F_ACK), batch-end, sent in one sendmsg() on a NETLINK_NETFILTER socket of
 * the current network namespace. The kernel applies all of it or nothing. */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_rule;

/* A message must stay below 32 KiB: callers put at most this many set
 * elements (keys up to 16 bytes, ~40 bytes each on the wire) in one. */
#define NFT_BATCH_ELEMS_PER_MESSAGE 256

typedef struct NftBatch NftBatch;

int nft_batch_new(NftBatch **ret);
NftBatch *nft_batch_free(NftBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(NftBatch *, nft_batch_free);

/* type is NFT_MSG_NEW* or NFT_MSG_DEL*; flags are added to NLM_F_REQUEST|NLM_F_ACK
 * (e.g. NLM_F_CREATE, NLM_F_EXCL). -ENOMEM only. */
int nft_batch_add_table(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, const struct nftnl_table *t);
int nft_batch_add_chain(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, const struct nftnl_chain *c);
int nft_batch_add_set(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, struct nftnl_set *s);
/* The elements held by s (table and set name set), as NEWSETELEM or DELSETELEM. */
int nft_batch_add_set_elems(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, struct nftnl_set *s);
int nft_batch_add_rule(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, struct nftnl_rule *r);

/* Messages added so far (without begin/end). */
size_t nft_batch_size(const NftBatch *b);

/* Sends the batch and reads every reply. 0 when the kernel committed it;
 * otherwise the error of the first refused message (by order in the batch),
 * in which case the kernel changed nothing. Once per batch. */
int nft_batch_commit(NftBatch *b);
