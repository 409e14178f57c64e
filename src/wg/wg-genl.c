/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "log.h"
#include "macro.h"
#include "netlink-read.h"
#include "wg-genl.h"

/* Dump replies may be up to 32 KiB (the kernel's cap on dump skbs). */
#define GENL_RECV_BUFFER_SIZE 32768U
/* A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried this often. */
#define GET_DEVICE_ATTEMPTS 5

static bool family_is_ip(int family) {
        return family == AF_INET || family == AF_INET6;
}

/* ---- batch ---- */

WgGenlBatch *wg_genl_batch_free(WgGenlBatch *b) {
        if (!b)
                return NULL;

        for (size_t i = 0; i < b->n_messages; i++) {
                /* the buffers held private and preshared keys, also in cancelled nests */
                explicit_bzero(b->buffers[i], b->buffer_size);
                free(b->buffers[i]);
        }
        free(b->buffers);
        free(b);
        return NULL;
}

const struct nlmsghdr *wg_genl_batch_message(const WgGenlBatch *b, size_t i) {
        if (!b || i >= b->n_messages)
                return NULL;
        return b->buffers[i];
}

static struct nlmsghdr *batch_add_message(WgGenlBatch *b) {
        void **buffers, *buf;

        buffers = reallocarray(b->buffers, b->n_messages + 1, sizeof(void *));
        if (!buffers)
                return NULL;
        b->buffers = buffers;

        buf = calloc(1, b->buffer_size);
        if (!buf)
                return NULL;
        b->buffers[b->n_messages++] = buf;
        return mnl_nlmsg_put_header(buf);
}

/* ---- building WG_CMD_SET_DEVICE ---- */

/* Where the next message continues: the next peer to send and, when that peer
 * was cut off, the first of its allowed IPs still to send. */
typedef struct SetCursor {
        const WgPeer *peer;
        const WgAllowedIp *allowed_ip;
} SetCursor;

/* mnl_attr_nest_start() leaves nla_len unset until the nest is ended. */
static bool nest_is_empty(const struct nlmsghdr *nlh, const struct nlattr *nest) {
        return (const uint8_t *) mnl_nlmsg_get_payload_tail(nlh) == (const uint8_t *) nest + MNL_ATTR_HDRLEN;
}

static int put_device_id(struct nlmsghdr *nlh, size_t size, const WgDevice *dev) {
        bool ok;

        if (dev->ifindex > 0)
                ok = mnl_attr_put_u32_check(nlh, size, WGDEVICE_A_IFINDEX, dev->ifindex);
        else
                ok = mnl_attr_put_strz_check(nlh, size, WGDEVICE_A_IFNAME, dev->name);
        return ok ? 0 : -EMSGSIZE;
}

static int put_device_attributes(struct nlmsghdr *nlh, size_t size, const WgDevice *dev) {
        uint32_t flags = 0;

        if ((dev->flags & WG_DEVICE_HAS_PRIVATE_KEY) &&
            !mnl_attr_put_check(nlh, size, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, dev->private_key))
                return -EMSGSIZE;
        if ((dev->flags & WG_DEVICE_HAS_LISTEN_PORT) &&
            !mnl_attr_put_u16_check(nlh, size, WGDEVICE_A_LISTEN_PORT, dev->listen_port))
                return -EMSGSIZE;
        if ((dev->flags & WG_DEVICE_HAS_FWMARK) &&
            !mnl_attr_put_u32_check(nlh, size, WGDEVICE_A_FWMARK, dev->fwmark))
                return -EMSGSIZE;
        if (dev->flags & WG_DEVICE_REPLACE_PEERS)
                flags |= WGDEVICE_F_REPLACE_PEERS;
        if (flags != 0 && !mnl_attr_put_u32_check(nlh, size, WGDEVICE_A_FLAGS, flags))
                return -EMSGSIZE;
        return 0;
}

/* A continued peer repeats only its key and REMOVE_ME (without it the kernel
 * would re-create a removed peer); the rest was applied by its first part. */
static bool put_peer_header(struct nlmsghdr *nlh, size_t size, const WgPeer *p, bool continued) {
        uint32_t flags = 0;

        if (!mnl_attr_put_check(nlh, size, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
                return false;
        if (p->flags & WG_PEER_REMOVE_ME)
                flags |= WGPEER_F_REMOVE_ME;

        if (!continued) {
                if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
                        flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
                if ((p->flags & WG_PEER_HAS_PRESHARED_KEY) &&
                    !mnl_attr_put_check(nlh, size, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key))
                        return false;
                if (p->flags & WG_PEER_HAS_ENDPOINT) {
                        size_t len = p->endpoint.addr.sa_family == AF_INET ?
                                sizeof(p->endpoint.addr4) : sizeof(p->endpoint.addr6);

                        if (!mnl_attr_put_check(nlh, size, WGPEER_A_ENDPOINT, len, &p->endpoint))
                                return false;
                }
                if ((p->flags & WG_PEER_HAS_PERSISTENT_KEEPALIVE) &&
                    !mnl_attr_put_u16_check(nlh, size, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                            p->persistent_keepalive))
                        return false;
        }

        if (flags != 0 && !mnl_attr_put_u32_check(nlh, size, WGPEER_A_FLAGS, flags))
                return false;
        return true;
}

static bool put_allowed_ip(struct nlmsghdr *nlh, size_t size, const WgAllowedIp *a) {
        struct nlattr *nest;
        bool ok;

        nest = mnl_attr_nest_start_check(nlh, size, 0);
        if (!nest)
                return false;

        ok = mnl_attr_put_u16_check(nlh, size, WGALLOWEDIP_A_FAMILY, a->family) &&
                (a->family == AF_INET ?
                 mnl_attr_put_check(nlh, size, WGALLOWEDIP_A_IPADDR, sizeof(a->ip4), &a->ip4) :
                 mnl_attr_put_check(nlh, size, WGALLOWEDIP_A_IPADDR, sizeof(a->ip6), &a->ip6)) &&
                mnl_attr_put_u8_check(nlh, size, WGALLOWEDIP_A_CIDR_MASK, a->cidr);
        if (!ok) {
                mnl_attr_nest_cancel(nlh, nest);
                return false;
        }

        mnl_attr_nest_end(nlh, nest);
        return true;
}

/* Puts the cursor's peer (or what remains of it). Returns true when all of it
 * fit and advances the cursor to the next peer; false when the message is full,
 * leaving the cursor at what is still to send. *progress is set when anything
 * that will not be sent again went in. */
static bool put_peer(struct nlmsghdr *nlh, size_t size, SetCursor *c, bool first_in_message, bool *progress) {
        const WgPeer *p = c->peer;
        const WgAllowedIp *a, *first;
        bool continued = c->allowed_ip != NULL;
        struct nlattr *peer_nest, *allowed_ips_nest;

        peer_nest = mnl_attr_nest_start_check(nlh, size, 0);
        if (!peer_nest)
                return false;
        if (!put_peer_header(nlh, size, p, continued)) {
                mnl_attr_nest_cancel(nlh, peer_nest);
                return false;
        }

        first = a = continued ? c->allowed_ip : p->allowed_ips;
        if (a) {
                allowed_ips_nest = mnl_attr_nest_start_check(nlh, size, WGPEER_A_ALLOWEDIPS);
                if (allowed_ips_nest) {
                        while (a && put_allowed_ip(nlh, size, a))
                                a = a->next;
                        if (a == first)
                                mnl_attr_nest_cancel(nlh, allowed_ips_nest);
                        else
                                mnl_attr_nest_end(nlh, allowed_ips_nest);
                }
        }

        if (!a) {
                mnl_attr_nest_end(nlh, peer_nest);
                *progress = true;
                c->peer = p->next;
                c->allowed_ip = NULL;
                return true;
        }

        if (a == first && (continued || !first_in_message)) {
                /* nothing new of this peer fits: leave all of it to the next message */
                mnl_attr_nest_cancel(nlh, peer_nest);
                return false;
        }

        /* cut inside the allowed IPs (or right after a new peer's own attributes) */
        mnl_attr_nest_end(nlh, peer_nest);
        *progress = true;
        c->allowed_ip = a;
        return false;
}

static int put_set_message(struct nlmsghdr *nlh, size_t size, const WgDevice *dev, bool first, SetCursor *c) {
        struct nlattr *peers_nest;
        bool progress = first, first_in_message = true;
        int r;

        r = put_device_id(nlh, size, dev);
        if (r < 0)
                return r;
        if (first) {
                r = put_device_attributes(nlh, size, dev);
                if (r < 0)
                        return r;
        }
        if (!c->peer)
                return 0;

        peers_nest = mnl_attr_nest_start_check(nlh, size, WGDEVICE_A_PEERS);
        if (!peers_nest)
                return progress ? 0 : -EMSGSIZE;

        while (c->peer && put_peer(nlh, size, c, first_in_message, &progress))
                first_in_message = false;

        if (nest_is_empty(nlh, peers_nest))
                mnl_attr_nest_cancel(nlh, peers_nest);
        else
                mnl_attr_nest_end(nlh, peers_nest);

        return progress ? 0 : -EMSGSIZE;
}

static int validate_device_for_set(const WgDevice *dev) {
        if (dev->ifindex == 0) {
                size_t n = strnlen(dev->name, sizeof(dev->name));

                if (n == 0 || n >= IFNAMSIZ)
                        return -EINVAL;
        }

        for (const WgPeer *p = dev->peers; p; p = p->next) {
                if ((p->flags & WG_PEER_HAS_ENDPOINT) &&
                    !family_is_ip(p->endpoint.addr.sa_family))
                        return -EAFNOSUPPORT;

                for (const WgAllowedIp *a = p->allowed_ips; a; a = a->next) {
                        if (!family_is_ip(a->family))
                                return -EAFNOSUPPORT;
                        if (a->cidr > (a->family == AF_INET ? 32 : 128))
                                return -EINVAL;
                }
        }
        return 0;
}

int wg_genl_build_set(const WgDevice *dev, uint16_t family_id, uint32_t seq, size_t max_msg_size, WgGenlBatch **ret) {
        _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
        SetCursor c;
        int r;

        if (!dev || !ret)
                return -EINVAL;
        if (max_msg_size < MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN) || max_msg_size > UINT32_MAX)
                return -EMSGSIZE;

        r = validate_device_for_set(dev);
        if (r < 0)
                return r;

        b = calloc(1, sizeof(WgGenlBatch));
        if (!b)
                return -ENOMEM;
        b->buffer_size = max_msg_size;

        c = (SetCursor) { .peer = dev->peers };
        do {
                struct nlmsghdr *nlh;
                struct genlmsghdr *genl;

                nlh = batch_add_message(b);
                if (!nlh)
                        return -ENOMEM;
                nlh->nlmsg_type = family_id;
                nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
                nlh->nlmsg_seq = seq + (uint32_t) (b->n_messages - 1);

                genl = mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
                genl->cmd = WG_CMD_SET_DEVICE;
                genl->version = WG_GENL_VERSION;

                r = put_set_message(nlh, max_msg_size, dev, b->n_messages == 1, &c);
                if (r < 0)
                        return r;
        } while (c.peer);

        *ret = TAKE_PTR(b);
        return 0;
}

int wg_genl_build_get(void *buf, size_t size, uint16_t family_id, uint32_t seq, const char *ifname, struct nlmsghdr **ret) {
        struct nlmsghdr *nlh;
        struct genlmsghdr *genl;
        size_t n;

        if (!buf || isempty(ifname))
                return -EINVAL;
        n = strnlen(ifname, IFNAMSIZ);
        if (n >= IFNAMSIZ)
                return -EINVAL;
        if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN) + MNL_ATTR_HDRLEN + MNL_ALIGN(n + 1))
                return -EMSGSIZE;

        memset(buf, 0, size);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = family_id;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
        nlh->nlmsg_seq = seq;
        genl = mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
        genl->cmd = WG_CMD_GET_DEVICE;
        genl->version = WG_GENL_VERSION;
        mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);

        if (ret)
                *ret = nlh;
        return 0;
}

/* ---- the live socket ---- */

typedef struct GenlSocket {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        uint16_t family_id;
        uint8_t *buf;
} GenlSocket;

static GenlSocket *genl_socket_free(GenlSocket *s) {
        if (!s)
                return NULL;
        if (s->nl)
                mnl_socket_close(s->nl);
        if (s->buf) {
                /* replies and echoed requests may hold keys */
                explicit_bzero(s->buf, GENL_RECV_BUFFER_SIZE);
                free(s->buf);
        }
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GenlSocket *, genl_socket_free);

static int genl_socket_open(GenlSocket **ret) {
        _cleanup_(genl_socket_freep) GenlSocket *s = NULL;
        int one = 1;

        s = calloc(1, sizeof(GenlSocket));
        if (!s)
                return -ENOMEM;
        s->buf = malloc(GENL_RECV_BUFFER_SIZE);
        if (!s->buf)
                return -ENOMEM;

        s->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
        if (!s->nl) {
                /* no generic netlink at all: certainly no kernel WireGuard */
                if (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)
                        return -EPROTONOSUPPORT;
                return negative_errno();
        }
        if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();

        /* ACKs need not echo our (large) requests; a failure here is harmless */
        (void) mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
        (void) mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));

        s->portid = mnl_socket_get_portid(s->nl);
        s->seq = (uint32_t) time(NULL);
        *ret = TAKE_PTR(s);
        return 0;
}

static int genl_on_error(const struct nlmsghdr *nlh, void *userdata) {
        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }
        if (err->error == 0)
                return MNL_CB_STOP; /* the ACK */
        errno = err->error < 0 ? -err->error : err->error;
        return MNL_CB_ERROR;
}

/* A dump that failed part-way ends with NLMSG_DONE carrying the error. */
static int genl_on_done(const struct nlmsghdr *nlh, void *userdata) {
        int error;

        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(error)) {
                memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
                if (error < 0) {
                        errno = -error;
                        return MNL_CB_ERROR;
                }
        }
        return MNL_CB_STOP;
}

/* Sends one request and runs its replies through handler until the ACK or the
 * end of the dump. Returns 0 or the negative errno the kernel answered. */
static int genl_transact(GenlSocket *s, struct nlmsghdr *nlh, mnl_cb_t handler, void *userdata) {
        mnl_cb_t control[NLMSG_DONE + 1] = {
                [NLMSG_ERROR] = genl_on_error,
                [NLMSG_DONE] = genl_on_done,
        };

        if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        for (;;) {
                ssize_t n;
                int r;

                n = mnl_socket_recvfrom(s->nl, s->buf, GENL_RECV_BUFFER_SIZE);
                if (n < 0)
                        return negative_errno();
                if (!netlink_read_valid(s->buf, (size_t) n))
                        return -EBADMSG;

                errno = 0;
                r = mnl_cb_run2(s->buf, n, nlh->nlmsg_seq, s->portid, handler, userdata,
                                control, ELEMENTSOF(control));
                if (r < 0)
                        return errno > 0 ? -errno : -EBADMSG;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static int on_family_reply(const struct nlmsghdr *nlh, void *userdata) {
        uint16_t *family_id = userdata;
        const struct nlattr *attr;

        mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
                if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
                    mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
                        *family_id = mnl_attr_get_u16(attr);
        return MNL_CB_OK;
}

static int genl_resolve_family(GenlSocket *s, const char *name, uint16_t *ret) {
        uint8_t buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN) + MNL_ATTR_HDRLEN + MNL_ALIGN(GENL_NAMSIZ)] = {};
        struct nlmsghdr *nlh;
        struct genlmsghdr *genl;
        uint16_t family_id = 0;
        int r;

        if (isempty(name) || strnlen(name, GENL_NAMSIZ) >= GENL_NAMSIZ)
                return -EINVAL;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = GENL_ID_CTRL;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++s->seq;
        genl = mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
        genl->cmd = CTRL_CMD_GETFAMILY;
        genl->version = 1;
        mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);

        r = genl_transact(s, nlh, on_family_reply, &family_id);
        if (r == -ENOENT)
                return -EPROTONOSUPPORT;
        if (r < 0)
                return r;
        if (family_id == 0)
                return -EPROTO;

        *ret = family_id;
        return 0;
}

int wg_genl_resolve_family(const char *name, uint16_t *ret) {
        _cleanup_(genl_socket_freep) GenlSocket *s = NULL;
        int r;

        if (!ret)
                return -EINVAL;

        r = genl_socket_open(&s);
        if (r < 0)
                return r;
        return genl_resolve_family(s, name, ret);
}

static int genl_socket_open_wireguard(GenlSocket **ret) {
        _cleanup_(genl_socket_freep) GenlSocket *s = NULL;
        int r;

        r = genl_socket_open(&s);
        if (r < 0)
                return r;
        r = genl_resolve_family(s, WG_GENL_NAME, &s->family_id);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int wg_genl_available(void) {
        _cleanup_(genl_socket_freep) GenlSocket *s = NULL;
        int r;

        r = genl_socket_open_wireguard(&s);
        if (r == -EPROTONOSUPPORT)
                return 0;
        if (r < 0)
                return r;
        return 1;
}

int wg_genl_set_device(const WgDevice *dev) {
        _cleanup_(genl_socket_freep) GenlSocket *s = NULL;
        _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
        int r;

        if (!dev)
                return -EINVAL;

        r = genl_socket_open_wireguard(&s);
        if (r < 0)
                return r;

        r = wg_genl_build_set(dev, s->family_id, s->seq + 1, MNL_SOCKET_BUFFER_SIZE, &b);
        if (r < 0)
                return r;
        s->seq += (uint32_t) b->n_messages;

        /* one at a time, as wg does: a failed part stops the rest */
        for (size_t i = 0; i < b->n_messages; i++) {
                r = genl_transact(s, b->buffers[i], NULL, NULL);
                if (r < 0)
                        return log_debug_errno(r, "WireGuard SET message %zu/%zu (ifindex %u, name '%.16s') failed: %m",
                                               i + 1, b->n_messages, dev->ifindex, dev->name);
        }
        return 0;
}

static int on_device_reply(const struct nlmsghdr *nlh, void *userdata) {
        int r;

        r = wg_genl_parse_device_message(nlh, userdata);
        if (r < 0) {
                errno = -r;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

int wg_genl_get_device(const char *ifname, WgDevice **ret) {
        uint8_t buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN) + MNL_ATTR_HDRLEN + MNL_ALIGN(IFNAMSIZ)];
        int r;

        if (isempty(ifname) || strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ || !ret)
                return -EINVAL;

        for (unsigned attempt = 1;; attempt++) {
                _cleanup_(genl_socket_freep) GenlSocket *s = NULL;
                _cleanup_(wg_device_freep) WgDevice *dev = NULL;
                struct nlmsghdr *nlh;

                /* a fresh socket each time: an abandoned dump leaves replies queued */
                r = genl_socket_open_wireguard(&s);
                if (r < 0)
                        return r;

                dev = calloc(1, sizeof(WgDevice));
                if (!dev)
                        return -ENOMEM;

                r = wg_genl_build_get(buf, sizeof(buf), s->family_id, ++s->seq, ifname, &nlh);
                if (r < 0)
                        return r;

                r = genl_transact(s, nlh, on_device_reply, dev);
                if (r == -EINTR && attempt < GET_DEVICE_ATTEMPTS)
                        continue; /* the peer set changed during the dump */
                if (r < 0)
                        return r;

                *ret = TAKE_PTR(dev);
                return 0;
        }
}
