/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to src/netlink: one short-lived NETLINK_ROUTE socket and a call that
 * sends one request and reads every reply up to its ACK, error or end of dump.
 * Shared by the link/address, rule and route modules. */

#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>

#define RTNL_REQUEST_SIZE 1024
#define RTNL_DUMP_ATTEMPTS 5

typedef struct Rtnl {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        char error_message[128]; /* the kernel's extended-ACK text of the last call */
} Rtnl;

/* Called for each reply message; returns a negative errno to abort the call. */
typedef int (*RtnlReplyFunc)(const struct nlmsghdr *nlh, void *userdata);

int rtnl_socket_open(Rtnl *r);
/* The same for another netlink protocol that acks like rtnetlink (NETLINK_SOCK_DIAG). */
int netlink_socket_open(Rtnl *r, int protocol);
void rtnl_socket_close(Rtnl *r);

/* Starts a request in buf (RTNL_REQUEST_SIZE bytes). */
struct nlmsghdr *rtnl_socket_message(char *buf, uint16_t type, uint16_t flags);

/* Sends nlh with NLM_F_ACK, hands each reply to reply() (may be NULL) and
 * returns the kernel's error, or -EINTR for a dump the kernel marked as
 * interrupted (the table changed under it: retry on a fresh socket). */
int rtnl_socket_call(Rtnl *r, struct nlmsghdr *nlh, RtnlReplyFunc reply, void *userdata);

/* Address length of family in bytes; -EAFNOSUPPORT unless AF_INET or AF_INET6. */
int rtnl_family_address_size(int family);

/* Whether addr (size bytes) has bits set beyond its first prefixlen. */
bool rtnl_prefix_has_host_bits(const void *addr, int size, uint8_t prefixlen);
