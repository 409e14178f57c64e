/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exits in table inet pic (firewall.h): the maps that say which peer leaves
 * by which exit and asks which resolver, the set of exits whose traffic may
 * leave now (the kill-switch's), and their interfaces. */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "firewall-internal.h"
#include "log.h"
#include "nft-batch.h"
#include "nft-rule.h"

/* exit_paths' key: mark . interface name, as the registers hold them */
typedef struct ExitPathKey {
        uint32_t mark; /* host order, as meta mark loads it */
        char ifname[IFNAMSIZ];
} ExitPathKey;

/* exit_local_paths' key: mark . port (network order), each in a 32-bit register */
typedef struct ExitLocalKey {
        uint32_t mark;
        uint16_t port, pad;
} ExitLocalKey;

_Static_assert(sizeof(ExitPathKey) == 20, "exit path key is five 32-bit registers");
_Static_assert(sizeof(ExitLocalKey) == 8, "exit local key is two 32-bit registers");

static const uint8_t exit_path_field_len[] = { 4, IFNAMSIZ };
static const uint8_t exit_local_field_len[] = { 4, 2 };

#define NFT_BYTEORDER_HOST 1 /* nft(8)'s BYTEORDER_HOST_ENDIAN */

int firewall_copy_exits(Firewall *f, const FirewallExit *exits, size_t n) {
        if (n == 0)
                return 0;
        if (n > FIREWALL_EXITS_MAX)
                return -E2BIG;
        f->exits = calloc(n, sizeof *f->exits);
        if (!f->exits)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool tcp_only = exits[i].tcp_port != 0;
                if ((exits[i].mark & FIREWALL_EXIT_MARK_MASK) != FIREWALL_EXIT_MARK_BASE ||
                    exits[i].mark == FIREWALL_EXIT_MARK_BASE || tcp_only != isempty(exits[i].ifname) ||
                    (tcp_only && exits[i].dns_port == 0) ||
                    strnlen(exits[i].ifname, IFNAMSIZ) >= IFNAMSIZ || exits[i].n_dns > FIREWALL_EXIT_DNS_MAX)
                        return -EINVAL;
                f->exits[i] = exits[i];
        }
        f->n_exits = n;
        return 0;
}

/* A set of one field (no concatenation); data_type 0: a plain set, else a map. */
static int add_plain_set(NftBatch *b, const char *name, uint32_t id, uint32_t key_type, uint32_t key_len,
                         uint32_t data_type, uint32_t data_len) {
        struct nftnl_set *s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        nftnl_set_set_str(s, NFTNL_SET_TABLE, FIREWALL_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_u32(s, NFTNL_SET_ID, id);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, data_type ? NFT_SET_MAP : 0);
        if (data_type) {
                nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, data_type);
                nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, data_len);
        }
        if (data_type == NFT_TYPE_MARK || key_type == NFT_TYPE_IFNAME) {
                /* marks and names are in host order (as meta loads them): say so, or nft(8) shows them
                 * byte-swapped */
                struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
                if (!u || !nftnl_udata_put_u32(u, data_type ? NFTNL_UDATA_SET_DATABYTEORDER : NFTNL_UDATA_SET_KEYBYTEORDER,
                                               NFT_BYTEORDER_HOST)) {
                        nftnl_udata_buf_free(u);
                        nftnl_set_free(s);
                        return -ENOMEM;
                }
                nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
                nftnl_udata_buf_free(u);
        }
        int r = nft_batch_add_set(b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_EXCL, s);
        nftnl_set_free(s);
        return r;
}

static ExitPathKey exit_path_key(const FirewallExit *e) {
        ExitPathKey k = { .mark = e->mark };
        memcpy(k.ifname, e->ifname, strnlen(e->ifname, sizeof k.ifname - 1)); /* zero-padded, as the register */
        return k;
}

/* A TCP-only exit's two ports, as exit_local_paths holds them. */
static int add_local_keys(ElemWriter *w, const FirewallExit *e) {
        ExitLocalKey keys[] = { { .mark = e->mark, .port = htons(e->tcp_port) },
                                { .mark = e->mark, .port = htons(e->dns_port) } };
        return add_keys(w, keys, ELEMENTSOF(keys), sizeof keys[0]);
}

static int add_exit_elements(Firewall *f, NftBatch *b) {
        _cleanup_(elem_writer_done) ElemWriter paths = { .batch = b, .set = FIREWALL_SET_EXIT_PATHS,
                                                         .type = NFT_MSG_NEWSETELEM };
        _cleanup_(elem_writer_done) ElemWriter dns = { .batch = b, .set = FIREWALL_SET_EXIT_DNS,
                                                       .type = NFT_MSG_NEWSETELEM };
        _cleanup_(elem_writer_done) ElemWriter ifaces = { .batch = b, .set = FIREWALL_SET_EXIT_IFACES,
                                                          .type = NFT_MSG_NEWSETELEM };
        _cleanup_(elem_writer_done) ElemWriter local = { .batch = b, .set = FIREWALL_SET_EXIT_LOCAL,
                                                         .type = NFT_MSG_NEWSETELEM };
        int r = 0;

        for (size_t i = 0; i < f->n_exits && r >= 0; i++) {
                const FirewallExit *e = &f->exits[i];
                ExitPathKey k = exit_path_key(e);
                if (e->tcp_port) {
                        if (e->up)
                                r = add_local_keys(&local, e);
                        continue;
                }
                if (e->up)
                        r = elem_writer_add(&paths, &k, sizeof k);
                if (r >= 0)
                        r = elem_writer_add(&ifaces, k.ifname, sizeof k.ifname);
                for (size_t j = 0; j < e->n_dns && r >= 0; j++) {
                        uint32_t be = htonl(e->dns[j]);
                        r = elem_writer_add(&dns, &be, sizeof be); /* two exits may share one: adding twice is no error */
                }
        }
        if (r >= 0)
                r = elem_writer_flush(&paths);
        if (r >= 0)
                r = elem_writer_flush(&dns);
        if (r >= 0)
                r = elem_writer_flush(&ifaces);
        if (r >= 0)
                r = elem_writer_flush(&local);
        return r;
}

int firewall_add_exit_sets(Firewall *f, NftBatch *b) {
        static const uint32_t exit_path_types[] = { NFT_TYPE_MARK, NFT_TYPE_IFNAME };
        static const uint32_t exit_local_types[] = { NFT_TYPE_MARK, NFT_TYPE_INET_SERVICE };
        int r;

        r = add_plain_set(b, FIREWALL_MAP_PEER_EXITS, SET_ID_PEER_EXITS, NFT_TYPE_IPADDR, 4, NFT_TYPE_MARK, 4);
        if (r >= 0)
                r = add_plain_set(b, FIREWALL_MAP_PEER_EXIT_DNS, SET_ID_PEER_EXIT_DNS, NFT_TYPE_IPADDR, 4,
                                  NFT_TYPE_IPADDR, 4);
        if (r >= 0)
                r = add_set(b, FIREWALL_SET_EXIT_PATHS, SET_ID_EXIT_PATHS, exit_path_types, exit_path_field_len,
                            ELEMENTSOF(exit_path_types), 0);
        if (r >= 0)
                r = add_plain_set(b, FIREWALL_SET_EXIT_DNS, SET_ID_EXIT_DNS, NFT_TYPE_IPADDR, 4, 0, 0);
        if (r >= 0)
                r = add_plain_set(b, FIREWALL_SET_EXIT_IFACES, SET_ID_EXIT_IFACES, NFT_TYPE_IFNAME, IFNAMSIZ, 0, 0);
        if (r >= 0)
                r = add_plain_set(b, FIREWALL_MAP_PEER_EXIT_TCP_PORTS, SET_ID_PEER_EXIT_TCP_PORTS, NFT_TYPE_IPADDR, 4,
                                  NFT_TYPE_INET_SERVICE, 2);
        if (r >= 0)
                r = add_plain_set(b, FIREWALL_MAP_PEER_EXIT_DNS_PORTS, SET_ID_PEER_EXIT_DNS_PORTS, NFT_TYPE_IPADDR, 4,
                                  NFT_TYPE_INET_SERVICE, 2);
        if (r >= 0)
                r = add_set(b, FIREWALL_SET_EXIT_LOCAL, SET_ID_EXIT_LOCAL, exit_local_types, exit_local_field_len,
                            ELEMENTSOF(exit_local_types), 0);
        if (r >= 0)
                r = add_exit_elements(f, b);
        return r;
}

/* The four maps a peer's exit is in, written by one batch of adds or of removals. */
typedef struct PeerExitWriters {
        ElemWriter exits, dns, tcp_ports, dns_ports;
} PeerExitWriters;

static PeerExitWriters peer_exit_writers(NftBatch *b, uint16_t type) {
        return (PeerExitWriters) {
                .exits = { .batch = b, .set = FIREWALL_MAP_PEER_EXITS, .type = type },
                .dns = { .batch = b, .set = FIREWALL_MAP_PEER_EXIT_DNS, .type = type },
                .tcp_ports = { .batch = b, .set = FIREWALL_MAP_PEER_EXIT_TCP_PORTS, .type = type },
                .dns_ports = { .batch = b, .set = FIREWALL_MAP_PEER_EXIT_DNS_PORTS, .type = type },
        };
}

static void peer_exit_writers_done(PeerExitWriters *w) {
        elem_writer_done(&w->exits);
        elem_writer_done(&w->dns);
        elem_writer_done(&w->tcp_ports);
        elem_writer_done(&w->dns_ports);
}

static int peer_exit_writers_flush(PeerExitWriters *w) {
        int r = elem_writer_flush(&w->exits);
        if (r >= 0)
                r = elem_writer_flush(&w->dns);
        if (r >= 0)
                r = elem_writer_flush(&w->tcp_ports);
        if (r >= 0)
                r = elem_writer_flush(&w->dns_ports);
        return r;
}

/* One map's element for the peer: key → data, or only the key to remove it. */
static int write_one(ElemWriter *w, const uint32_t *key, const void *data, uint32_t len, bool del) {
        return del ? elem_writer_add(w, key, sizeof *key) : elem_writer_add_mapping(w, key, sizeof *key, data, len);
}

/* Adds (or, with del, removes) a peer's elements of the maps its exit uses. */
static int write_peer_exit(PeerExitWriters *w, const FirewallPeer *p, bool del) {
        uint32_t key = htonl(p->address), dns_be = htonl(p->exit_dns);
        uint16_t tcp_port = htons(p->exit_tcp_port), dns_port = htons(p->exit_dns_port);
        int r;

        if (p->exit_mark == 0)
                return 0;
        r = write_one(&w->exits, &key, &p->exit_mark, sizeof p->exit_mark, del);
        if (r >= 0 && p->exit_dns != 0)
                r = write_one(&w->dns, &key, &dns_be, sizeof dns_be, del);
        if (r >= 0 && p->exit_tcp_port != 0)
                r = write_one(&w->tcp_ports, &key, &tcp_port, sizeof tcp_port, del);
        if (r >= 0 && p->exit_dns_port != 0)
                r = write_one(&w->dns_ports, &key, &dns_port, sizeof dns_port, del);
        return r;
}

int firewall_add_peer_exits(NftBatch *b, const FirewallPeer *peers, size_t n) {
        _cleanup_(peer_exit_writers_done) PeerExitWriters w = peer_exit_writers(b, NFT_MSG_NEWSETELEM);
        for (size_t i = 0; i < n; i++) {
                int r = write_peer_exit(&w, &peers[i], false);
                if (r < 0)
                        return r;
        }
        return peer_exit_writers_flush(&w);
}

/* A map element cannot be re-added with other data, so old's are removed
 * first, each added just before (a no-op when there), so that removing one
 * already gone cannot fail the batch. */
int firewall_write_peer_exit(NftBatch *b, const FirewallPeer *old, const FirewallPeer *new) {
        _cleanup_(peer_exit_writers_done) PeerExitWriters add_old = peer_exit_writers(b, NFT_MSG_NEWSETELEM);
        _cleanup_(peer_exit_writers_done) PeerExitWriters del_old = peer_exit_writers(b, NFT_MSG_DELSETELEM);
        _cleanup_(peer_exit_writers_done) PeerExitWriters add_new = peer_exit_writers(b, NFT_MSG_NEWSETELEM);
        int r;

        if (old->address == new->address && old->exit_mark == new->exit_mark && old->exit_dns == new->exit_dns &&
            old->exit_tcp_port == new->exit_tcp_port && old->exit_dns_port == new->exit_dns_port)
                return 0;
        r = write_peer_exit(&add_old, old, false);
        if (r >= 0)
                r = peer_exit_writers_flush(&add_old);
        if (r >= 0)
                r = write_peer_exit(&del_old, old, true);
        if (r >= 0)
                r = peer_exit_writers_flush(&del_old);
        if (r >= 0)
                r = write_peer_exit(&add_new, new, false);
        if (r >= 0)
                r = peer_exit_writers_flush(&add_new);
        return r;
}

int firewall_set_exit_up(Firewall *f, uint32_t mark, bool up) {
        _cleanup_(nft_batch_freep) NftBatch *b = NULL;
        FirewallExit *e = NULL;
        int r;

        for (size_t i = 0; i < f->n_exits && !e; i++)
                if (f->exits[i].mark == mark)
                        e = &f->exits[i];
        if (!e)
                return -ENOENT;
        r = nft_batch_new(&b);
        if (r < 0)
                return r;
        {
                /* added first either way, so a removal cannot fail on an element already gone */
                const char *set = e->tcp_port ? FIREWALL_SET_EXIT_LOCAL : FIREWALL_SET_EXIT_PATHS;
                _cleanup_(elem_writer_done) ElemWriter add = { .batch = b, .set = set, .type = NFT_MSG_NEWSETELEM };
                _cleanup_(elem_writer_done) ElemWriter del = { .batch = b, .set = set, .type = NFT_MSG_DELSETELEM };
                ExitPathKey k = exit_path_key(e);
                r = e->tcp_port ? add_local_keys(&add, e) : elem_writer_add(&add, &k, sizeof k);
                if (r >= 0)
                        r = elem_writer_flush(&add);
                if (r >= 0 && !up)
                        r = e->tcp_port ? add_local_keys(&del, e) : elem_writer_add(&del, &k, sizeof k);
                if (r >= 0)
                        r = elem_writer_flush(&del);
                if (r < 0)
                        return r;
        }
        r = nft_batch_commit(b);
        if (r < 0)
                return log_debug_errno(r, "Failed to %s exit mark 0x%x: %m", up ? "open" : "close", mark);
        e->up = up;
        return 0;
}
