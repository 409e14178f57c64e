/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/table.h>
#include <time.h>

#include "log.h"
#include "netlink-read.h"
#include "nft-query.h"

int nft_socket_open(struct mnl_socket **ret, unsigned groups) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        int one = 1;

        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();
        /* Errors echo only the header, not a whole batch page; the reason comes as text. */
        (void) mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
        (void) mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof one);
        *ret = TAKE_PTR(nl);
        return 0;
}

static int extack_attr_cb(const struct nlattr *attr, void *data) {
        const char **msg = data;

        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                *msg = mnl_attr_get_str(attr);
        return MNL_CB_OK;
}

void nft_log_extack(const struct nlmsghdr *nlh, const char *what) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        const char *msg = NULL;

        if (nlh->nlmsg_type != NLMSG_ERROR || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || e->error == 0)
                return;
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
                return;
        (void) mnl_attr_parse(nlh, sizeof(struct nlmsgerr), extack_attr_cb, &msg);
        if (msg)
                log_debug("nftables refused %s: %s", what, msg);
}

int nft_query(struct nlmsghdr *request, mnl_cb_t cb, void *userdata) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        _cleanup_(freep) char *buf = NULL;
        unsigned portid;
        uint32_t seq;
        int r;

        r = nft_socket_open(&nl, 0);
        if (r < 0)
                return r;
        portid = mnl_socket_get_portid(nl);
        seq = (uint32_t) time(NULL);
        request->nlmsg_seq = seq;

        buf = malloc(MNL_SOCKET_DUMP_SIZE);
        if (!buf)
                return -ENOMEM;

        if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0)
                return negative_errno();

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_DUMP_SIZE);
                if (n < 0)
                        return negative_errno();
                if (!netlink_read_valid(buf, (size_t) n))
                        return -EBADMSG;

                r = mnl_cb_run(buf, n, seq, portid, cb, userdata);
                if (r < 0) {
                        /* mnl_cb_run() reports the kernel's error and a callback's through errno. */
                        r = negative_errno();
                        nft_log_extack((const struct nlmsghdr *) buf, "a query");
                        return r;
                }
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

int nft_table_exists(uint16_t family, const char *name) {
        char buf[NFT_REQUEST_SIZE] = {};
        struct nftnl_table *t;
        struct nlmsghdr *nlh;
        int r;

        t = nftnl_table_alloc();
        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
        nlh = nftnl_table_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK, 0);
        nftnl_table_nlmsg_build_payload(nlh, t);
        nftnl_table_free(t);

        r = nft_query(nlh, NULL, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return 1;
}
