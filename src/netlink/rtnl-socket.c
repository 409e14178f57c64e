/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "macro.h"
#include "netlink-read.h"
#include "rtnl-socket.h"

#define RTNL_RECEIVE_SIZE 32768 /* libmnl's advice for dumps: bigger than a page */

typedef struct RtnlCall {
        Rtnl *rtnl;
        RtnlReplyFunc reply;
        void *userdata;
        int error;
} RtnlCall;

void rtnl_socket_close(Rtnl *r) {
        if (r->nl)
                mnl_socket_close(r->nl);
        r->nl = NULL;
}

int rtnl_socket_open(Rtnl *r) {
        return netlink_socket_open(r, NETLINK_ROUTE);
}

int netlink_socket_open(Rtnl *r, int protocol) {
        int one = 1;

        *r = (Rtnl) {};

        r->nl = mnl_socket_open2(protocol, SOCK_CLOEXEC);
        if (!r->nl)
                return negative_errno();

        if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = negative_errno();
                rtnl_socket_close(r);
                return e;
        }

        /* Best effort: older kernels lack them, and errors still arrive without. */
        (void) mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof one);
        (void) mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof one);

        r->portid = mnl_socket_get_portid(r->nl);
        return 0;
}

int rtnl_family_address_size(int family) {
        switch (family) {
        case AF_INET:
                return sizeof(struct in_addr);
        case AF_INET6:
                return sizeof(struct in6_addr);
        default:
                return -EAFNOSUPPORT;
        }
}

bool rtnl_prefix_has_host_bits(const void *addr, int size, uint8_t prefixlen) {
        const uint8_t *p = addr;

        for (int i = 0; i < size; i++) {
                int keep = MIN(MAX((int) prefixlen - i * 8, 0), 8);
                uint8_t host = keep == 8 ? 0 : (uint8_t) (0xffu >> keep);

                if (p[i] & host)
                        return true;
        }
        return false;
}

static int on_error(const struct nlmsghdr *nlh, void *data) {
        RtnlCall *c = data;
        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
                c->error = -EBADMSG;
                return MNL_CB_ERROR;
        }

        if (err->error == 0)
                return MNL_CB_STOP; /* the ACK */

        if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
                const struct nlattr *attr;
                size_t offset = sizeof(struct nlmsgerr);

                /* Without NETLINK_CAP_ACK the kernel echoes our request before the TLVs. */
                if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                        offset += err->msg.nlmsg_len - sizeof(struct nlmsghdr);

                mnl_attr_for_each(attr, nlh, offset)
                        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                                snprintf(c->rtnl->error_message, sizeof c->rtnl->error_message,
                                         "%s", mnl_attr_get_str(attr));
        }

        c->error = err->error < 0 ? err->error : -err->error;
        return MNL_CB_ERROR;
}

static int on_done(const struct nlmsghdr *nlh, void *data) {
        RtnlCall *c = data;

        /* A dump that failed half way says so in NLMSG_DONE's payload. */
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
                int e = *(const int *) mnl_nlmsg_get_payload(nlh);
                if (e < 0) {
                        c->error = e;
                        return MNL_CB_ERROR;
                }
        }

        return MNL_CB_STOP;
}

static int on_overrun(const struct nlmsghdr *nlh, void *data) {
        RtnlCall *c = data;

        c->error = -ENOBUFS;
        return MNL_CB_ERROR;
}

static int on_noop(const struct nlmsghdr *nlh, void *data) {
        return MNL_CB_OK;
}

static int on_data(const struct nlmsghdr *nlh, void *data) {
        RtnlCall *c = data;
        int r;

        if (!c->reply)
                return MNL_CB_OK;

        r = c->reply(nlh, c->userdata);
        if (r < 0) {
                c->error = r;
                return MNL_CB_ERROR;
        }

        return MNL_CB_OK;
}

int rtnl_socket_call(Rtnl *r, struct nlmsghdr *nlh, RtnlReplyFunc reply, void *userdata) {
        static mnl_cb_t control[NLMSG_MIN_TYPE] = {
                [NLMSG_NOOP] = on_noop,
                [NLMSG_ERROR] = on_error,
                [NLMSG_DONE] = on_done,
                [NLMSG_OVERRUN] = on_overrun,
        };
        RtnlCall c = {
                .rtnl = r,
                .reply = reply,
                .userdata = userdata,
        };
        _cleanup_(freep) char *buf = NULL;

        buf = malloc(RTNL_RECEIVE_SIZE);
        if (!buf)
                return -ENOMEM;

        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++r->seq;
        r->error_message[0] = '\0';

        if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        for (;;) {
                ssize_t n;
                int k;

                n = mnl_socket_recvfrom(r->nl, buf, RTNL_RECEIVE_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (!netlink_read_valid(buf, (size_t) n))
                        return -EBADMSG;

                k = mnl_cb_run2(buf, n, nlh->nlmsg_seq, r->portid, on_data, &c,
                                control, ELEMENTSOF(control));
                if (k < 0)
                        /* libmnl reports an interrupted dump (NLM_F_DUMP_INTR) as EINTR. */
                        return c.error < 0 ? c.error : negative_errno();
                if (k == MNL_CB_STOP)
                        return 0;
        }
}

struct nlmsghdr *rtnl_socket_message(char *buf, uint16_t type, uint16_t flags) {
        struct nlmsghdr *nlh;

        memset(buf, 0, RTNL_REQUEST_SIZE);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        return nlh;
}
