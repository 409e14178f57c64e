/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "macro.h"
#include "rtnl-socket.h"
#include "sock-diag.h"

/* More would be an unusual box; those beyond wait out their 60 s. */
#define TIME_WAIT_RELEASE_MAX 65536

typedef struct Found {
        uint32_t address;
        uint16_t port;
        struct inet_diag_sockid *ids;
        size_t n, allocated;
} Found;

static int on_socket(const struct nlmsghdr *nlh, void *userdata) {
        Found *f = userdata;
        const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof *m)
                return -EBADMSG;
        if (m->idiag_family != AF_INET || m->idiag_state != TCP_TIME_WAIT || m->id.idiag_src[0] != f->address ||
            m->id.idiag_sport != f->port || f->n >= TIME_WAIT_RELEASE_MAX)
                return 0;
        if (f->n == f->allocated) {
                size_t more = MAX(f->allocated * 2, (size_t) 16);
                struct inet_diag_sockid *ids = reallocarray(f->ids, more, sizeof *ids);
                if (!ids)
                        return -ENOMEM;
                f->ids = ids;
                f->allocated = more;
        }
        f->ids[f->n++] = m->id;
        return 0;
}

static struct nlmsghdr *request(char *buf, uint16_t type, uint16_t flags, const struct inet_diag_sockid *id) {
        struct nlmsghdr *nlh = rtnl_socket_message(buf, type, flags);
        struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof *req);

        req->sdiag_family = AF_INET;
        req->sdiag_protocol = IPPROTO_TCP;
        req->idiag_states = 1u << TCP_TIME_WAIT;
        if (id)
                req->id = *id;
        return nlh;
}

int tcp_time_wait_release(uint32_t address, uint16_t port) {
        char buf[RTNL_REQUEST_SIZE];
        Found f = { .address = address, .port = htons(port) };
        Rtnl nl;
        int r, released = 0;

        r = netlink_socket_open(&nl, NETLINK_SOCK_DIAG);
        if (r < 0)
                return r;
        r = rtnl_socket_call(&nl, request(buf, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, NULL), on_socket, &f);
        for (size_t i = 0; r >= 0 && i < f.n; i++) {
                r = rtnl_socket_call(&nl, request(buf, SOCK_DESTROY, NLM_F_REQUEST, &f.ids[i]), NULL, NULL);
                if (r == -ENOENT)
                        r = 0; /* its time was up meanwhile */
                else if (r >= 0)
                        released++;
        }
        free(f.ids);
        rtnl_socket_close(&nl);
        return r < 0 ? r : released;
}
