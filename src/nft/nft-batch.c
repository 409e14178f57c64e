/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "log.h"
#include "netlink-read.h"
#include "nft-batch.h"
#include "nft-query.h"

/* Pages of the batch buffer; a message never exceeds the overrun. */
#define BATCH_PAGE_SIZE (128 * 1024)
#define BATCH_PAGE_OVERRUN (64 * 1024)
/* Zeroed ahead of each message: attribute padding is never written by libmnl. */
#define BATCH_MESSAGE_MAX (32 * 1024)

struct NftBatch {
        struct nftnl_batch *batch;
        uint32_t seq_first; /* the batch-begin message */
        uint32_t seq_next;
        size_t n_messages;
        bool committed;
};

NftBatch *nft_batch_free(NftBatch *b) {
        if (!b)
                return NULL;
        nftnl_batch_free(b->batch);
        free(b);
        return NULL;
}

static void *batch_tail(NftBatch *b) {
        return nftnl_batch_buffer(b->batch);
}

static int batch_advance(NftBatch *b) {
        /* Moves on to the next page once this one is past its size. */
        if (nftnl_batch_update(b->batch) < 0)
                return -ENOMEM;
        return 0;
}

int nft_batch_new(NftBatch **ret) {
        _cleanup_(nft_batch_freep) NftBatch *b = NULL;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->batch = nftnl_batch_alloc(BATCH_PAGE_SIZE, BATCH_PAGE_OVERRUN);
        if (!b->batch)
                return -ENOMEM;

        /* Distinct from any earlier batch on a reused port id. */
        b->seq_first = (uint32_t) time(NULL) << 8;
        b->seq_next = b->seq_first;
        memset(batch_tail(b), 0, BATCH_MESSAGE_MAX);
        nftnl_batch_begin(batch_tail(b), b->seq_next++);
        if (batch_advance(b) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(b);
        return 0;
}

static struct nlmsghdr *batch_message(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags) {
        b->n_messages++;
        memset(batch_tail(b), 0, BATCH_MESSAGE_MAX);
        return nftnl_nlmsg_build_hdr(batch_tail(b), type, family, flags | NLM_F_ACK, b->seq_next++);
}

int nft_batch_add_table(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, const struct nftnl_table *t) {
        nftnl_table_nlmsg_build_payload(batch_message(b, type, family, flags), t);
        return batch_advance(b);
}

int nft_batch_add_chain(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, const struct nftnl_chain *c) {
        nftnl_chain_nlmsg_build_payload(batch_message(b, type, family, flags), c);
        return batch_advance(b);
}

int nft_batch_add_set(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, struct nftnl_set *s) {
        nftnl_set_nlmsg_build_payload(batch_message(b, type, family, flags), s);
        return batch_advance(b);
}

int nft_batch_add_set_elems(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, struct nftnl_set *s) {
        nftnl_set_elems_nlmsg_build_payload(batch_message(b, type, family, flags), s);
        return batch_advance(b);
}

int nft_batch_add_rule(NftBatch *b, uint16_t type, uint16_t family, uint16_t flags, struct nftnl_rule *r) {
        nftnl_rule_nlmsg_build_payload(batch_message(b, type, family, flags), r);
        return batch_advance(b);
}

size_t nft_batch_size(const NftBatch *b) {
        return b->n_messages;
}

static void grow_buffer(struct mnl_socket *nl, int opt_force, int opt, size_t want) {
        int v = (int) MIN(want, (size_t) (1 << 30));

        /* The kernel doubles the value; FORCE needs CAP_NET_ADMIN, which we have to talk nftables anyway. */
        if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, opt_force, &v, sizeof v) < 0)
                (void) setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, opt, &v, sizeof v);
}

typedef struct AckState {
        uint32_t seq_first, seq_last;
        uint32_t error_seq;
        int error;
        size_t acks;
} AckState;

static void ack_record(AckState *st, const struct nlmsghdr *nlh) {
        const struct nlmsgerr *e;

        if (nlh->nlmsg_type != NLMSG_ERROR)
                return;
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
                return;
        if (nlh->nlmsg_seq < st->seq_first || nlh->nlmsg_seq > st->seq_last)
                return;

        e = mnl_nlmsg_get_payload(nlh);
        st->acks++;
        if (e->error >= 0)
                return;
        nft_log_extack(nlh, "a batch message");
        log_debug("nftables refused message %u of the batch: %s",
                  nlh->nlmsg_seq - st->seq_first, strerror(-e->error));
        if (st->error == 0 || nlh->nlmsg_seq < st->error_seq) {
                st->error = e->error;
                st->error_seq = nlh->nlmsg_seq;
        }
}

int nft_batch_commit(NftBatch *b) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        _cleanup_(freep) struct iovec *iov = NULL;
        _cleanup_(freep) char *buf = NULL;
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        struct msghdr msg = {};
        AckState st = {};
        size_t total = 0;
        int n_iov, r;

        if (b->committed)
                return -EALREADY;
        b->committed = true;

        memset(batch_tail(b), 0, BATCH_MESSAGE_MAX);
        nftnl_batch_end(batch_tail(b), b->seq_next);
        if (batch_advance(b) < 0)
                return -ENOMEM;

        r = nft_socket_open(&nl, 0);
        if (r < 0)
                return r;

        n_iov = nftnl_batch_iovec_len(b->batch);
        iov = calloc(n_iov, sizeof *iov);
        if (!iov)
                return -ENOMEM;
        nftnl_batch_iovec(b->batch, iov, n_iov);
        for (int i = 0; i < n_iov; i++)
                total += iov[i].iov_len;

        /* The whole batch is one datagram: the send buffer must hold it, and the
         * receive buffer every ACK (one small skb per message). */
        grow_buffer(nl, SO_SNDBUFFORCE, SO_SNDBUF, total + 4096);
        grow_buffer(nl, SO_RCVBUFFORCE, SO_RCVBUF, (b->n_messages + 16) * 1024);

        msg = (struct msghdr) {
                .msg_name = &kernel,
                .msg_namelen = sizeof kernel,
                .msg_iov = iov,
                .msg_iovlen = n_iov,
        };
        if (sendmsg(mnl_socket_get_fd(nl), &msg, 0) < 0)
                return negative_errno();

        buf = malloc(MNL_SOCKET_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;

        st.seq_first = b->seq_first;
        st.seq_last = b->seq_next;

        /* nfnetlink handles the batch inside sendmsg(): every reply is queued by now,
         * so drain without blocking. */
        for (;;) {
                ssize_t n = recv(mnl_socket_get_fd(nl), buf, MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return negative_errno();
                }
                if (!netlink_read_valid(buf, (size_t) n))
                        return -EBADMSG;
                if (!netlink_read_valid(buf, (size_t) n))
                        return -EBADMSG;
                int len = (int) n;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
                     mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        ack_record(&st, nlh);
        }

        if (st.error < 0)
                return st.error;
        if (st.acks < b->n_messages)
                /* Lost ACKs: we cannot tell what happened. */
                return log_debug_errno(-EIO, "nftables answered %zu of %zu batch messages", st.acks, b->n_messages);
        return 0;
}
