/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "macro.h"
#include "rtnl-route.h"
#include "rtnl-socket.h"
#include "rtnl-sync.h"

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/* IPv6 stores a route added with metric 0 under this one (IP6_RT_PRIO_USER). */
#define ROUTE6_DEFAULT_PRIORITY 1024

static bool route_type_drops(uint8_t type) {
        return type == RTN_BLACKHOLE || type == RTN_UNREACHABLE || type == RTN_PROHIBIT || type == RTN_THROW;
}

/* Checks the route and fills the defaults, so that a wanted route compares
 * equal field by field with the kernel's dump of it. */
static int route_normalize(const RtnlRoute *in, RtnlRoute *out) {
        int size;

        if (!in)
                return -EINVAL;
        size = rtnl_family_address_size(in->family);
        if (size < 0)
                return size;
        if (in->dst_prefixlen > size * 8 || in->oif < 0)
                return -EINVAL;
        if (rtnl_prefix_has_host_bits(&in->dst, size, in->dst_prefixlen))
                return -EINVAL;

        *out = (RtnlRoute) {
                .family = in->family,
                .dst_prefixlen = in->dst_prefixlen,
                .table = in->table != RT_TABLE_UNSPEC ? in->table : RT_TABLE_MAIN,
                .priority = in->priority,
                .type = in->type != RTN_UNSPEC ? in->type : RTN_UNICAST,
                .protocol = in->protocol != RTPROT_UNSPEC ? in->protocol : RTPROT_BOOT,
                .scope = in->scope,
        };
        memcpy(&out->dst, &in->dst, size);

        if (out->type == RTN_UNICAST) {
                out->oif = in->oif;
                out->has_gateway = in->has_gateway;
                if (in->has_gateway)
                        memcpy(&out->gateway, &in->gateway, size);
        } else if (!route_type_drops(out->type))
                return -EINVAL; /* local, broadcast, nat, …: the kernel's business */

        if (out->family == AF_INET6) {
                out->scope = RT_SCOPE_UNIVERSE; /* IPv6 has no route scopes */
                if (out->priority == 0)
                        out->priority = ROUTE6_DEFAULT_PRIORITY;
        } else if (out->type == RTN_UNICAST && !out->has_gateway && out->scope == RT_SCOPE_UNIVERSE)
                out->scope = RT_SCOPE_LINK;

        return 0;
}

/* Orders routes by their identity in the table: destination and metric. */
static int route_compare_place(const void *x, const void *y) {
        const RtnlRoute *a = x, *b = y;
        int c;

#define CMP(f) if (a->f != b->f) return a->f < b->f ? -1 : 1
        CMP(family);
        CMP(table);
        CMP(dst_prefixlen);
#undef CMP
        c = memcmp(&a->dst, &b->dst, sizeof a->dst);
        if (c != 0)
                return c;
        return a->priority == b->priority ? 0 : a->priority < b->priority ? -1 : 1;
}

static bool route_same_attributes(const void *x, const void *y) {
        const RtnlRoute *a = x, *b = y;

        return a->type == b->type &&
                a->protocol == b->protocol &&
                a->scope == b->scope &&
                a->oif == b->oif &&
                a->has_gateway == b->has_gateway &&
                memcmp(&a->gateway, &b->gateway, sizeof a->gateway) == 0;
}

bool rtnl_route_equal(const RtnlRoute *a, const RtnlRoute *b) {
        RtnlRoute x, y;

        if (route_normalize(a, &x) < 0 || route_normalize(b, &y) < 0)
                return false;
        return route_compare_place(&x, &y) == 0 && route_same_attributes(&x, &y);
}

static void route_put(struct nlmsghdr *nlh, const RtnlRoute *route, bool delete) {
        int size = rtnl_family_address_size(route->family);
        struct rtmsg *rtm;

        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = route->family;
        rtm->rtm_dst_len = route->dst_prefixlen;
        /* Tables past 255 only fit in RTA_TABLE; the header says "see there". */
        rtm->rtm_table = route->table < 256 ? route->table : RT_TABLE_UNSPEC;
        rtm->rtm_protocol = route->protocol;
        rtm->rtm_type = route->type;
        /* On delete, NOWHERE matches any scope (as "ip route del" asks). */
        rtm->rtm_scope = delete ? RT_SCOPE_NOWHERE : route->scope;

        mnl_attr_put_u32(nlh, RTA_TABLE, route->table);
        if (route->dst_prefixlen > 0)
                mnl_attr_put(nlh, RTA_DST, size, &route->dst);
        mnl_attr_put_u32(nlh, RTA_PRIORITY, route->priority);
        if (route->has_gateway)
                mnl_attr_put(nlh, RTA_GATEWAY, size, &route->gateway);
        if (route->oif > 0)
                mnl_attr_put_u32(nlh, RTA_OIF, route->oif);
}

static int route_change(Rtnl *r, const RtnlRoute *route, uint16_t type, uint16_t flags) {
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        int k;

        nlh = rtnl_socket_message(buf, type, flags);
        route_put(nlh, route, type == RTM_DELROUTE);

        k = rtnl_socket_call(r, nlh, NULL, NULL);
        if (k < 0 && r->error_message[0])
                log_debug_errno(k, "Failed to change route (table %u, /%u, metric %u): %m — %s",
                                route->table, route->dst_prefixlen, route->priority, r->error_message);
        return k;
}

static int route_add(Rtnl *r, const void *route) {
        return route_change(r, route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
}

static int route_replace(Rtnl *r, const void *route) {
        return route_change(r, route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
}

static int route_delete(Rtnl *r, const void *route) {
        return route_change(r, route, RTM_DELROUTE, 0);
}

/* Runs one change on a fresh socket, after checking the route. */
static int route_change_once(const RtnlRoute *route, int (*change)(Rtnl *, const void *)) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        RtnlRoute normalized;
        int k;

        k = route_normalize(route, &normalized);
        if (k < 0)
                return k;

        if (change == route_delete) {
                /* Left at 0 they match any, as "ip route del" has it. */
                normalized.type = route->type;
                normalized.protocol = route->protocol;
        }

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return change(&r, &normalized);
}

int rtnl_route_add(const RtnlRoute *route) {
        return route_change_once(route, route_add);
}

int rtnl_route_replace(const RtnlRoute *route) {
        return route_change_once(route, route_replace);
}

int rtnl_route_delete(const RtnlRoute *route) {
        return route_change_once(route, route_delete);
}

/* Reads one route message (a lookup's answer is marked RTM_F_CLONED, a dump
 * filters those out itself). Returns 1 and fills *ret (with *unmodelled set when
 * it has attributes RtnlRoute cannot express), 0 for a message to skip. */
static int route_parse(const struct nlmsghdr *nlh, int family, RtnlRoute *ret, bool *unmodelled) {
        const struct rtmsg *rtm;
        const struct nlattr *attr;
        RtnlRoute route;
        bool other = false;
        int size;

        if (nlh->nlmsg_type != RTM_NEWROUTE)
                return 0;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg))
                return -EBADMSG;

        rtm = mnl_nlmsg_get_payload(nlh);
        if (rtm->rtm_family != family)
                return 0;
        size = rtnl_family_address_size(rtm->rtm_family);
        if (size < 0)
                return 0;
        if (rtm->rtm_dst_len > size * 8) /* longer than the address: a mask would shift past it */
                return -EBADMSG;

        route = (RtnlRoute) {
                .family = rtm->rtm_family,
                .dst_prefixlen = rtm->rtm_dst_len,
                .table = rtm->rtm_table,
                .type = rtm->rtm_type,
                .protocol = rtm->rtm_protocol,
                .scope = rtm->rtm_scope,
        };
        if (rtm->rtm_src_len > 0 || rtm->rtm_tos != 0)
                other = true;

        mnl_attr_for_each(attr, nlh, sizeof *rtm) {
                switch (mnl_attr_get_type(attr)) {
                case RTA_TABLE:
                        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                                return -EBADMSG;
                        route.table = mnl_attr_get_u32(attr);
                        break;
                case RTA_PRIORITY:
                        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                                return -EBADMSG;
                        route.priority = mnl_attr_get_u32(attr);
                        break;
                case RTA_OIF:
                        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                                return -EBADMSG;
                        route.oif = (int) mnl_attr_get_u32(attr);
                        break;
                case RTA_DST:
                        if (mnl_attr_get_payload_len(attr) != (size_t) size)
                                return -EBADMSG;
                        memcpy(&route.dst, mnl_attr_get_payload(attr), size);
                        break;
                case RTA_GATEWAY:
                        if (mnl_attr_get_payload_len(attr) != (size_t) size)
                                return -EBADMSG;
                        memcpy(&route.gateway, mnl_attr_get_payload(attr), size);
                        route.has_gateway = true;
                        break;
                case RTA_MULTIPATH: {
                        const struct rtnexthop *nh = mnl_attr_get_payload(attr);

                        /* Shown by its first hop; never equal to a route of ours. */
                        other = true;
                        if (mnl_attr_get_payload_len(attr) < sizeof *nh)
                                break;
                        route.oif = nh->rtnh_ifindex;
                        break;
                }
                case RTA_PREFSRC:
                case RTA_VIA:
                case RTA_NH_ID:
                case RTA_ENCAP:
                case RTA_FLOW:
                case RTA_NEWDST:
                case RTA_METRICS:
                        other = true;
                        break;
                }
        }

        if (route_type_drops(route.type)) {
                /* IPv6 puts its dropping routes on lo; the link means nothing there. */
                route.oif = 0;
                route.has_gateway = false;
                memset(&route.gateway, 0, sizeof route.gateway);
        }

        *ret = route;
        if (unmodelled)
                *unmodelled = other;
        return 1;
}

typedef struct RouteFilter {
        int family;
        uint32_t table; /* 0: every table */
} RouteFilter;

static void route_dump_request(Rtnl *r, struct nlmsghdr *nlh, void *userdata) {
        const RouteFilter *f = userdata;
        struct rtmsg *rtm;
        int one = 1;

        /* With strict checking the kernel filters by table itself; without it
         * (older kernels) route_dump_parse() still does. */
        (void) mnl_socket_setsockopt(r->nl, NETLINK_GET_STRICT_CHK, &one, sizeof one);

        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = f->family;
        if (f->table != RT_TABLE_UNSPEC) {
                rtm->rtm_table = f->table < 256 ? f->table : RT_TABLE_UNSPEC;
                mnl_attr_put_u32(nlh, RTA_TABLE, f->table);
        }
}

static int route_dump_parse(const struct nlmsghdr *nlh, void *item, bool *unmodelled, void *userdata) {
        const RouteFilter *f = userdata;
        RtnlRoute *route = item;
        int k;

        k = route_parse(nlh, f->family, route, unmodelled);
        if (k <= 0)
                return k;
        if (((const struct rtmsg *) mnl_nlmsg_get_payload(nlh))->rtm_flags & RTM_F_CLONED)
                return 0; /* IPv6's route cache, not a route anyone added */
        if (f->table != RT_TABLE_UNSPEC && route->table != f->table)
                return 0;
        return 1;
}

/* Dumps the routes of family in table (0: all). */
static int route_dump(Rtnl *r, int family, uint32_t table, RtnlDump *ret) {
        RouteFilter f = { .family = family, .table = table };
        int k;

        k = rtnl_dump(r, RTM_GETROUTE, sizeof(RtnlRoute), route_dump_request, route_dump_parse, &f, ret);
        /* IPv4 answers a filter on a table it never had with ENOENT: that table is empty. */
        if (k == -ENOENT && table != RT_TABLE_UNSPEC) {
                *ret = (RtnlDump) { .size = sizeof(RtnlRoute) };
                return 0;
        }
        return k;
}

int rtnl_route_list(int family, uint32_t table, RtnlRoute **ret, size_t *n) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        _cleanup_(rtnl_dump_done) RtnlDump d = {};
        int k;

        if (!ret || !n)
                return -EINVAL;
        k = rtnl_family_address_size(family);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        k = route_dump(&r, family, table, &d);
        if (k < 0)
                return k;

        rtnl_dump_take_items(&d, (void **) ret, n);
        return 0;
}

/* For sync: -EEXIST on add means someone else's route holds that place, and theirs stays. */
static int route_add_wanted(Rtnl *r, const void *item) {
        const RtnlRoute *route = item;
        int k;

        k = route_add(r, route);
        if (k == -EEXIST)
                log_debug("Route (table %u, /%u, metric %u) belongs to another protocol, not added",
                          route->table, route->dst_prefixlen, route->priority);
        return k;
}

static const RtnlSyncOps route_sync_ops = {
        .size = sizeof(RtnlRoute),
        .protocol_offset = offsetof(RtnlRoute, protocol),
        .compare = route_compare_place,
        .same = route_same_attributes,
        .add = route_add_wanted,
        .replace = route_replace,
        .remove = route_delete,
        .gone = -ESRCH,
        .what = "route",
};

int rtnl_route_sync(int family, uint32_t table, uint8_t protocol, const RtnlRoute *want, size_t n) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        _cleanup_(freep) RtnlRoute *wanted = NULL;
        _cleanup_(rtnl_dump_done) RtnlDump d = {};
        size_t conflicts = 0;
        int k, removed, added;

        if (protocol == RTPROT_UNSPEC || table == RT_TABLE_UNSPEC || (n > 0 && !want))
                return -EINVAL;
        k = rtnl_family_address_size(family);
        if (k < 0)
                return k;

        wanted = calloc(MAX(n, (size_t) 1), sizeof(RtnlRoute));
        if (!wanted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                RtnlRoute w = want[i];

                if (w.family != family)
                        return -EINVAL;
                w.table = table;
                w.protocol = protocol;
                k = route_normalize(&w, wanted + i);
                if (k < 0)
                        return k;
        }
        k = rtnl_sync_sort_wanted(&route_sync_ops, wanted, &n);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        k = route_dump(&r, family, table, &d);
        if (k < 0)
                return k;
        rtnl_sync_keep_ours(&route_sync_ops, &d, protocol);

        /* First remove what is ours and no longer wanted, so that nothing in the
         * table ever holds the stale and the new at once for long. */
        removed = rtnl_sync_remove_stale(&r, &route_sync_ops, d.items, d.n, wanted, n);
        if (removed < 0)
                return removed;

        added = rtnl_sync_add_missing(&r, &route_sync_ops, d.items, d.n, wanted, n, &conflicts);
        if (added < 0)
                return added;

        /* Everything else is done; the skipped ones still make the call fail. */
        return conflicts > 0 ? -EEXIST : (removed || added);
}

static int on_route_get(const struct nlmsghdr *nlh, void *userdata) {
        RtnlRoute *route = userdata;
        const struct rtmsg *rtm;

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof *rtm)
                return 0;
        rtm = mnl_nlmsg_get_payload(nlh);

        return route_parse(nlh, rtm->rtm_family, route, NULL) < 0 ? -EBADMSG : 0;
}

int rtnl_route_get(int family, const void *dst, const void *src, uint32_t fwmark, RtnlRoute *ret) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        RtnlRoute route = {};
        int size, k;

        size = rtnl_family_address_size(family);
        if (size < 0)
                return size;
        if (!dst || !ret)
                return -EINVAL;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        nlh = rtnl_socket_message(buf, RTM_GETROUTE, 0);
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = family;
        rtm->rtm_flags = RTM_F_LOOKUP_TABLE; /* answer with the table the route came from */
        rtm->rtm_dst_len = size * 8;
        mnl_attr_put(nlh, RTA_DST, size, dst);
        if (src) {
                rtm->rtm_src_len = size * 8;
                mnl_attr_put(nlh, RTA_SRC, size, src);
        }
        if (fwmark != 0)
                mnl_attr_put_u32(nlh, RTA_MARK, fwmark);

        k = rtnl_socket_call(&r, nlh, on_route_get, &route);
        if (k < 0)
                return k;
        if (route.family != family)
                return -EBADMSG; /* an ACK without the route */

        *ret = route;
        return 0;
}
