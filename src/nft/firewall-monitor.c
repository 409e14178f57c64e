/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Noticing that someone removed our table: nftables' own change events
 * (NFNLGRP_NFTABLES), confirmed by asking whether the table exists. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/table.h>
#include <sys/socket.h>

#include "firewall-internal.h"
#include "log.h"
#include "netlink-read.h"
#include "nft-query.h"

int firewall_open_monitor(int *ret_fd) {
        int fd, group = NFNLGRP_NFTABLES;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        if (fd < 0)
                return negative_errno();
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static bool is_our_table_deletion(const struct nlmsghdr *nlh) {
        struct nftnl_table *t;
        bool match = false;

        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
            NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_DELTABLE)
                return false;

        t = nftnl_table_alloc();
        if (!t)
                return true; /* cannot tell: let the existence check decide */
        if (nftnl_table_nlmsg_parse(nlh, t) < 0)
                match = true;
        else
                match = nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == NFPROTO_INET &&
                        streq(strempty(nftnl_table_get_str(t, NFTNL_TABLE_NAME)), FIREWALL_TABLE);
        nftnl_table_free(t);
        return match;
}

int firewall_monitor_process(int fd, bool *ret_table_gone) {
        _cleanup_(freep) char *buf = NULL;
        bool check = false;
        int r;

        buf = malloc(MNL_SOCKET_DUMP_SIZE);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n = recv(fd, buf, MNL_SOCKET_DUMP_SIZE, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) {
                                /* Events were dropped; whatever they said, look for ourselves. */
                                check = true;
                                continue;
                        }
                        return negative_errno();
                }
                if (!netlink_read_valid(buf, (size_t) n)) {
                        check = true; /* cannot tell what it said: look for ourselves */
                        continue;
                }
                int len = (int) n;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        if (is_our_table_deletion(nlh))
                                check = true;
        }

        if (!check) {
                *ret_table_gone = false;
                return 0;
        }
        /* Events are sent after the commit: a rebuild (delete + create in one batch) leaves it there. */
        r = nft_table_exists(NFPROTO_INET, FIREWALL_TABLE);
        if (r < 0)
                return r;
        *ret_table_gone = r == 0;
        return 0;
}
