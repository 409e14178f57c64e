/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether each netlink message of a read fits in it, checked before libmnl walks the read:
 * libmnl 1.0.4's mnl_nlmsg_ok() compares (int) nlmsg_len, so a length of 2^31 or more passes
 * as fitting and mnl_nlmsg_next() / mnl_cb_run() step far past the buffer. Bytes too few for
 * a header at the end are left alone, as libmnl leaves them. */
static inline bool netlink_read_valid(const void *buf, size_t n) {
        const unsigned char *p = buf;

        while (n >= sizeof(struct nlmsghdr)) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) p;
                if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > n)
                        return false;
                size_t step = NLMSG_ALIGN(nlh->nlmsg_len);
                if (step >= n)
                        break;
                p += step, n -= step;
        }
        return true;
}
