/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Request/reply over NETLINK_NETFILTER (nftables), in the current network
 * namespace: the socket every nft-* file uses, one get or dump round trip,
 * and the one question everybody asks (does this table exist?). */

#include <libmnl/libmnl.h>
#include <stdint.h>

#include "macro.h"

#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768 /* libmnl >= 1.0.5 has it */
#endif

/* Room for one request (a get or dump with a few names). */
#define NFT_REQUEST_SIZE 4096

static inline void mnl_socket_closep(struct mnl_socket **s) {
        if (*s)
                mnl_socket_close(*s);
}

/* A bound NETLINK_NETFILTER socket with capped and extended ACKs; groups
 * (a bit mask of multicast groups, 0 for none) as in bind(). */
int nft_socket_open(struct mnl_socket **ret, unsigned groups);

/* Sends request (built with nftnl_nlmsg_build_hdr(); seq and portid are set
 * here) and runs cb (may be NULL) on each reply until the kernel's ACK or
 * NLMSG_DONE. Returns the kernel's error, or cb's negative return. */
int nft_query(struct nlmsghdr *request, mnl_cb_t cb, void *userdata);

/* 1 if table family/name exists, 0 if not, negative errno otherwise. */
int nft_table_exists(uint16_t family, const char *name);

/* Logs the kernel's extended-ACK text of an NLMSG_ERROR reply, if any, at debug level. */
void nft_log_extack(const struct nlmsghdr *nlh, const char *what);
