/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "macro.h"
#include "rtnl-rule.h"
#include "rtnl-socket.h"
#include "rtnl-sync.h"

/* Rounds of dump, delete and add before sync gives up on a table that keeps
 * changing under it (or a delete the kernel keeps matching to another rule). */
#define RULE_SYNC_ROUNDS 6

/* Checks the rule and fills the defaults, so that equal rules compare equal
 * field by field with what the kernel dumps. */
static int rule_normalize(const RtnlRule *in, RtnlRule *out) {
        int size;

        if (!in)
                return -EINVAL;
        size = rtnl_family_address_size(in->family);
        if (size < 0)
                return size;
        if (in->src_prefixlen > size * 8)
                return -EINVAL;
        if (strnlen(in->iif, sizeof in->iif) >= sizeof in->iif)
                return -EINVAL;

        *out = (RtnlRule) {
                .family = in->family,
                .priority = in->priority,
                .action = in->action == FR_ACT_UNSPEC ? FR_ACT_TO_TBL : in->action,
                .protocol = in->protocol,
                .src_prefixlen = in->src_prefixlen,
        };

        switch (out->action) {
        case FR_ACT_TO_TBL:
                if (in->table == RT_TABLE_UNSPEC)
                        return -EINVAL;
                out->table = in->table;
                break;
        case FR_ACT_BLACKHOLE:
        case FR_ACT_UNREACHABLE:
        case FR_ACT_PROHIBIT:
                break;
        default:
                return -EINVAL; /* goto and nop need attributes RtnlRule does not carry */
        }

        if (in->has_fwmark) {
                out->has_fwmark = true;
                out->fwmark = in->fwmark;
                out->fwmask = in->fwmask != 0 ? in->fwmask : UINT32_MAX;
        }

        if (in->src_prefixlen > 0) {
                if (rtnl_prefix_has_host_bits(&in->src, size, in->src_prefixlen))
                        return -EINVAL;
                memcpy(&out->src, &in->src, size);
        }

        memcpy(out->iif, in->iif, strlen(in->iif));
        return 0;
}

/* A total order over normalized rules, for sorting and matching lists. */
static int rule_compare(const void *x, const void *y) {
        const RtnlRule *a = x, *b = y;
        int c;

#define CMP(f) if (a->f != b->f) return a->f < b->f ? -1 : 1
        CMP(family);
        CMP(priority);
        CMP(table);
        CMP(action);
        CMP(protocol);
        CMP(has_fwmark);
        CMP(fwmark);
        CMP(fwmask);
        CMP(src_prefixlen);
#undef CMP
        c = memcmp(&a->src, &b->src, sizeof a->src);
        if (c != 0)
                return c;
        return strncmp(a->iif, b->iif, sizeof a->iif);
}

bool rtnl_rule_equal(const RtnlRule *a, const RtnlRule *b) {
        RtnlRule x, y;

        if (rule_normalize(a, &x) < 0 || rule_normalize(b, &y) < 0)
                return false;
        return rule_compare(&x, &y) == 0;
}

static void rule_put(struct nlmsghdr *nlh, const RtnlRule *rule) {
        struct fib_rule_hdr *frh;

        frh = mnl_nlmsg_put_extra_header(nlh, sizeof *frh);
        frh->family = rule->family;
        frh->action = rule->action;
        frh->src_len = rule->src_prefixlen;
        /* Tables past 255 only fit in FRA_TABLE; the header says "see there". */
        frh->table = rule->table < 256 ? rule->table : RT_TABLE_UNSPEC;

        /* Always given: without it the kernel picks one and a delete matches any. */
        mnl_attr_put_u32(nlh, FRA_PRIORITY, rule->priority);
        if (rule->table != RT_TABLE_UNSPEC)
                mnl_attr_put_u32(nlh, FRA_TABLE, rule->table);
        if (rule->protocol != RTPROT_UNSPEC)
                mnl_attr_put_u8(nlh, FRA_PROTOCOL, rule->protocol);
        if (rule->has_fwmark) {
                mnl_attr_put_u32(nlh, FRA_FWMARK, rule->fwmark);
                mnl_attr_put_u32(nlh, FRA_FWMASK, rule->fwmask);
        }
        if (rule->src_prefixlen > 0)
                mnl_attr_put(nlh, FRA_SRC, rtnl_family_address_size(rule->family), &rule->src);
        if (rule->iif[0])
                mnl_attr_put_strz(nlh, FRA_IIFNAME, rule->iif);
}

static int rule_add(Rtnl *r, const void *item) {
        const RtnlRule *rule = item;
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        int k;

        /* NLM_F_EXCL: the kernel refuses an identical rule instead of adding it twice. */
        nlh = rtnl_socket_message(buf, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
        rule_put(nlh, rule);

        k = rtnl_socket_call(r, nlh, NULL, NULL);
        if (k < 0 && k != -EEXIST && r->error_message[0])
                log_debug_errno(k, "Failed to add rule (priority %u, table %u): %m — %s",
                                rule->priority, rule->table, r->error_message);
        return k;
}

static int rule_delete(Rtnl *r, const void *rule) {
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;

        nlh = rtnl_socket_message(buf, RTM_DELRULE, 0);
        rule_put(nlh, rule);

        return rtnl_socket_call(r, nlh, NULL, NULL);
}

int rtnl_rule_add(const RtnlRule *rule) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        RtnlRule normalized;
        int k;

        k = rule_normalize(rule, &normalized);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return rule_add(&r, &normalized);
}

int rtnl_rule_delete(const RtnlRule *rule) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        RtnlRule normalized;
        int k;

        k = rule_normalize(rule, &normalized);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        return rule_delete(&r, &normalized);
}

static int rule_dump_parse(const struct nlmsghdr *nlh, void *item, bool *unmodelled, void *userdata) {
        const int *family = userdata;
        const struct fib_rule_hdr *frh;
        const struct nlattr *attr;
        bool has_mark = false, has_mask = false, other = false;
        RtnlRule rule;
        int size;

        if (nlh->nlmsg_type != RTM_NEWRULE)
                return 0;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct fib_rule_hdr))
                return -EBADMSG;

        frh = mnl_nlmsg_get_payload(nlh);
        if (frh->family != *family)
                return 0;
        size = rtnl_family_address_size(frh->family);
        if (size < 0)
                return 0;
        if (frh->src_len > size * 8) /* longer than the address: a mask would shift past it */
                return -EBADMSG;

        rule = (RtnlRule) {
                .family = frh->family,
                .table = frh->table,
                .action = frh->action,
                .src_prefixlen = frh->src_len,
        };
        if (frh->dst_len > 0 || frh->tos != 0 || (frh->flags & FIB_RULE_INVERT))
                other = true;

        mnl_attr_for_each(attr, nlh, sizeof *frh) {
                uint16_t type = mnl_attr_get_type(attr);

                switch (type) {
                case FRA_PRIORITY:
                case FRA_TABLE:
                case FRA_FWMARK:
                case FRA_FWMASK:
                case FRA_SUPPRESS_PREFIXLEN:
                case FRA_SUPPRESS_IFGROUP:
                        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                                return -EBADMSG;
                        break;
                case FRA_PROTOCOL:
                        if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
                                return -EBADMSG;
                        break;
                }

                switch (type) {
                case FRA_PRIORITY:
                        rule.priority = mnl_attr_get_u32(attr);
                        break;
                case FRA_TABLE:
                        rule.table = mnl_attr_get_u32(attr);
                        break;
                case FRA_FWMARK:
                        rule.fwmark = mnl_attr_get_u32(attr);
                        has_mark = true;
                        break;
                case FRA_FWMASK:
                        rule.fwmask = mnl_attr_get_u32(attr);
                        has_mask = true;
                        break;
                case FRA_PROTOCOL:
                        rule.protocol = mnl_attr_get_u8(attr);
                        break;
                case FRA_SRC:
                        if (mnl_attr_get_payload_len(attr) != (size_t) size)
                                return -EBADMSG;
                        memcpy(&rule.src, mnl_attr_get_payload(attr), size);
                        break;
                case FRA_IIFNAME:
                        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
                                return -EBADMSG;
                        snprintf(rule.iif, sizeof rule.iif, "%s", mnl_attr_get_str(attr));
                        break;
                case FRA_SUPPRESS_PREFIXLEN:
                case FRA_SUPPRESS_IFGROUP:
                        /* Always dumped; all ones means "not set". */
                        if (mnl_attr_get_u32(attr) != UINT32_MAX)
                                other = true;
                        break;
                case FRA_PAD:
                        break;
                default:
                        other = true; /* destination, oif, uid range, ports, goto, … */
                }
        }

        if (has_mark || has_mask) {
                rule.has_fwmark = true;
                if (!has_mask)
                        rule.fwmask = UINT32_MAX;
        }
        if (rule.action != FR_ACT_TO_TBL)
                rule.table = RT_TABLE_UNSPEC;

        *(RtnlRule *) item = rule;
        *unmodelled = other;
        return 1;
}

static void rule_dump_request(Rtnl *r, struct nlmsghdr *nlh, void *userdata) {
        const int *family = userdata;
        struct fib_rule_hdr *frh;

        frh = mnl_nlmsg_put_extra_header(nlh, sizeof *frh);
        frh->family = *family;
}

static int rule_dump(Rtnl *r, int family, RtnlDump *ret) {
        return rtnl_dump(r, RTM_GETRULE, sizeof(RtnlRule), rule_dump_request, rule_dump_parse, &family, ret);
}

int rtnl_rule_list(int family, RtnlRule **ret, size_t *n) {
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

        k = rule_dump(&r, family, &d);
        if (k < 0)
                return k;

        rtnl_dump_take_items(&d, (void **) ret, n);
        return 0;
}

/* A rule's place is all of it: rule_compare() is a total order, so nothing is
 * ever replaced, only removed and added. */
static const RtnlSyncOps rule_sync_ops = {
        .size = sizeof(RtnlRule),
        .protocol_offset = offsetof(RtnlRule, protocol),
        .compare = rule_compare,
        .add = rule_add,
        .remove = rule_delete,
        .gone = -ENOENT,
        .what = "rule",
};

/* One round of sync: removes ours that are not wanted, or else adds the wanted
 * that are missing. Returns 0 when the rules were already right, 1 if it
 * changed something (the caller dumps again to check). */
static int rule_sync_round(Rtnl *r, int family, uint8_t protocol, const RtnlRule *want, size_t n) {
        _cleanup_(rtnl_dump_done) RtnlDump d = {};
        size_t conflicts = 0;
        int k;

        k = rule_dump(r, family, &d);
        if (k < 0)
                return k;
        rtnl_sync_keep_ours(&rule_sync_ops, &d, protocol);

        k = rtnl_sync_remove_stale(r, &rule_sync_ops, d.items, d.n, want, n);
        if (k != 0)
                return k; /* a delete may have matched a wanted rule: look again before adding */

        k = rtnl_sync_add_missing(r, &rule_sync_ops, d.items, d.n, want, n, &conflicts);
        if (k < 0)
                return k;
        /* -EEXIST: an equal rule appeared since the dump; the next round sees it. */
        return k > 0 || conflicts > 0;
}

int rtnl_rule_sync(int family, uint8_t protocol, const RtnlRule *want, size_t n) {
        _cleanup_(rtnl_socket_close) Rtnl r = {};
        _cleanup_(freep) RtnlRule *wanted = NULL;
        bool changed = false;
        int k;

        if (protocol == RTPROT_UNSPEC || (n > 0 && !want))
                return -EINVAL;
        k = rtnl_family_address_size(family);
        if (k < 0)
                return k;

        wanted = calloc(MAX(n, (size_t) 1), sizeof(RtnlRule));
        if (!wanted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                RtnlRule w = want[i];

                if (w.family != family)
                        return -EINVAL;
                w.protocol = protocol;
                k = rule_normalize(&w, wanted + i);
                if (k < 0)
                        return k;
        }
        k = rtnl_sync_sort_wanted(&rule_sync_ops, wanted, &n);
        if (k < 0)
                return k;

        k = rtnl_socket_open(&r);
        if (k < 0)
                return k;

        for (unsigned round = 0; round < RULE_SYNC_ROUNDS; round++) {
                k = rule_sync_round(&r, family, protocol, wanted, n);
                if (k < 0)
                        return k;
                if (k == 0)
                        return changed;
                changed = true;
        }

        return log_debug_errno(-EAGAIN,
                               "Rules of protocol %u still differ after %u rounds", protocol, RULE_SYNC_ROUNDS);
}
