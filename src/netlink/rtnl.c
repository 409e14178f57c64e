/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "macro.h"
#include "rtnl.h"
#include "rtnl-socket.h"
#include "rtnl-sync.h"

static int ifname_check(const char *ifname) {
        if (isempty(ifname) || strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;
        return 0;
}

static int on_link_reply(const struct nlmsghdr *nlh, void *userdata) {
        int *ifindex = userdata;
        const struct ifinfomsg *ifi;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
                return -EBADMSG;

        ifi = mnl_nlmsg_get_payload(nlh);
        *ifindex = ifi->ifi_index;
        return 0;
}

/* Looks a link up by index (ifindex > 0) or by name; -ENODEV if absent. */
static int link_get(Rtnl *r, int ifindex, const char *ifname) {
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        int found = 0, k;

        nlh = rtnl_socket_message(buf, RTM_GETLINK, 0);
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex > 0 ? ifindex : 0;
        if (ifname)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
        /* The statistics are most of a link message and we need none of them. */
        mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

        k = rtnl_socket_call(r, nlh, on_link_reply, &found);
        if (k < 0)
                return k;

        return found > 0 ? found : -ENODEV;
}

int rtnl_link_index(const char *ifname) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        int k;

        k = ifname_check(ifname);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return link_get(&r, 0, ifname);
}

int rtnl_link_create(const char *ifname, const char *kind) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        struct nlattr *linkinfo;
        int k;

        k = ifname_check(ifname);
        if (k < 0)
                return k;
        if (isempty(kind) || strlen(kind) >= 64)
                return -EINVAL;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        nlh = rtnl_socket_message(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
        linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
        mnl_attr_nest_end(nlh, linkinfo);

        k = rtnl_socket_call(&r, nlh, NULL, NULL);
        if (k >= 0)
                return 0;

        /* The kernel answers an unknown kind with EOPNOTSUPP and this text; map both
         * to one value so callers can fall back to another backend reliably. */
        if (k == -EOPNOTSUPP || streq(r.error_message, "Unknown device type")) {
                log_debug("Kernel has no link kind \"%s\": %s", kind, strempty(r.error_message));
                return -EOPNOTSUPP;
        }

        return log_debug_errno(k, "Failed to create link %s of kind %s: %m%s%s", ifname, kind,
                               r.error_message[0] ? " — " : "", r.error_message);
}

int rtnl_link_delete(const char *ifname) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        int k;

        k = ifname_check(ifname);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        nlh = rtnl_socket_message(buf, RTM_DELLINK, 0);
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);

        return rtnl_socket_call(&r, nlh, NULL, NULL);
}

/* Changes an existing link: the flags under change, plus IFLA_MTU if mtu > 0. */
static int link_change(int ifindex, unsigned flags, unsigned change, uint32_t mtu) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        int k;

        if (ifindex <= 0)
                return -EINVAL;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        nlh = rtnl_socket_message(buf, RTM_NEWLINK, 0);
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = flags;
        ifi->ifi_change = change;
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);

        k = rtnl_socket_call(&r, nlh, NULL, NULL);
        if (k < 0 && r.error_message[0])
                log_debug_errno(k, "Failed to change link %i: %m — %s", ifindex, r.error_message);
        return k;
}

int rtnl_link_set_up(int ifindex, bool up) {
        return link_change(ifindex, up ? IFF_UP : 0, IFF_UP, 0);
}

int rtnl_link_set_mtu(int ifindex, uint32_t mtu) {
        if (mtu == 0)
                return -EINVAL;
        return link_change(ifindex, 0, 0, mtu);
}

static void address_put(struct nlmsghdr *nlh, const RtnlAddress *a) {
        size_t size = a->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
        struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

        ifa->ifa_family = a->family;
        ifa->ifa_prefixlen = a->prefixlen;
        mnl_attr_put(nlh, IFA_LOCAL, size, &a->address);
        mnl_attr_put(nlh, IFA_ADDRESS, size, &a->peer);
}

static int address_make(int family, const void *addr, uint8_t prefixlen, RtnlAddress *ret) {
        int size;

        size = rtnl_family_address_size(family);
        if (size < 0)
                return size;
        if (!addr || prefixlen > size * 8)
                return -EINVAL;

        *ret = (RtnlAddress) {
                .family = family,
                .prefixlen = prefixlen,
        };
        memcpy(&ret->address, addr, size);
        memcpy(&ret->peer, addr, size);
        return 0;
}

static bool address_equal(const RtnlAddress *a, const RtnlAddress *b) {
        size_t size;

        if (a->family != b->family || a->prefixlen != b->prefixlen)
                return false;

        size = a->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
        return memcmp(&a->address, &b->address, size) == 0 &&
               memcmp(&a->peer, &b->peer, size) == 0;
}

static int address_replace(Rtnl *r, int ifindex, const RtnlAddress *a) {
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;

        nlh = rtnl_socket_message(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        ifa->ifa_index = ifindex;
        /* Like ip(8): 127.0.0.0/8 is host scope, everything else universe (IPv6
         * ignores this and derives the scope from the address). */
        ifa->ifa_scope = a->family == AF_INET && (ntohl(a->address.ip4.s_addr) >> 24) == 127 ?
                RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
        address_put(nlh, a);

        return rtnl_socket_call(r, nlh, NULL, NULL);
}

static int address_delete(Rtnl *r, int ifindex, const RtnlAddress *a) {
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;

        nlh = rtnl_socket_message(buf, RTM_DELADDR, 0);
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        ifa->ifa_index = ifindex;
        address_put(nlh, a);

        return rtnl_socket_call(r, nlh, NULL, NULL);
}

typedef struct AddressFilter {
        int ifindex;
        int family;
} AddressFilter;

static int parse_address(const struct nlmsghdr *nlh, void *item, bool *unmodelled, void *userdata) {
        const AddressFilter *f = userdata;
        const struct ifaddrmsg *ifa;
        const struct nlattr *attr;
        const void *local = NULL, *address = NULL;
        RtnlAddress *a = item;
        int size;

        (void) unmodelled;
        if (nlh->nlmsg_type != RTM_NEWADDR)
                return 0;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifaddrmsg))
                return -EBADMSG;

        ifa = mnl_nlmsg_get_payload(nlh);
        if ((int) ifa->ifa_index != f->ifindex)
                return 0;
        if (f->family != AF_UNSPEC && ifa->ifa_family != f->family)
                return 0;
        size = rtnl_family_address_size(ifa->ifa_family);
        if (size < 0)
                return 0; /* another protocol's idea of an address */
        if (ifa->ifa_prefixlen > size * 8) /* longer than the address: a mask would shift past it */
                return -EBADMSG;

        mnl_attr_for_each(attr, nlh, sizeof *ifa) {
                if (mnl_attr_get_payload_len(attr) != (size_t) size)
                        continue;
                if (mnl_attr_get_type(attr) == IFA_LOCAL)
                        local = mnl_attr_get_payload(attr);
                else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
                        address = mnl_attr_get_payload(attr);
        }
        if (!local)
                local = address;
        if (!address)
                address = local;
        if (!local)
                return 0;

        *a = (RtnlAddress) {
                .family = ifa->ifa_family,
                .prefixlen = ifa->ifa_prefixlen,
                .scope = ifa->ifa_scope,
        };
        memcpy(&a->address, local, size);
        memcpy(&a->peer, address, size);
        return 1;
}

static void address_dump_request(Rtnl *r, struct nlmsghdr *nlh, void *userdata) {
        const AddressFilter *f = userdata;
        struct rtgenmsg *g;

        (void) r;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
        g->rtgen_family = f->family;
}

/* Dumps the link's addresses; the link is checked first so a missing one is
 * -ENODEV rather than an empty list. */
static int address_dump(Rtnl *r, int ifindex, int family, RtnlAddress **ret, size_t *n) {
        _cleanup_(rtnl_dump_done) RtnlDump d = {};
        AddressFilter f = { .ifindex = ifindex, .family = family };
        int k;

        if (ifindex <= 0)
                return -EINVAL;
        if (family != AF_UNSPEC && rtnl_family_address_size(family) < 0)
                return -EAFNOSUPPORT;

        k = link_get(r, ifindex, NULL);
        if (k < 0)
                return k;

        k = rtnl_dump(r, RTM_GETADDR, sizeof(RtnlAddress), address_dump_request, parse_address, &f, &d);
        if (k < 0)
                return k;

        rtnl_dump_take_items(&d, (void **) ret, n);
        return 0;
}

int rtnl_addr_list(int ifindex, int family, RtnlAddress **ret, size_t *n) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        int k;

        if (!ret || !n)
                return -EINVAL;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return address_dump(&r, ifindex, family, ret, n);
}

int rtnl_addr_replace(int ifindex, int family, const void *addr, uint8_t prefixlen) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        RtnlAddress a;
        int k;

        if (ifindex <= 0)
                return -EINVAL;
        k = address_make(family, addr, prefixlen, &a);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return address_replace(&r, ifindex, &a);
}

int rtnl_addr_delete(int ifindex, int family, const void *addr, uint8_t prefixlen) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        RtnlAddress a;
        int k;

        if (ifindex <= 0)
                return -EINVAL;
        k = address_make(family, addr, prefixlen, &a);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return address_delete(&r, ifindex, &a);
}

int rtnl_addr_flush(int ifindex, int family) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        _cleanup_(freep) RtnlAddress *list = NULL;
        size_t n = 0;
        int k, removed = 0;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        k = address_dump(&r, ifindex, family, &list, &n);
        if (k < 0)
                return k;

        for (size_t i = 0; i < n; i++) {
                k = address_delete(&r, ifindex, list + i);
                /* Removing an IPv4 primary takes its secondaries with it. */
                if (k == -EADDRNOTAVAIL)
                        continue;
                if (k < 0)
                        return k;
                removed++;
        }

        return removed;
}

int rtnl_addr_sync(int ifindex, int family, const void *addr, uint8_t prefixlen) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        _cleanup_(freep) RtnlAddress *list = NULL;
        RtnlAddress wanted;
        bool present = false;
        size_t n = 0, others = 0;
        int k;

        if (ifindex <= 0)
                return -EINVAL;
        k = address_make(family, addr, prefixlen, &wanted);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        k = address_dump(&r, ifindex, family, &list, &n);
        if (k < 0)
                return k;

        for (size_t i = 0; i < n; i++) {
                if (address_equal(list + i, &wanted))
                        present = true;
                else if (!(family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&list[i].address.ip6)))
                        others++;
        }

        if (present && others == 0)
                return 0;

        for (size_t i = 0; i < n; i++) {
                if (address_equal(list + i, &wanted) ||
                    (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&list[i].address.ip6)))
                        continue;

                k = address_delete(&r, ifindex, list + i);
                if (k < 0 && k != -EADDRNOTAVAIL)
                        return k;
        }

        /* Always (re)add: deleting an IPv4 primary may have taken the wanted
         * address with it, when that one was its secondary. */
        k = address_replace(&r, ifindex, &wanted);
        if (k < 0)
                return k;

        return 1;
}
