/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "macro.h"
#include "netlink-read.h"
#include "rtnl-monitor.h"

int rtnl_monitor_open(int *ret_fd) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
                return negative_errno();
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_LINK };
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int rtnl_monitor_drain(int fd) {
        _cleanup_(freep) char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
        int changed = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = recv(fd, buf, MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return changed;
                        if (errno == ENOBUFS) { /* events were lost: assume the worst */
                                changed = 1;
                                continue;
                        }
                        return negative_errno();
                }
                if (!netlink_read_valid(buf, (size_t) n)) {
                        changed = 1; /* cannot tell what it said: assume the worst */
                        continue;
                }
                int len = (int) n;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        switch (nlh->nlmsg_type) {
                        case RTM_NEWROUTE:
                        case RTM_DELROUTE:
                        case RTM_NEWLINK:
                        case RTM_DELLINK:
                                changed = 1;
                                break;
                        }
        }
}
