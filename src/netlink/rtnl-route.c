/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "macro.h"
#include "rtnl-route.h"
#include "rtnl-socket.h"

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

static bool route_same_attributes(const RtnlRoute *a, const RtnlRoute *b) {
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

static int route_add(Rtnl *r, const RtnlRoute *route) {
        return route_change(r, route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
}

static int route_replace(Rtnl *r, const RtnlRoute *route) {
        return route_change(r, route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
}

static int route_delete(Rtnl *r, const RtnlRoute *route) {
        return route_change(r, route, RTM_DELROUTE, 0);
}

/* Runs one change on a fresh socket, after checking the route. */
static int route_change_once(const RtnlRoute *route, int (*change)(Rtnl *, const RtnlRoute *)) {
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

typedef struct RouteDump {
        int family;
        uint32_t table;
        RtnlRoute *routes;
        bool *unmodelled;
        size_t n, allocated, allocated_unmodelled;
} RouteDump;

static void route_dump_done(RouteDump *d) {
        free(d->routes);
        free(d->unmodelled);
        d->routes = NULL;
        d->unmodelled = NULL;
        d->n = d->allocated = d->allocated_unmodelled = 0;
}

static int on_route(const struct nlmsghdr *nlh, void *userdata) {
        RouteDump *d = userdata;
        RtnlRoute route;
        bool unmodelled;
        int k;

        k = route_parse(nlh, d->family, &route, &unmodelled);
        if (k <= 0)
                return k;
        if (((const struct rtmsg *) mnl_nlmsg_get_payload(nlh))->rtm_flags & RTM_F_CLONED)
                return 0; /* IPv6's route cache, not a route anyone added */
        if (d->table != RT_TABLE_UNSPEC && route.table != d->table)
                return 0;

        if (greedy_realloc((void **) &d->routes, &d->allocated, d->n + 1, sizeof *d->routes) < 0 ||
            greedy_realloc((void **) &d->unmodelled, &d->allocated_unmodelled, d->n + 1, sizeof *d->unmodelled) < 0)
                return -ENOMEM;

        d->unmodelled[d->n] = unmodelled;
        d->routes[d->n++] = route;
        return 0;
}

/* Dumps the routes of family in table (0: all); an interrupted dump is retried
 * on a fresh socket. With strict checking the kernel filters by table itself;
 * without it (older kernels) the filter above still applies. */
static int route_dump(Rtnl *r, int family, uint32_t table, RouteDump *ret) {
        for (unsigned attempt = 0;; attempt++) {
                char buf[RTNL_REQUEST_SIZE];
                struct nlmsghdr *nlh;
                struct rtmsg *rtm;
                RouteDump d = { .family = family, .table = table };
                int one = 1, k;

                (void) mnl_socket_setsockopt(r->nl, NETLINK_GET_STRICT_CHK, &one, sizeof one);

                nlh = rtnl_socket_message(buf, RTM_GETROUTE, NLM_F_DUMP);
                rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
                rtm->rtm_family = family;
                if (table != RT_TABLE_UNSPEC) {
                        rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
                        mnl_attr_put_u32(nlh, RTA_TABLE, table);
                }

                k = rtnl_socket_call(r, nlh, on_route, &d);
                /* IPv4 answers a filter on a table it never had with ENOENT: that table is empty. */
                if (k == -ENOENT && table != RT_TABLE_UNSPEC) {
                        route_dump_done(&d);
                        k = 0;
                }
                if (k >= 0) {
                        *ret = d;
                        return 0;
                }

                route_dump_done(&d);
                if (k != -EINTR || attempt + 1 >= RTNL_DUMP_ATTEMPTS)
                        return k;

                rtnl_socket_close(r);
                k = rtnl_socket_open(r);
                if (k < 0)
                        return k;
        }
}

int rtnl_route_list(int family, uint32_t table, RtnlRoute **ret, size_t *n) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        RouteDump d = {};
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

        free(d.unmodelled);
        if (d.n == 0) {
                free(d.routes);
                d.routes = NULL;
        }

        *ret = d.routes;
        *n = d.n;
        return 0;
}

int rtnl_route_sync(int family, uint32_t table, uint8_t protocol, const RtnlRoute *want, size_t n) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        _cleanup_(freep) RtnlRoute *wanted = NULL, *ours = NULL;
        _cleanup_(route_dump_done) RouteDump d = {};
        size_t n_ours = 0, i, j;
        bool changed = false;
        int k, conflict = 0;

        if (protocol == RTPROT_UNSPEC || table == RT_TABLE_UNSPEC || (n > 0 && !want))
                return -EINVAL;
        k = rtnl_family_address_size(family);
        if (k < 0)
                return k;

        wanted = calloc(MAX(n, (size_t) 1), sizeof(RtnlRoute));
        if (!wanted)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                RtnlRoute w = want[i];

                if (w.family != family)
                        return -EINVAL;
                w.table = table;
                w.protocol = protocol;
                k = route_normalize(&w, wanted + i);
                if (k < 0)
                        return k;
        }
        qsort(wanted, n, sizeof *wanted, route_compare_place);
        for (i = 1; i < n; i++)
                if (route_compare_place(wanted + i - 1, wanted + i) == 0 &&
                    !route_same_attributes(wanted + i - 1, wanted + i))
                        return -EINVAL; /* two different routes cannot hold one place */

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        k = route_dump(&r, family, table, &d);
        if (k < 0)
                return k;

        ours = calloc(MAX(d.n, (size_t) 1), sizeof(RtnlRoute));
        if (!ours)
                return -ENOMEM;
        for (i = 0; i < d.n; i++)
                if (d.routes[i].protocol == protocol && !d.unmodelled[i])
                        ours[n_ours++] = d.routes[i];
        qsort(ours, n_ours, sizeof *ours, route_compare_place);

        /* First remove what is ours and no longer wanted, so that nothing in the
         * table ever holds the stale and the new at once for long. */
        for (i = j = 0; i < n_ours; ) {
                int c = j < n ? route_compare_place(ours + i, wanted + j) : -1;

                if (c > 0) {
                        j++;
                        continue;
                }
                if (c == 0) {
                        /* Equal duplicates in want collapse onto one place. */
                        while (j + 1 < n && route_compare_place(wanted + j, wanted + j + 1) == 0)
                                j++;
                        i++, j++;
                        continue;
                }

                k = route_delete(&r, ours + i);
                if (k < 0 && k != -ESRCH)
                        return k;
                changed = true;
                i++;
        }

        /* Then add the missing and correct ours whose attributes changed. */
        for (i = j = 0; j < n; j++) {
                int c = -1;

                if (j > 0 && route_compare_place(wanted + j - 1, wanted + j) == 0)
                        continue;
                while (i < n_ours && (c = route_compare_place(ours + i, wanted + j)) < 0)
                        i++;

                if (i < n_ours && c == 0) {
                        if (!route_same_attributes(ours + i, wanted + j)) {
                                k = route_replace(&r, wanted + j);
                                if (k < 0)
                                        return k;
                                changed = true;
                        }
                        continue;
                }

                k = route_add(&r, wanted + j);
                if (k == -EEXIST) {
                        /* Someone else's route holds that place: theirs stays. */
                        log_debug("Route (table %u, /%u, metric %u) belongs to another protocol, not added",
                                  table, wanted[j].dst_prefixlen, wanted[j].priority);
                        conflict = -EEXIST;
                        continue;
                }
                if (k < 0)
                        return k;
                changed = true;
        }

        return conflict < 0 ? conflict : changed;
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
