/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Links and addresses over rtnetlink (NETLINK_ROUTE, libmnl): what pic-celld
 * needs to bring up and reconcile its WireGuard interface without running
 * ip(8). Every call opens a short-lived netlink socket in the caller's current
 * network namespace, sends one request, waits for the kernel's ACK and returns
 * the kernel's error as a negative errno (0 or a documented positive value on
 * success). The kernel's extended-ACK text, when there is one, is logged at
 * debug level. Nothing here is async: each call is one round trip (flush and
 * sync: one dump plus one request per address). */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct RtnlAddress {
        int family; /* AF_INET or AF_INET6 */
        uint8_t prefixlen;
        uint8_t scope; /* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK (IPv6 fe80::/10), … */
        union {
                struct in_addr ip4;
                struct in6_addr ip6;
        } address; /* the local address (IFA_LOCAL, or IFA_ADDRESS when there is none) */
        union {
                struct in_addr ip4;
                struct in6_addr ip6;
        } peer; /* IFA_ADDRESS: equals address unless the address was added with a peer */
} RtnlAddress;

/* ifindex (> 0) of the link named ifname; -ENODEV if there is none, -EINVAL for
 * an empty name or one longer than IFNAMSIZ-1. */
int rtnl_link_index(const char *ifname);

/* Creates link ifname of the given kind ("wireguard", "dummy", …), down.
 * -EEXIST: a link with that name exists (whatever its kind).
 * -EOPNOTSUPP: the kernel has no driver for that kind (e.g. the wireguard
 *  module is missing); whatever the kernel reports for an unknown kind is
 *  mapped to this one value, so it reliably means "use another backend".
 * Anything else is the kernel's error unchanged. */
int rtnl_link_create(const char *ifname, const char *kind);

/* Deletes the link; -ENODEV if it does not exist. */
int rtnl_link_delete(const char *ifname);

/* Sets or clears IFF_UP; -ENODEV if ifindex does not exist. */
int rtnl_link_set_up(int ifindex, bool up);

/* Sets the MTU; the kernel refuses values outside the driver's range (-EINVAL). */
int rtnl_link_set_mtu(int ifindex, uint32_t mtu);

/* Adds addr/prefixlen (struct in_addr or struct in6_addr, per family) to the
 * link, or updates it in place if that exact address and prefix exist
 * (NLM_F_CREATE|NLM_F_REPLACE). The kernel adds the prefix route itself.
 * Another prefix length for the same address is a second address: use
 * rtnl_addr_sync() to end with exactly one.
 * -EAFNOSUPPORT for a family other than AF_INET/AF_INET6, -EINVAL for a
 * prefix longer than the family's, -ENODEV if the link does not exist. */
int rtnl_addr_replace(int ifindex, int family, const void *addr, uint8_t prefixlen);

/* Removes addr/prefixlen from the link; -EADDRNOTAVAIL if it is not there. */
int rtnl_addr_delete(int ifindex, int family, const void *addr, uint8_t prefixlen);

/* Removes every address of family (AF_INET, AF_INET6, or AF_UNSPEC for both)
 * from the link, IPv6 link-local ones included. Returns the number removed. */
int rtnl_addr_flush(int ifindex, int family);

/* The link's addresses of family (AF_INET, AF_INET6 or AF_UNSPEC for both), in
 * the kernel's order, as an array the caller frees with free() (NULL when
 * *n == 0). -ENODEV if the link does not exist. */
int rtnl_addr_list(int ifindex, int family, RtnlAddress **ret, size_t *n);

/* Makes addr/prefixlen the only address of family on the link: adds it if
 * missing and removes every other one, except IPv6 link-local addresses
 * (fe80::/10), which the kernel owns and neighbour discovery needs. Touches
 * nothing when the link is already right. Returns 0 if nothing changed, 1 if
 * something was added or removed. */
int rtnl_addr_sync(int ifindex, int family, const void *addr, uint8_t prefixlen);
