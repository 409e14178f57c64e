/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Policy routing rules ("ip rule") over rtnetlink, for pic-celld's exits and
 * relays: send packets by firewall mark or by source prefix to a numbered
 * routing table. Like rtnl.h, every call opens a short-lived NETLINK_ROUTE
 * socket in the caller's network namespace and returns the kernel's error as a
 * negative errno.
 *
 * Ownership is by protocol number (FRA_PROTOCOL): rules pic-celld adds carry
 * RTNL_PROTO_PIC, rtnl_rule_sync() only ever adds or removes rules carrying the
 * protocol it is given, so rules of the administrator, of NetworkManager or of
 * the kernel are never touched. */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pic-celld's routing protocol number, on its rules and routes: 165 (0xa5) is
 * not assigned in linux/rtnetlink.h nor in iproute2's rt_protos; "ip rule" and
 * "ip route" show it as "proto 165". Values >= RTPROT_STATIC are not
 * interpreted by the kernel. */
#define RTNL_PROTO_PIC 0xa5

typedef struct RtnlRule {
        int family;            /* AF_INET or AF_INET6 */
        uint32_t priority;     /* "pref": always given; 0 belongs to the local-table rule, use 1…32765 */
        uint32_t table;        /* where FR_ACT_TO_TBL sends the packet; 0 for other actions */
        bool has_fwmark;       /* match fwmark/fwmask … */
        uint32_t fwmark;
        uint32_t fwmask;       /* … where 0 means all bits (0xffffffff), as ip(8) does */
        uint8_t src_prefixlen; /* match a source prefix; 0: any source */
        union {
                struct in_addr ip4;
                struct in6_addr ip6;
        } src;                 /* no bits set beyond src_prefixlen (-EINVAL otherwise) */
        char iif[IFNAMSIZ];    /* match the input interface by name; "": any */
        uint8_t action;        /* FR_ACT_TO_TBL (also when 0), FR_ACT_BLACKHOLE, FR_ACT_UNREACHABLE, FR_ACT_PROHIBIT */
        uint8_t protocol;      /* FRA_PROTOCOL: RTNL_PROTO_PIC for ours */
} RtnlRule;

/* Adds the rule (NLM_F_EXCL). -EEXIST when an equal rule, protocol included,
 * is already there: the kernel would otherwise add a duplicate, so adding twice
 * is safe. -EINVAL for a missing table with FR_ACT_TO_TBL, a source prefix with
 * host bits or too long, or an iif name too long; -EAFNOSUPPORT for a family
 * other than AF_INET/AF_INET6. */
int rtnl_rule_add(const RtnlRule *rule);

/* Deletes the rule; -ENOENT if none matches. The kernel matches a delete by
 * the attributes given and takes the first match: a rule without fwmark, iif
 * or source also matches one with them at the same priority, table, action and
 * protocol, so give such rules distinct priorities (rtnl_rule_sync() is exact
 * regardless). */
int rtnl_rule_delete(const RtnlRule *rule);

/* Every rule of family (AF_INET or AF_INET6), the kernel's own included, in
 * the kernel's order, as an array the caller frees with free() (NULL when
 * *n == 0). Attributes RtnlRule has no field for (destination, oif, uid range,
 * ports, "not", …) are not shown. */
int rtnl_rule_list(int family, RtnlRule **ret, size_t *n);

/* Makes the rules of family carrying protocol exactly want[0..n) (each
 * want[i].protocol is taken to be protocol): adds the missing, removes the
 * rest of that protocol, leaves every rule of another protocol alone. Rules of
 * that protocol with attributes RtnlRule cannot express are left alone too
 * (someone else borrowed the number). protocol must not be 0 (-EINVAL): that
 * would claim rules nobody labelled. Returns 0 if nothing changed, 1 if
 * something was added or removed, -EAGAIN if the rules kept changing under it
 * (every round is a fresh dump, so a retry later is safe). */
int rtnl_rule_sync(int family, uint8_t protocol, const RtnlRule *want, size_t n);

/* Whether two rules describe the same rule (after filling the defaults:
 * action, fwmask). */
bool rtnl_rule_equal(const RtnlRule *a, const RtnlRule *b);
