/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test-skip.h"

#include "wg-genl.h"

#define FAMILY_ID 0x1b

/* ---- building test devices ---- */

static void fill_key(WgKey k, uint8_t tag, uint32_t index) {
        memset(k, tag, WG_KEY_LEN);
        memcpy(k, &index, sizeof(index));
}

static WgDevice *device_new(void) {
        WgDevice *d = calloc(1, sizeof(WgDevice));

        if (!d)
                abort();
        return d;
}

static void add_ip4(WgPeer *p, const char *s, uint8_t cidr) {
        struct in_addr a;

        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        assert_non_null(wg_peer_append_allowed_ip(p, AF_INET, &a, cidr));
}

static void add_ip6(WgPeer *p, const char *s, uint8_t cidr) {
        struct in6_addr a;

        assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
        assert_non_null(wg_peer_append_allowed_ip(p, AF_INET6, &a, cidr));
}

/* The n-th allowed IP of generated peers: v4 for even n, v6 for odd n, both encoding n. */
static void add_numbered_ip(WgPeer *p, uint32_t n) {
        if (n % 2 == 0) {
                struct in_addr a = { .s_addr = htonl(0x0a000000U | n) };

                assert_non_null(wg_peer_append_allowed_ip(p, AF_INET, &a, 32));
        } else {
                struct in6_addr a = {};

                a.s6_addr[0] = 0xfd;
                memcpy(&a.s6_addr[12], &n, sizeof(n));
                assert_non_null(wg_peer_append_allowed_ip(p, AF_INET6, &a, 128));
        }
}

static uint32_t numbered_ip_index(int family, const uint8_t *addr) {
        uint32_t n;

        if (family == AF_INET) {
                memcpy(&n, addr, sizeof(n));
                return ntohl(n) & 0x00ffffffU;
        }
        memcpy(&n, addr + 12, sizeof(n));
        return n;
}

/* ---- decoding built SET messages with plain libmnl ---- */

typedef struct DecodedIp {
        int family;
        uint8_t addr[16];
        uint8_t cidr;
} DecodedIp;

/* One peer nest as it appeared in one message. */
typedef struct PeerPart {
        size_t message;
        WgKey public_key;
        bool has_flags, has_psk, has_endpoint, has_keepalive, has_allowed_ips_attr;
        uint32_t flags;
        WgKey psk;
        WgEndpoint endpoint;
        uint16_t keepalive;
        size_t n_ips;
        DecodedIp *ips;
} PeerPart;

typedef struct Decoded {
        size_t n_parts;
        PeerPart *parts;
        /* per message */
        bool has_flags[1024];
        uint32_t device_flags[1024];
        bool has_private_key[1024], has_listen_port[1024], has_fwmark[1024], has_peers[1024];
} Decoded;

static void decoded_done(Decoded *d) {
        for (size_t i = 0; i < d->n_parts; i++)
                free(d->parts[i].ips);
        free(d->parts);
}

static int table_cb(const struct nlattr *attr, void *data) {
        const struct nlattr **tb = data;
        uint16_t type = mnl_attr_get_type(attr);

        assert_true(type < 16);
        assert_null(tb[type]); /* each attribute at most once per nest */
        tb[type] = attr;
        return MNL_CB_OK;
}

static void assert_nested(const struct nlattr *attr) {
        assert_true(attr->nla_type & NLA_F_NESTED);
}

static int allowed_ip_cb(const struct nlattr *attr, void *data) {
        PeerPart *part = data;
        const struct nlattr *tb[16] = {};
        DecodedIp *ip;

        assert_nested(attr);
        assert_int_equal(mnl_attr_parse_nested(attr, table_cb, tb), MNL_CB_OK);
        assert_non_null(tb[WGALLOWEDIP_A_FAMILY]);
        assert_non_null(tb[WGALLOWEDIP_A_IPADDR]);
        assert_non_null(tb[WGALLOWEDIP_A_CIDR_MASK]);
        assert_int_equal(mnl_attr_validate(tb[WGALLOWEDIP_A_FAMILY], MNL_TYPE_U16), 0);
        assert_int_equal(mnl_attr_validate(tb[WGALLOWEDIP_A_CIDR_MASK], MNL_TYPE_U8), 0);

        part->ips = realloc(part->ips, (part->n_ips + 1) * sizeof(DecodedIp));
        assert_non_null(part->ips);
        ip = &part->ips[part->n_ips++];
        *ip = (DecodedIp) {
                .family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]),
                .cidr = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]),
        };
        assert_int_equal(mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]), ip->family == AF_INET ? 4 : 16);
        memcpy(ip->addr, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]),
               mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]));
        return MNL_CB_OK;
}

typedef struct PeersContext {
        Decoded *d;
        size_t message;
} PeersContext;

static int peer_cb(const struct nlattr *attr, void *data) {
        PeersContext *ctx = data;
        const struct nlattr *tb[16] = {};
        PeerPart *part;

        assert_nested(attr);
        assert_int_equal(mnl_attr_get_type(attr), 0);
        assert_int_equal(mnl_attr_parse_nested(attr, table_cb, tb), MNL_CB_OK);

        ctx->d->parts = realloc(ctx->d->parts, (ctx->d->n_parts + 1) * sizeof(PeerPart));
        assert_non_null(ctx->d->parts);
        part = &ctx->d->parts[ctx->d->n_parts++];
        *part = (PeerPart) { .message = ctx->message };

        assert_non_null(tb[WGPEER_A_PUBLIC_KEY]);
        assert_int_equal(mnl_attr_get_payload_len(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
        memcpy(part->public_key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);

        if (tb[WGPEER_A_FLAGS]) {
                assert_int_equal(mnl_attr_validate(tb[WGPEER_A_FLAGS], MNL_TYPE_U32), 0);
                part->has_flags = true;
                part->flags = mnl_attr_get_u32(tb[WGPEER_A_FLAGS]);
                assert_int_not_equal(part->flags, 0); /* never sent empty */
        }
        if (tb[WGPEER_A_PRESHARED_KEY]) {
                assert_int_equal(mnl_attr_get_payload_len(tb[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
                part->has_psk = true;
                memcpy(part->psk, mnl_attr_get_payload(tb[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
        }
        if (tb[WGPEER_A_ENDPOINT]) {
                size_t len = mnl_attr_get_payload_len(tb[WGPEER_A_ENDPOINT]);

                assert_true(len == sizeof(struct sockaddr_in) || len == sizeof(struct sockaddr_in6));
                part->has_endpoint = true;
                memcpy(&part->endpoint, mnl_attr_get_payload(tb[WGPEER_A_ENDPOINT]), len);
        }
        if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
                assert_int_equal(mnl_attr_validate(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL], MNL_TYPE_U16), 0);
                part->has_keepalive = true;
                part->keepalive = mnl_attr_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
        }
        if (tb[WGPEER_A_ALLOWEDIPS]) {
                assert_nested(tb[WGPEER_A_ALLOWEDIPS]);
                part->has_allowed_ips_attr = true;
                assert_int_equal(mnl_attr_parse_nested(tb[WGPEER_A_ALLOWEDIPS], allowed_ip_cb, part), MNL_CB_OK);
                assert_true(part->n_ips > 0); /* no empty nests */
        }
        return MNL_CB_OK;
}

/* Checks the framing every SET message shares and collects its peer parts. */
static void decode_batch(const WgGenlBatch *b, uint32_t seq, size_t max_size, const char *ifname,
                         uint32_t ifindex, Decoded *d) {
        *d = (Decoded) {};
        assert_true(b->n_messages < ELEMENTSOF(d->has_flags));

        for (size_t m = 0; m < b->n_messages; m++) {
                const struct nlmsghdr *nlh = wg_genl_batch_message(b, m);
                const struct genlmsghdr *genl;
                const struct nlattr *tb[16] = {};

                assert_non_null(nlh);
                assert_true(nlh->nlmsg_len <= max_size);
                assert_int_equal(nlh->nlmsg_type, FAMILY_ID);
                assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
                assert_int_equal(nlh->nlmsg_seq, seq + m);
                assert_true(mnl_nlmsg_ok(nlh, (int) nlh->nlmsg_len));

                genl = mnl_nlmsg_get_payload(nlh);
                assert_int_equal(genl->cmd, WG_CMD_SET_DEVICE);
                assert_int_equal(genl->version, WG_GENL_VERSION);

                assert_int_equal(mnl_attr_parse(nlh, sizeof(*genl), table_cb, tb), MNL_CB_OK);
                if (ifindex > 0) {
                        assert_null(tb[WGDEVICE_A_IFNAME]);
                        assert_non_null(tb[WGDEVICE_A_IFINDEX]);
                        assert_int_equal(mnl_attr_get_u32(tb[WGDEVICE_A_IFINDEX]), ifindex);
                } else {
                        assert_null(tb[WGDEVICE_A_IFINDEX]);
                        assert_non_null(tb[WGDEVICE_A_IFNAME]);
                        assert_int_equal(mnl_attr_validate(tb[WGDEVICE_A_IFNAME], MNL_TYPE_NUL_STRING), 0);
                        assert_string_equal(mnl_attr_get_str(tb[WGDEVICE_A_IFNAME]), ifname);
                }
                d->has_private_key[m] = tb[WGDEVICE_A_PRIVATE_KEY];
                d->has_listen_port[m] = tb[WGDEVICE_A_LISTEN_PORT];
                d->has_fwmark[m] = tb[WGDEVICE_A_FWMARK];
                if (tb[WGDEVICE_A_FLAGS]) {
                        d->has_flags[m] = true;
                        d->device_flags[m] = mnl_attr_get_u32(tb[WGDEVICE_A_FLAGS]);
                }
                if (tb[WGDEVICE_A_PEERS]) {
                        assert_nested(tb[WGDEVICE_A_PEERS]);
                        d->has_peers[m] = true;
                        assert_int_equal(mnl_attr_parse_nested(tb[WGDEVICE_A_PEERS], peer_cb,
                                                               &(PeersContext) { .d = d, .message = m }),
                                         MNL_CB_OK);
                }
        }
}

/* ---- SET: layout ---- */

static WgDevice *layout_device(void) {
        WgDevice *d = device_new();
        WgPeer *p;

        strcpy(d->name, "pic-genl0");
        d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK |
                WG_DEVICE_REPLACE_PEERS;
        fill_key(d->private_key, 0x11, 0);
        d->listen_port = 51820;
        d->fwmark = 0xca6c;

        p = wg_device_append_peer(d);
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_ENDPOINT |
                WG_PEER_HAS_PERSISTENT_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
        fill_key(p->public_key, 0xa1, 1);
        fill_key(p->preshared_key, 0xa2, 1);
        p->endpoint.addr4 = (struct sockaddr_in) {
                .sin_family = AF_INET,
                .sin_port = htons(51820),
                .sin_addr.s_addr = htonl(0xc0000201), /* 192.0.2.1 */
        };
        p->persistent_keepalive = 25;
        add_ip4(p, "10.0.0.2", 32);
        add_ip6(p, "fd00::2", 128);

        p = wg_device_append_peer(d);
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_ENDPOINT;
        fill_key(p->public_key, 0xb1, 2);
        p->endpoint.addr6 = (struct sockaddr_in6) {
                .sin6_family = AF_INET6,
                .sin6_port = htons(4500),
        };
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &p->endpoint.addr6.sin6_addr), 1);
        add_ip4(p, "192.168.7.0", 24);

        p = wg_device_append_peer(d);
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
        fill_key(p->public_key, 0xc1, 3);

        return d;
}

static void test_set_layout(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = layout_device();
        _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
        const struct nlmsghdr *nlh;
        const struct nlattr *attr, *peers = NULL;
        uint16_t expected_order[] = {
                WGDEVICE_A_IFNAME, WGDEVICE_A_PRIVATE_KEY, WGDEVICE_A_LISTEN_PORT,
                WGDEVICE_A_FWMARK, WGDEVICE_A_FLAGS, WGDEVICE_A_PEERS,
        };
        size_t i = 0;
        Decoded dec;
        WgKey k;
        struct in_addr a4;
        struct in6_addr a6;

        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 100, MNL_SOCKET_BUFFER_SIZE, &b), 0);
        assert_int_equal(b->n_messages, 1);
        assert_null(wg_genl_batch_message(b, 1));

        /* top-level attributes, in wg's order, with their values */
        nlh = wg_genl_batch_message(b, 0);
        mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
                assert_true(i < ELEMENTSOF(expected_order));
                assert_int_equal(mnl_attr_get_type(attr), expected_order[i]);
                switch (mnl_attr_get_type(attr)) {
                case WGDEVICE_A_PRIVATE_KEY:
                        assert_int_equal(mnl_attr_get_payload_len(attr), WG_KEY_LEN);
                        assert_memory_equal(mnl_attr_get_payload(attr), d->private_key, WG_KEY_LEN);
                        break;
                case WGDEVICE_A_LISTEN_PORT:
                        assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_U16), 0);
                        assert_int_equal(mnl_attr_get_u16(attr), 51820);
                        break;
                case WGDEVICE_A_FWMARK:
                        assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_U32), 0);
                        assert_int_equal(mnl_attr_get_u32(attr), 0xca6c);
                        break;
                case WGDEVICE_A_FLAGS:
                        assert_int_equal(mnl_attr_get_u32(attr), WGDEVICE_F_REPLACE_PEERS);
                        break;
                case WGDEVICE_A_PEERS:
                        assert_nested(attr);
                        peers = attr;
                        break;
                }
                i++;
        }
        assert_int_equal(i, ELEMENTSOF(expected_order));
        assert_non_null(peers);
        /* the whole message is consumed by well-formed attributes */
        assert_ptr_equal((const uint8_t *) peers + MNL_ALIGN(peers->nla_len), (const uint8_t *) nlh + nlh->nlmsg_len);

        decode_batch(b, 100, MNL_SOCKET_BUFFER_SIZE, "pic-genl0", 0, &dec);
        assert_int_equal(dec.n_parts, 3);

        /* peer 1: everything */
        fill_key(k, 0xa1, 1);
        assert_memory_equal(dec.parts[0].public_key, k, WG_KEY_LEN);
        assert_true(dec.parts[0].has_flags);
        assert_int_equal(dec.parts[0].flags, WGPEER_F_REPLACE_ALLOWEDIPS);
        fill_key(k, 0xa2, 1);
        assert_true(dec.parts[0].has_psk);
        assert_memory_equal(dec.parts[0].psk, k, WG_KEY_LEN);
        assert_true(dec.parts[0].has_endpoint);
        assert_int_equal(dec.parts[0].endpoint.addr4.sin_family, AF_INET);
        assert_int_equal(ntohs(dec.parts[0].endpoint.addr4.sin_port), 51820);
        assert_int_equal(ntohl(dec.parts[0].endpoint.addr4.sin_addr.s_addr), 0xc0000201);
        assert_true(dec.parts[0].has_keepalive);
        assert_int_equal(dec.parts[0].keepalive, 25);
        assert_int_equal(dec.parts[0].n_ips, 2);
        inet_pton(AF_INET, "10.0.0.2", &a4);
        assert_int_equal(dec.parts[0].ips[0].family, AF_INET);
        assert_memory_equal(dec.parts[0].ips[0].addr, &a4, 4);
        assert_int_equal(dec.parts[0].ips[0].cidr, 32);
        inet_pton(AF_INET6, "fd00::2", &a6);
        assert_int_equal(dec.parts[0].ips[1].family, AF_INET6);
        assert_memory_equal(dec.parts[0].ips[1].addr, &a6, 16);
        assert_int_equal(dec.parts[0].ips[1].cidr, 128);

        /* peer 2: v6 endpoint, no psk, no keepalive, no flags */
        fill_key(k, 0xb1, 2);
        assert_memory_equal(dec.parts[1].public_key, k, WG_KEY_LEN);
        assert_false(dec.parts[1].has_flags);
        assert_false(dec.parts[1].has_psk);
        assert_false(dec.parts[1].has_keepalive);
        assert_true(dec.parts[1].has_endpoint);
        assert_int_equal(dec.parts[1].endpoint.addr6.sin6_family, AF_INET6);
        assert_int_equal(ntohs(dec.parts[1].endpoint.addr6.sin6_port), 4500);
        inet_pton(AF_INET6, "2001:db8::1", &a6);
        assert_memory_equal(&dec.parts[1].endpoint.addr6.sin6_addr, &a6, 16);
        assert_int_equal(dec.parts[1].n_ips, 1);
        assert_int_equal(dec.parts[1].ips[0].cidr, 24);

        /* peer 3: removal, nothing else */
        fill_key(k, 0xc1, 3);
        assert_memory_equal(dec.parts[2].public_key, k, WG_KEY_LEN);
        assert_int_equal(dec.parts[2].flags, WGPEER_F_REMOVE_ME);
        assert_false(dec.parts[2].has_allowed_ips_attr);
        assert_false(dec.parts[2].has_endpoint);

        decoded_done(&dec);
}

static void test_set_by_ifindex_without_peers(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
        Decoded dec;

        d->ifindex = 42;
        d->flags = WG_DEVICE_HAS_LISTEN_PORT;
        d->listen_port = 1;

        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 7, 8192, &b), 0);
        assert_int_equal(b->n_messages, 1);
        decode_batch(b, 7, 8192, NULL, 42, &dec);
        assert_false(dec.has_peers[0]);
        assert_false(dec.has_flags[0]);
        assert_false(dec.has_private_key[0]);
        assert_false(dec.has_fwmark[0]);
        assert_true(dec.has_listen_port[0]);
        decoded_done(&dec);
}

static void test_set_invalid(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        WgGenlBatch *b = NULL;
        WgPeer *p;
        struct in_addr a = {};

        /* neither ifindex nor name */
        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 8192, &b), -EINVAL);
        strcpy(d->name, "pic-genl1");

        p = wg_device_append_peer(d);
        fill_key(p->public_key, 1, 1);
        assert_non_null(wg_peer_append_allowed_ip(p, AF_INET, &a, 33));
        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 8192, &b), -EINVAL);
        p->allowed_ips->cidr = 8;
        p->allowed_ips->family = AF_UNIX;
        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 8192, &b), -EAFNOSUPPORT);
        p->allowed_ips->family = AF_INET;
        p->flags |= WG_PEER_HAS_ENDPOINT;
        p->endpoint.addr.sa_family = AF_UNIX;
        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 8192, &b), -EAFNOSUPPORT);
        p->flags &= ~WG_PEER_HAS_ENDPOINT;

        /* too small to hold any peer: refused, not an endless batch */
        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 16, &b), -EMSGSIZE);
        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 64, &b), -EMSGSIZE);
        assert_null(b);

        assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, 8192, &b), 0);
        b = wg_genl_batch_free(b);
        assert_null(wg_genl_batch_free(NULL));
}

/* ---- SET: splitting ---- */

/* Checks what wg's splitting promises, whatever the cut points: every peer in
 * order, each allowed IP exactly once, a peer's settings only in its first
 * part, REPLACE_PEERS only in the first message, REMOVE_ME in every part. */
static void check_split(const WgDevice *d, const Decoded *dec, size_t n_messages) {
        size_t part = 0;

        for (size_t m = 0; m < n_messages; m++) {
                assert_int_equal(dec->has_private_key[m], m == 0);
                assert_int_equal(dec->has_listen_port[m], m == 0);
                assert_int_equal(dec->has_flags[m], m == 0);
                if (m == 0)
                        assert_int_equal(dec->device_flags[0], WGDEVICE_F_REPLACE_PEERS);
        }

        for (const WgPeer *p = d->peers; p; p = p->next) {
                const WgAllowedIp *a = p->allowed_ips;
                bool first_part = true;

                /* the parts of one peer are consecutive */
                do {
                        const PeerPart *pp;

                        assert_true(part < dec->n_parts);
                        pp = &dec->parts[part];
                        assert_memory_equal(pp->public_key, p->public_key, WG_KEY_LEN);
                        if (!first_part)
                                /* a continuation opens its message */
                                assert_true(part == 0 || dec->parts[part - 1].message < pp->message);

                        uint32_t expected = (p->flags & WG_PEER_REMOVE_ME ? WGPEER_F_REMOVE_ME : 0) |
                                (first_part && (p->flags & WG_PEER_REPLACE_ALLOWEDIPS) ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);
                        assert_int_equal(pp->flags, expected);
                        assert_int_equal(pp->has_psk, first_part && (p->flags & WG_PEER_HAS_PRESHARED_KEY));
                        assert_int_equal(pp->has_endpoint, first_part && (p->flags & WG_PEER_HAS_ENDPOINT));
                        assert_int_equal(pp->has_keepalive, first_part && (p->flags & WG_PEER_HAS_PERSISTENT_KEEPALIVE));

                        for (size_t i = 0; i < pp->n_ips; i++, a = a->next) {
                                assert_non_null(a);
                                assert_int_equal(pp->ips[i].family, a->family);
                                assert_memory_equal(pp->ips[i].addr, &a->ip4, a->family == AF_INET ? 4 : 16);
                                assert_int_equal(pp->ips[i].cidr, a->cidr);
                        }
                        first_part = false;
                        part++;
                } while (a);
        }
        assert_int_equal(part, dec->n_parts);
}

static WgDevice *many_peers_device(size_t n_peers, size_t ips_per_peer) {
        WgDevice *d = device_new();

        strcpy(d->name, "pic-genl2");
        d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
        fill_key(d->private_key, 0x77, 0);
        d->listen_port = 51000;

        for (uint32_t i = 0; i < n_peers; i++) {
                WgPeer *p = wg_device_append_peer(d);

                assert_non_null(p);
                p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                        WG_PEER_HAS_ENDPOINT | WG_PEER_REPLACE_ALLOWEDIPS;
                fill_key(p->public_key, 0x50, i);
                fill_key(p->preshared_key, 0x51, i);
                p->persistent_keepalive = 25;
                p->endpoint.addr4 = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(1000 + i) };
                for (uint32_t j = 0; j < ips_per_peer; j++)
                        add_numbered_ip(p, i * 1000 + j);
        }
        return d;
}

static void test_split_many_peers(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = many_peers_device(200, 2);
        const size_t sizes[] = { 512, 1000, 4096, MNL_SOCKET_BUFFER_SIZE };

        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
                Decoded dec;

                assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1000, sizes[s], &b), 0);
                assert_true(b->n_messages > 1);
                decode_batch(b, 1000, sizes[s], "pic-genl2", 0, &dec);
                check_split(d, &dec, b->n_messages);
                assert_true(dec.n_parts >= 200);
                decoded_done(&dec);
        }
}

static void test_split_many_allowed_ips(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = many_peers_device(3, 2);
        WgPeer *big = d->peers->next, *removed;

        for (uint32_t j = 0; j < 500; j++)
                add_numbered_ip(big, 500000 + j);

        /* a removed peer cut in parts must stay removed in every part */
        removed = wg_device_append_peer(d);
        removed->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
        fill_key(removed->public_key, 0x99, 9);
        for (uint32_t j = 0; j < 150; j++)
                add_numbered_ip(removed, 700000 + j);

        for (size_t size = 200; size <= 8192; size += 331) {
                _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
                Decoded dec;
                size_t big_parts = 0;

                assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 5, size, &b), 0);
                decode_batch(b, 5, size, "pic-genl2", 0, &dec);
                check_split(d, &dec, b->n_messages);

                for (size_t i = 0; i < dec.n_parts; i++)
                        if (memcmp(dec.parts[i].public_key, big->public_key, WG_KEY_LEN) == 0)
                                big_parts++;
                if (size < 8000)
                        assert_true(big_parts > 1);
                decoded_done(&dec);
        }
}

/* ---- GET replies, built as the kernel builds them ---- */

static struct nlmsghdr *reply_start(void *buf) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct genlmsghdr *genl;

        nlh->nlmsg_type = FAMILY_ID;
        nlh->nlmsg_flags = NLM_F_MULTI;
        genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
        genl->cmd = WG_CMD_GET_DEVICE;
        genl->version = WG_GENL_VERSION;
        return nlh;
}

static void put_reply_ip(struct nlmsghdr *nlh, int family, const char *s, uint8_t cidr) {
        uint8_t addr[16];
        struct nlattr *nest = mnl_attr_nest_start(nlh, 0);

        assert_int_equal(inet_pton(family, s, addr), 1);
        mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, family);
        mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, family == AF_INET ? 4 : 16, addr);
        mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
        mnl_attr_nest_end(nlh, nest);
}

/* Message 1: device, peer A whole, peer B's first part. Message 2: the rest of B, and C. */
static void build_reply_pair(void *buf1, void *buf2) {
        struct nlmsghdr *nlh;
        struct nlattr *peers, *peer, *ips;
        WgKey k = {};
        struct __kernel_timespec ts = { .tv_sec = 1700000000, .tv_nsec = 123456789 };
        struct sockaddr_in e4 = { .sin_family = AF_INET, .sin_port = htons(51820), .sin_addr.s_addr = htonl(0xc6336401) };
        struct sockaddr_in6 e6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };

        inet_pton(AF_INET6, "2001:db8::7", &e6.sin6_addr);

        nlh = reply_start(buf1);
        mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 5);
        mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "pic-wg0");
        fill_key(k, 0x10, 0);
        mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, k);
        fill_key(k, 0x20, 0);
        mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, k);
        mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
        mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
        peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);

        peer = mnl_attr_nest_start(nlh, 0);
        fill_key(k, 0xaa, 1);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        memset(k, 0, sizeof(k));
        mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, k); /* kernel: zeros = none */
        mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
        mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 0);
        mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 1111);
        mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 2222);
        mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
        mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(e4), &e4);
        ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
        put_reply_ip(nlh, AF_INET, "10.1.0.2", 32);
        put_reply_ip(nlh, AF_INET6, "fd01::2", 128);
        mnl_attr_nest_end(nlh, ips);
        mnl_attr_nest_end(nlh, peer);

        peer = mnl_attr_nest_start(nlh, 0);
        fill_key(k, 0xbb, 2);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        fill_key(k, 0xbc, 2);
        mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, k);
        ts = (struct __kernel_timespec) {};
        mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
        mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
        mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 0);
        mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 0);
        mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
        mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(e6), &e6);
        ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
        put_reply_ip(nlh, AF_INET, "10.2.0.0", 16);
        mnl_attr_nest_end(nlh, ips);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, peers);

        /* the kernel repeats only the public key for a continued peer */
        nlh = reply_start(buf2);
        peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
        peer = mnl_attr_nest_start(nlh, 0);
        fill_key(k, 0xbb, 2);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
        put_reply_ip(nlh, AF_INET, "10.3.0.0", 16);
        put_reply_ip(nlh, AF_INET6, "fd03::", 64);
        mnl_attr_nest_end(nlh, ips);
        mnl_attr_nest_end(nlh, peer);

        peer = mnl_attr_nest_start(nlh, 0);
        fill_key(k, 0xcc, 3);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        memset(k, 0, sizeof(k));
        mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, k);
        mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 0);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, peers);
}

static void assert_ip(const WgAllowedIp *a, int family, const char *s, uint8_t cidr) {
        uint8_t addr[16];

        assert_non_null(a);
        assert_int_equal(inet_pton(family, s, addr), 1);
        assert_int_equal(a->family, family);
        assert_memory_equal(&a->ip4, addr, family == AF_INET ? 4 : 16);
        assert_int_equal(a->cidr, cidr);
}

static void test_parse_split_peer(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        uint8_t buf1[8192] = {}, buf2[8192] = {};
        const WgPeer *a, *b, *c;
        WgKey k;

        build_reply_pair(buf1, buf2);
        assert_int_equal(wg_genl_parse_device_message((struct nlmsghdr *) buf1, d), 0);
        assert_int_equal(wg_device_count_peers(d), 2);
        assert_int_equal(wg_genl_parse_device_message((struct nlmsghdr *) buf2, d), 0);
        assert_int_equal(wg_device_count_peers(d), 3);

        /* the device, untouched by the second message */
        assert_int_equal(d->ifindex, 5);
        assert_string_equal(d->name, "pic-wg0");
        assert_true(d->flags & WG_DEVICE_HAS_PRIVATE_KEY);
        assert_true(d->flags & WG_DEVICE_HAS_PUBLIC_KEY);
        fill_key(k, 0x10, 0);
        assert_memory_equal(d->private_key, k, WG_KEY_LEN);
        fill_key(k, 0x20, 0);
        assert_memory_equal(d->public_key, k, WG_KEY_LEN);
        assert_int_equal(d->listen_port, 51820);
        assert_int_equal(d->fwmark, 0);

        a = d->peers;
        fill_key(k, 0xaa, 1);
        assert_memory_equal(a->public_key, k, WG_KEY_LEN);
        assert_true(a->flags & WG_PEER_HAS_PUBLIC_KEY);
        assert_false(a->flags & WG_PEER_HAS_PRESHARED_KEY);
        assert_true(a->flags & WG_PEER_HAS_ENDPOINT);
        assert_int_equal(a->endpoint.addr4.sin_family, AF_INET);
        assert_int_equal(ntohs(a->endpoint.addr4.sin_port), 51820);
        assert_int_equal(ntohl(a->endpoint.addr4.sin_addr.s_addr), 0xc6336401);
        assert_int_equal(a->persistent_keepalive, 0);
        assert_int_equal(a->last_handshake_usec, 1700000000ULL * 1000000ULL + 123456ULL);
        assert_int_equal(a->tx_bytes, 1111);
        assert_int_equal(a->rx_bytes, 2222);
        assert_ip(a->allowed_ips, AF_INET, "10.1.0.2", 32);
        assert_ip(a->allowed_ips->next, AF_INET6, "fd01::2", 128);
        assert_null(a->allowed_ips->next->next);

        /* B: one peer made of two messages, its settings from the first */
        b = a->next;
        fill_key(k, 0xbb, 2);
        assert_memory_equal(b->public_key, k, WG_KEY_LEN);
        assert_true(b->flags & WG_PEER_HAS_PRESHARED_KEY);
        fill_key(k, 0xbc, 2);
        assert_memory_equal(b->preshared_key, k, WG_KEY_LEN);
        assert_int_equal(b->persistent_keepalive, 25);
        assert_int_equal(b->last_handshake_usec, 0);
        assert_true(b->flags & WG_PEER_HAS_ENDPOINT);
        assert_int_equal(b->endpoint.addr6.sin6_family, AF_INET6);
        assert_int_equal(ntohs(b->endpoint.addr6.sin6_port), 443);
        assert_ip(b->allowed_ips, AF_INET, "10.2.0.0", 16);
        assert_ip(b->allowed_ips->next, AF_INET, "10.3.0.0", 16);
        assert_ip(b->allowed_ips->next->next, AF_INET6, "fd03::", 64);
        assert_null(b->allowed_ips->next->next->next);

        c = b->next;
        fill_key(k, 0xcc, 3);
        assert_memory_equal(c->public_key, k, WG_KEY_LEN);
        assert_false(c->flags & WG_PEER_HAS_ENDPOINT);
        assert_null(c->allowed_ips);
        assert_null(c->next);
        assert_ptr_equal(d->last_peer, c);
}

/* The SET messages use the GET attribute layout, so a split SET batch read back
 * as dump replies must give the original device: splitting and merging agree. */
static void test_split_then_merge_round_trip(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = many_peers_device(40, 3);

        for (uint32_t j = 0; j < 300; j++)
                add_numbered_ip(d->peers->next->next, 900000 + j);

        for (size_t size = 300; size <= 4096; size += 700) {
                _cleanup_(wg_genl_batch_freep) WgGenlBatch *b = NULL;
                _cleanup_(wg_device_freep) WgDevice *r = device_new();
                const WgPeer *p, *q;

                assert_int_equal(wg_genl_build_set(d, FAMILY_ID, 1, size, &b), 0);
                assert_true(b->n_messages > 1);
                for (size_t m = 0; m < b->n_messages; m++) {
                        struct genlmsghdr *genl = mnl_nlmsg_get_payload(b->buffers[m]);

                        genl->cmd = WG_CMD_GET_DEVICE;
                        assert_int_equal(wg_genl_parse_device_message(b->buffers[m], r), 0);
                }

                assert_string_equal(r->name, "pic-genl2");
                assert_memory_equal(r->private_key, d->private_key, WG_KEY_LEN);
                assert_int_equal(r->listen_port, d->listen_port);
                assert_int_equal(wg_device_count_peers(r), 40);
                for (p = d->peers, q = r->peers; p; p = p->next, q = q->next) {
                        const WgAllowedIp *x, *y;

                        assert_non_null(q);
                        assert_memory_equal(q->public_key, p->public_key, WG_KEY_LEN);
                        assert_memory_equal(q->preshared_key, p->preshared_key, WG_KEY_LEN);
                        assert_int_equal(q->persistent_keepalive, 25);
                        assert_int_equal(ntohs(q->endpoint.addr4.sin_port), ntohs(p->endpoint.addr4.sin_port));
                        for (x = p->allowed_ips, y = q->allowed_ips; x; x = x->next, y = y->next) {
                                assert_non_null(y);
                                assert_int_equal(y->family, x->family);
                                assert_int_equal(numbered_ip_index(y->family, (const uint8_t *) &y->ip4),
                                                 numbered_ip_index(x->family, (const uint8_t *) &x->ip4));
                        }
                        assert_null(y);
                }
                assert_null(q);
        }
}

/* ---- malformed replies ---- */

static int parse_into_new(const void *buf) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();

        return wg_genl_parse_device_message(buf, d);
}

static void test_parse_malformed(void **state) {
        uint8_t buf[1024];
        struct nlmsghdr *nlh;
        struct nlattr *peers, *peer, *ips, *ip;
        WgKey k = {};

        /* shorter than the generic netlink header */
        memset(buf, 0, sizeof(buf));
        nlh = mnl_nlmsg_put_header(buf);
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* not a GET_DEVICE reply */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        ((struct genlmsghdr *) mnl_nlmsg_get_payload(nlh))->cmd = WG_CMD_SET_DEVICE;
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* an empty reply is fine */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        assert_int_equal(parse_into_new(buf), 0);

        /* an attribute claiming more than the message holds */
        mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 3);
        ((struct nlattr *) ((uint8_t *) nlh + nlh->nlmsg_len - 8))->nla_len = 64;
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* the same for an attribute of a type the parser skips, at top level and nested */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        mnl_attr_put_u32(nlh, 99, 3);
        ((struct nlattr *) ((uint8_t *) nlh + nlh->nlmsg_len - 8))->nla_len = 64;
        assert_int_equal(parse_into_new(buf), -EBADMSG);
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
        peer = mnl_attr_nest_start(nlh, 0);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        mnl_attr_put_u32(nlh, 99, 3);
        ((struct nlattr *) ((uint8_t *) nlh + nlh->nlmsg_len - 8))->nla_len = 12; /* past the peer nest */
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_put_u32(nlh, 98, 3); /* so the message itself is long enough */
        mnl_attr_nest_end(nlh, peers);
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* an attribute shorter than its own header */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 3);
        ((struct nlattr *) ((uint8_t *) nlh + nlh->nlmsg_len - 8))->nla_len = 2;
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* trailing bytes that are no attribute */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        nlh->nlmsg_len += 2;
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* wrong sizes */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 31, k);
        assert_int_equal(parse_into_new(buf), -EBADMSG);
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        mnl_attr_put_u32(nlh, WGDEVICE_A_LISTEN_PORT, 1);
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* interface name without NUL, and too long */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        mnl_attr_put(nlh, WGDEVICE_A_IFNAME, 4, "wg0x");
        assert_int_equal(parse_into_new(buf), -EBADMSG);
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "0123456789abcdefghij");
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* a peer without a public key */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
        peer = mnl_attr_nest_start(nlh, 0);
        mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 5);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, peers);
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* an endpoint of an unknown family */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
        peer = mnl_attr_nest_start(nlh, 0);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        {
                struct sockaddr_in e = { .sin_family = AF_UNIX };

                mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(e), &e);
        }
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, peers);
        assert_int_equal(parse_into_new(buf), -EBADMSG);

        /* allowed IPs: v4 prefix longer than 32, a v6 address in a v4 entry, a missing mask */
        for (int variant = 0; variant < 3; variant++) {
                struct in6_addr a6 = {};

                memset(buf, 0, sizeof(buf));
                nlh = reply_start(buf);
                peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
                peer = mnl_attr_nest_start(nlh, 0);
                mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
                ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
                ip = mnl_attr_nest_start(nlh, 0);
                mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
                mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, variant == 1 ? 16 : 4, &a6);
                if (variant != 2)
                        mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, variant == 0 ? 33 : 8);
                mnl_attr_nest_end(nlh, ip);
                mnl_attr_nest_end(nlh, ips);
                mnl_attr_nest_end(nlh, peer);
                mnl_attr_nest_end(nlh, peers);
                assert_int_equal(parse_into_new(buf), -EBADMSG);
        }

        /* a handshake time of the wrong size */
        memset(buf, 0, sizeof(buf));
        nlh = reply_start(buf);
        peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
        peer = mnl_attr_nest_start(nlh, 0);
        mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k);
        mnl_attr_put_u64(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, 1);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, peers);
        assert_int_equal(parse_into_new(buf), -EBADMSG);
}

/* Every truncation and many corruptions of a real reply give an error or a
 * result, never a crash (run under ASan/valgrind to see overreads). */
static void test_parse_truncated_and_corrupted(void **state) {
        uint8_t good1[8192] = {}, good2[8192] = {};
        uint8_t buf[8192];
        uint32_t len, rnd = 12345;
        size_t failures = 0;

        build_reply_pair(good1, good2);
        len = ((struct nlmsghdr *) good1)->nlmsg_len;

        for (uint32_t cut = 0; cut < len; cut++) {
                int r;

                /* a heap copy of exactly cut bytes, so overreads are caught */
                uint8_t *copy = malloc(MAX(cut, (uint32_t) sizeof(struct nlmsghdr)));

                assert_non_null(copy);
                memcpy(copy, good1, MAX(cut, (uint32_t) sizeof(struct nlmsghdr)));
                ((struct nlmsghdr *) copy)->nlmsg_len = cut;
                r = parse_into_new(copy);
                assert_true(r == 0 || r == -EBADMSG);
                if (r < 0)
                        failures++;
                free(copy);
        }
        assert_true(failures > len / 2);

        for (int round = 0; round < 5000; round++) {
                memcpy(buf, good1, len);
                for (int flips = 0; flips < 1 + round % 4; flips++) {
                        rnd = rnd * 1103515245U + 12345U;
                        buf[sizeof(struct nlmsghdr) + (rnd >> 8) % (len - sizeof(struct nlmsghdr))] ^= (uint8_t) (rnd >> 24 | 1);
                }
                int r = parse_into_new(buf);
                assert_true(r <= 0);
        }
}

/* ---- live (this machine has no WireGuard module: only the fallback signal is testable) ---- */

static void test_live_family_probe(void **state) {
        WgDevice *d = NULL;
        uint16_t id = 0;
        int r;

        /* the controller itself always resolves, to its fixed id: the success path of resolving */
        r = wg_genl_resolve_family("nlctrl", &id);
        if (r >= 0)
                assert_int_equal(id, GENL_ID_CTRL);
        assert_int_equal(wg_genl_resolve_family("pic-nofamily", &id), r < 0 ? r : -EPROTONOSUPPORT);

        r = wg_genl_available();
        if (r < 0) {
                print_message("generic netlink unusable here (%s), skipping\n", strerror(-r));
                skip_here();
        }
        if (r == 1) {
                /* the kernel has WireGuard; an interface that does not exist must say so */
                assert_int_equal(wg_genl_get_device("pic-nx-genl", &d), -ENODEV);
                return;
        }
        assert_int_equal(r, 0);
        assert_int_equal(wg_genl_get_device("pic-nx-genl", &d), -EPROTONOSUPPORT);
        assert_null(d);

        d = device_new();
        strcpy(d->name, "pic-nx-genl");
        assert_int_equal(wg_genl_set_device(d), -EPROTONOSUPPORT);
        d = wg_device_free(d);

        assert_int_equal(wg_genl_get_device("", &d), -EINVAL);
        assert_int_equal(wg_genl_get_device("0123456789abcdefgh", &d), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_set_layout),
                cmocka_unit_test(test_set_by_ifindex_without_peers),
                cmocka_unit_test(test_set_invalid),
                cmocka_unit_test(test_split_many_peers),
                cmocka_unit_test(test_split_many_allowed_ips),
                cmocka_unit_test(test_parse_split_peer),
                cmocka_unit_test(test_split_then_merge_round_trip),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_parse_truncated_and_corrupted),
                cmocka_unit_test(test_live_family_probe),
        };

        return tests_result(cmocka_run_group_tests(tests, NULL, NULL));
}
