/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Routes in numbered tables over rtnetlink, the other half of policy routing
 * (rtnl-rule.h picks the table, this fills it). Like rtnl.h, every call opens
 * a short-lived NETLINK_ROUTE socket in the caller's network namespace and
 * returns the kernel's error as a negative errno.
 *
 * Ownership is by protocol number (rtm_protocol, RTNL_PROTO_PIC for
 * pic-celld's): rtnl_route_sync() adds, changes and removes only routes
 * carrying the protocol it is given. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtnl-rule.h" /* RTNL_PROTO_PIC */

typedef struct RtnlRoute {
        int family;            /* AF_INET or AF_INET6 */
        uint8_t dst_prefixlen; /* 0 with dst all zero: the default route */
        union {
                struct in_addr ip4;
                struct in6_addr ip6;
        } dst;                 /* no bits set beyond dst_prefixlen (the kernel says -EINVAL) */
        bool has_gateway;
        union {
                struct in_addr ip4;
                struct in6_addr ip6;
        } gateway;             /* same family as dst */
        int oif;               /* output link's ifindex; 0: none (the gateway decides) */
        uint32_t table;        /* any 1…2^32-1 (RTA_TABLE past 255); 0 means RT_TABLE_MAIN */
        uint32_t priority;     /* the metric; IPv6 turns 0 into 1024 */
        uint8_t type;          /* RTN_UNICAST (also when 0), RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW */
        uint8_t protocol;      /* RTNL_PROTO_PIC for ours; 0 is taken as RTPROT_BOOT, as ip(8) does */
        uint8_t scope;         /* RT_SCOPE_UNIVERSE also means "as ip(8)": RT_SCOPE_LINK for a unicast
                                * route without gateway */
} RtnlRoute;

/* A route's identity in its table, as the kernel sees it: family, table,
 * destination prefix and metric. Add, replace and delete act on that. */

/* Adds the route (NLM_F_CREATE|NLM_F_EXCL): -EEXIST if the table has a route
 * with that destination and metric; -ENODEV for an oif that does not exist,
 * -ENETDOWN for one that is down; -ENETUNREACH for a gateway not reachable
 * through oif (or at all); -EINVAL for host bits in dst or a type RtnlRoute
 * does not allow; -EAFNOSUPPORT for another family. */
int rtnl_route_add(const RtnlRoute *route);

/* Adds the route, or replaces the one with the same destination and metric in
 * its table whoever owns it (NLM_F_CREATE|NLM_F_REPLACE). */
int rtnl_route_replace(const RtnlRoute *route);

/* Deletes the route with that destination and metric in its table, and with
 * its type, protocol, gateway and oif where given (non-zero): -ESRCH if there
 * is none. */
int rtnl_route_delete(const RtnlRoute *route);

/* The routes of family (AF_INET, AF_INET6) in table (0: every table), in the
 * kernel's order, as an array the caller frees with free() (NULL when
 * *n == 0). Multipath routes show their first hop only; the IPv6 route cache is
 * left out. */
int rtnl_route_list(int family, uint32_t table, RtnlRoute **ret, size_t *n);

/* Makes the routes of family in table carrying protocol exactly want[0..n)
 * (each want[i].protocol and .table are taken from the arguments): adds the
 * missing, replaces ours whose gateway, oif, type or scope differ, removes the
 * rest of ours; never touches a route of another protocol. A wanted route
 * whose place (destination and metric) holds someone else's route is skipped
 * and the call ends with -EEXIST after doing everything else. protocol 0 is
 * -EINVAL. Returns 0 if nothing changed, 1 if something did. */
int rtnl_route_sync(int family, uint32_t table, uint8_t protocol, const RtnlRoute *want, size_t n);

/* Asks the kernel which route a packet to dst (struct in_addr or in6_addr) from
 * src (NULL: any) with firewall mark fwmark would take, rules included, like
 * "ip route get". ret gets the table it was found in, its type, oif and
 * gateway, with dst as a host prefix. The kernel's refusal is the answer for
 * routes that drop: -EINVAL blackhole, -EHOSTUNREACH unreachable, -EACCES
 * prohibit, -ENETUNREACH no route at all. */
int rtnl_route_get(int family, const void *dst, const void *src, uint32_t fwmark, RtnlRoute *ret);

/* Whether two routes are the same route with the same attributes (after
 * filling the defaults). */
bool rtnl_route_equal(const RtnlRoute *a, const RtnlRoute *b);
