/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model: what table, sets and set elements the configuration and the
 * peers' grants mean, written as nftables transactions (nft-batch.c); the
 * chains and rules are firewall-rules.c's. */
#include <arpa/inet.h>
#include <assert.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "firewall-internal.h"
#include "log.h"
#include "nft-batch.h"
#include "nft-query.h"
#include "nft-rule.h"
#include "strv.h"

/* Set keys: each field padded to 4 bytes, as concatenations live in 32-bit registers. */
typedef struct EndpointKey {
        uint32_t address; /* network order */
        uint8_t protocol, pad1[3];
        uint16_t port, pad2; /* network order */
} EndpointKey;

typedef struct PeerAccessKey {
        uint32_t peer; /* network order */
        EndpointKey endpoint;
} PeerAccessKey;

typedef struct GrantKey {
        uint32_t peer;  /* network order */
        uint32_t class; /* network order: firewall_network_class() */
} GrantKey;

_Static_assert(sizeof(GrantKey) == 8, "grant key is two 32-bit registers");
_Static_assert(sizeof(EndpointKey) == 12, "endpoint key is three 32-bit registers");
_Static_assert(sizeof(PeerAccessKey) == 16, "peer key is four 32-bit registers");

static const uint8_t endpoint_field_len[] = { 4, 1, 2 };
static const uint8_t peer_access_field_len[] = { 4, 4, 1, 2 };
static const uint8_t peer_grants_field_len[] = { 4, 4 };

Firewall *firewall_free(Firewall *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_links; i++)
                strv_free(f->links[i].services);
        free(f->links);
        free(f->exits);
        free(f);
        return NULL;
}

/* Copies what is shared with each linked cell; -EINVAL for an unknown service. */
static int copy_links(Firewall *f, const FirewallLink *links, size_t n) {
        if (n == 0)
                return 0;
        f->links = calloc(n, sizeof *f->links);
        if (!f->links)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (links[i].subnet.prefix > 32)
                        return -EINVAL;
                for (char **s = links[i].services; s && *s; s++)
                        if (!firewall_service_known(*s))
                                return log_debug_errno(-EINVAL, "Unknown service '%s'", *s);
                f->links[i].subnet = links[i].subnet;
                if (links[i].services && !(f->links[i].services = strv_copy(links[i].services)))
                        return -ENOMEM;
                f->n_links = i + 1;
        }
        return 0;
}

static bool ifname_valid(const char *s) {
        return !isempty(s) && strlen(s) < IFNAMSIZ && !strchr(s, '/');
}

static int service_validate(const FirewallService *s) {
        if (!firewall_service_known(s->name))
                return -EINVAL;
        if (s->n_ports == 0 || s->n_ports > FIREWALL_SERVICE_PORTS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < s->n_ports; i++) {
                if (!IN_SET_PROTO(s->ports[i].protocol) || s->ports[i].port == 0)
                        return -EINVAL;
        }
        return 0;
}

int firewall_new(Firewall **ret, const FirewallConfig *c) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        const FirewallService *defaults;
        size_t n_defaults;
        int r;

        if (!ifname_valid(c->wg_ifname))
                return -EINVAL;
        if (!isempty(c->uplink_ifname) && !ifname_valid(c->uplink_ifname))
                return -EINVAL;
        if (c->vpn_subnet.prefix > 32)
                return -EINVAL;

        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        strcpy(f->wg_ifname, c->wg_ifname);
        if (!isempty(c->uplink_ifname))
                strcpy(f->uplink_ifname, c->uplink_ifname);
        f->vpn_subnet = c->vpn_subnet;
        f->vpn_address = c->vpn_address;

        const Cidr4 *lan = c->lan_networks;
        size_t n_lan = c->n_lan_networks;
        if (!lan)
                lan = firewall_default_lan_networks(&n_lan);
        if (n_lan > FIREWALL_LAN_NETWORKS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n_lan; i++) {
                if (lan[i].prefix > 32)
                        return -EINVAL;
                f->lan_networks[i] = lan[i];
        }
        f->n_lan_networks = n_lan;
        r = copy_links(f, c->links, c->n_links);
        if (r < 0)
                return r;
        r = firewall_copy_exits(f, c->exits, c->n_exits);
        if (r < 0)
                return r;

        defaults = firewall_default_services(&n_defaults);
        assert(n_defaults == FIREWALL_N_SERVICES);
        memcpy(f->services, defaults, sizeof f->services);

        for (size_t i = 0; i < c->n_services; i++) {
                const FirewallService *o = &c->services[i];

                r = service_validate(o);
                if (r < 0)
                        return log_debug_errno(r, "Invalid service entry '%s'", strempty(o->name));
                for (size_t j = 0; j < FIREWALL_N_SERVICES; j++)
                        if (streq(f->services[j].name, o->name)) {
                                f->services[j] = *o;
                                f->services[j].name = defaults[j].name; /* ours is static */
                        }
        }
        for (size_t j = 0; j < FIREWALL_N_SERVICES; j++)
                if (f->services[j].address == 0)
                        f->services[j].address = f->vpn_address;

        *ret = TAKE_PTR(f);
        return 0;
}

const FirewallService *firewall_get_service(Firewall *f, const char *name) {
        for (size_t i = 0; i < FIREWALL_N_SERVICES; i++)
                if (name && streq(f->services[i].name, name))
                        return &f->services[i];
        return NULL;
}

void firewall_test_inject_failure(Firewall *f, bool enable) {
        f->inject_failure = enable;
}

/* ---------------------------------------------------------------- set elements */

static EndpointKey endpoint_key(uint32_t address, const FirewallPort *p) {
        return (EndpointKey) {
                .address = htonl(address),
                .protocol = p->protocol,
                .port = htons(p->port),
        };
}

static int peer_access_key_cmp(const void *a, const void *b) {
        return memcmp(a, b, sizeof(PeerAccessKey));
}

/* Sorts n keys of size bytes and drops repeats; returns how many are left. */
static size_t sort_unique(void *keys, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
        uint8_t *k = keys;
        size_t u = 0;

        if (n > 1) /* keys may be NULL when there are none */
                qsort(keys, n, size, cmp);
        for (size_t i = 0; i < n; i++)
                if (u == 0 || cmp(k + (u - 1) * size, k + i * size) != 0) {
                        if (u != i)
                                memcpy(k + u * size, k + i * size, size);
                        u++;
                }
        return u;
}

/* The peer's elements for services, sorted and without duplicates (two
 * services may share an endpoint). -EINVAL for an unknown name. */
static int peer_keys(Firewall *f, uint32_t peer, char **services, PeerAccessKey **ret, size_t *ret_n) {
        _cleanup_(freep) PeerAccessKey *keys = NULL;
        size_t n = 0, n_alloc = 0;

        for (char **s = services; s && *s; s++) {
                const FirewallService *svc = firewall_get_service(f, *s);
                if (!svc)
                        return log_debug_errno(-EINVAL, "Unknown service '%s'", *s);
                n_alloc += svc->n_ports;
        }

        keys = calloc(MAX(n_alloc, 1u), sizeof *keys);
        if (!keys)
                return -ENOMEM;
        for (char **s = services; s && *s; s++) {
                const FirewallService *svc = firewall_get_service(f, *s);
                for (size_t i = 0; i < svc->n_ports; i++)
                        keys[n++] = (PeerAccessKey) {
                                .peer = htonl(peer),
                                .endpoint = endpoint_key(svc->address, &svc->ports[i]),
                        };
        }

        *ret_n = sort_unique(keys, n, sizeof *keys, peer_access_key_cmp);
        *ret = TAKE_PTR(keys);
        return 0;
}

static int grant_key_cmp(const void *a, const void *b) {
        return memcmp(a, b, sizeof(GrantKey));
}

/* The peer's peer_grants elements, sorted; -EINVAL for an unknown network. */
static int grant_keys(uint32_t peer, char **networks, GrantKey **ret, size_t *ret_n) {
        size_t n = 0;
        GrantKey *keys = calloc(strv_length(networks) + 1, sizeof *keys);

        if (!keys)
                return -ENOMEM;
        for (char **s = networks; s && *s; s++) {
                uint32_t class = firewall_network_class(*s);
                if (class == 0) {
                        free(keys);
                        return log_debug_errno(-EINVAL, "Unknown network '%s'", *s);
                }
                keys[n++] = (GrantKey) { .peer = htonl(peer), .class = htonl(class) };
        }
        *ret_n = sort_unique(keys, n, sizeof *keys, grant_key_cmp);
        *ret = keys;
        return 0;
}

int elem_writer_flush(ElemWriter *w) {
        int r = 0;

        if (w->chunk && w->n > 0)
                r = nft_batch_add_set_elems(w->batch, w->type, NFPROTO_INET, 0, w->chunk);
        if (w->chunk)
                nftnl_set_free(w->chunk);
        w->chunk = NULL;
        w->n = 0;
        return r;
}

static int elem_writer_add_full(ElemWriter *w, const void *key, const void *key_end, uint32_t len,
                                const void *data, uint32_t data_len) {
        struct nftnl_set_elem *e;
        int r;

        if (w->n >= NFT_BATCH_ELEMS_PER_MESSAGE) {
                r = elem_writer_flush(w);
                if (r < 0)
                        return r;
        }
        if (!w->chunk) {
                w->chunk = nftnl_set_alloc();
                if (!w->chunk)
                        return -ENOMEM;
                nftnl_set_set_str(w->chunk, NFTNL_SET_TABLE, FIREWALL_TABLE);
                nftnl_set_set_str(w->chunk, NFTNL_SET_NAME, w->set);
        }
        e = nftnl_set_elem_alloc();
        if (!e)
                return -ENOMEM;
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
        if (key_end)
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, key_end, len);
        if (data)
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, data_len);
        nftnl_set_elem_add(w->chunk, e);
        w->n++;
        return 0;
}

int elem_writer_add_range(ElemWriter *w, const void *key, const void *key_end, uint32_t len) {
        return elem_writer_add_full(w, key, key_end, len, NULL, 0);
}

int elem_writer_add(ElemWriter *w, const void *key, uint32_t len) {
        return elem_writer_add_full(w, key, NULL, len, NULL, 0);
}

int elem_writer_add_mapping(ElemWriter *w, const void *key, uint32_t len, const void *data, uint32_t data_len) {
        return elem_writer_add_full(w, key, NULL, len, data, data_len);
}

void elem_writer_done(ElemWriter *w) {
        if (w->chunk)
                nftnl_set_free(w->chunk);
        w->chunk = NULL;
}

int add_keys(ElemWriter *w, const void *keys, size_t n, size_t size) {
        int r;

        for (size_t i = 0; i < n; i++) {
                r = elem_writer_add(w, (const uint8_t *) keys + i * size, (uint32_t) size);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One set's part of a peer change: keys of old missing from new are removed
 * (each first added, a no-op if present, so deleting cannot fail on one that
 * is already gone), then all of new are added (a no-op for those present). */
static int write_key_diff(NftBatch *b, const char *set, const void *old, size_t n_old, const void *new,
                          size_t n_new, size_t size, int (*cmp)(const void *, const void *)) {
        _cleanup_(elem_writer_done) ElemWriter add = { .batch = b, .set = set, .type = NFT_MSG_NEWSETELEM };
        _cleanup_(elem_writer_done) ElemWriter del = { .batch = b, .set = set, .type = NFT_MSG_DELSETELEM };
        int r;

        for (size_t i = 0; i < n_old; i++) {
                const void *k = (const uint8_t *) old + i * size;
                if (bsearch(k, new, n_new, size, cmp))
                        continue;
                r = elem_writer_add(&add, k, (uint32_t) size);
                if (r < 0)
                        return r;
                r = elem_writer_add(&del, k, (uint32_t) size);
                if (r < 0)
                        return r;
        }
        r = elem_writer_flush(&add);
        if (r < 0)
                return r;
        r = elem_writer_flush(&del);
        if (r < 0)
                return r;
        r = add_keys(&add, new, n_new, size);
        if (r < 0)
                return r;
        return elem_writer_flush(&add);
}

static int add_bogus_element(Firewall *f, NftBatch *b) {
        _cleanup_(elem_writer_done) ElemWriter w = {
                .batch = b, .set = FIREWALL_SET_PEER_ACCESS, .type = NFT_MSG_NEWSETELEM,
        };
        const uint8_t short_key[3] = { 1, 2, 3 };
        int r;

        /* A key shorter than the set's: the kernel refuses it with EINVAL. */
        log_debug("Test hook: appending an invalid element to the batch");
        f->inject_failure = false;
        r = elem_writer_add(&w, short_key, sizeof short_key);
        if (r < 0)
                return r;
        return elem_writer_flush(&w);
}

/* ---------------------------------------------------------------- table, sets, chains */

static int add_table_message(NftBatch *b, uint16_t type, uint16_t flags) {
        struct nftnl_table *t;
        int r;

        t = nftnl_table_alloc();
        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, FIREWALL_TABLE);
        r = nft_batch_add_table(b, type, NFPROTO_INET, flags, t);
        nftnl_table_free(t);
        return r;
}

static uint32_t concat_type(const uint32_t *types, size_t n) {
        uint32_t t = 0;

        for (size_t i = 0; i < n; i++)
                t = (t << NFT_TYPE_BITS) | types[i];
        return t;
}

int add_set(NftBatch *b, const char *name, uint32_t id, const uint32_t *types,
                   const uint8_t *field_len, size_t n_fields, uint32_t extra_flags) {
        struct nftnl_set *s;
        uint32_t key_len = 0;
        int r;

        for (size_t i = 0; i < n_fields; i++)
                key_len += (field_len[i] + 3u) & ~3u;

        s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        nftnl_set_set_str(s, NFTNL_SET_TABLE, FIREWALL_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_u32(s, NFTNL_SET_ID, id);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat_type(types, n_fields));
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
        /* The kernel wants the concat flag whenever field lengths are given. */
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_CONCAT | extra_flags);
        nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, field_len, n_fields);
        r = nft_batch_add_set(b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_EXCL, s);
        nftnl_set_free(s);
        return r;
}

static int add_service_endpoints(Firewall *f, NftBatch *b) {
        _cleanup_(elem_writer_done) ElemWriter w = {
                .batch = b, .set = FIREWALL_SET_SERVICE_ENDPOINTS, .type = NFT_MSG_NEWSETELEM,
        };
        EndpointKey seen[FIREWALL_N_SERVICES * FIREWALL_SERVICE_PORTS_MAX];
        size_t n_seen = 0;
        int r;

        for (size_t i = 0; i < FIREWALL_N_SERVICES; i++)
                for (size_t j = 0; j < f->services[i].n_ports; j++) {
                        EndpointKey k = endpoint_key(f->services[i].address, &f->services[i].ports[j]);
                        bool dup = false;

                        for (size_t s = 0; s < n_seen && !dup; s++)
                                dup = memcmp(&seen[s], &k, sizeof k) == 0;
                        if (dup)
                                continue;
                        seen[n_seen++] = k;
                        r = elem_writer_add(&w, &k, sizeof k);
                        if (r < 0)
                                return r;
                }
        return elem_writer_flush(&w);
}

static int build_table(Firewall *f, NftBatch *b) {
        static const uint32_t endpoint_types[] = { NFT_TYPE_IPADDR, NFT_TYPE_INET_PROTOCOL, NFT_TYPE_INET_SERVICE };
        static const uint32_t peer_access_types[] = {
                NFT_TYPE_IPADDR, NFT_TYPE_IPADDR, NFT_TYPE_INET_PROTOCOL, NFT_TYPE_INET_SERVICE,
        };
        static const uint32_t peer_grants_types[] = { NFT_TYPE_IPADDR, NFT_TYPE_MARK };
        int r;

        /* Create-if-missing, then delete, then create: replaces ours whether or not it exists. */
        r = add_table_message(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
        if (r < 0)
                return r;
        r = add_table_message(b, NFT_MSG_DELTABLE, 0);
        if (r < 0)
                return r;
        r = add_table_message(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return r;

        r = add_set(b, FIREWALL_SET_SERVICE_ENDPOINTS, SET_ID_SERVICE_ENDPOINTS,
                    endpoint_types, endpoint_field_len, ELEMENTSOF(endpoint_types), 0);
        if (r < 0)
                return r;
        r = add_set(b, FIREWALL_SET_PEER_ACCESS, SET_ID_PEER_ACCESS,
                    peer_access_types, peer_access_field_len, ELEMENTSOF(peer_access_types), 0);
        if (r < 0)
                return r;
        r = add_set(b, FIREWALL_SET_PEER_GRANTS, SET_ID_PEER_GRANTS,
                    peer_grants_types, peer_grants_field_len, ELEMENTSOF(peer_grants_types), 0);
        if (r < 0)
                return r;
        /* the first field a range (a linked subnet): the kernel's pipapo set, flat in its size */
        r = add_set(b, FIREWALL_SET_LINK_ACCESS, SET_ID_LINK_ACCESS,
                    peer_access_types, peer_access_field_len, ELEMENTSOF(peer_access_types), NFT_SET_INTERVAL);
        if (r < 0)
                return r;
        r = add_service_endpoints(f, b);
        if (r < 0)
                return r;
        r = firewall_add_exit_sets(f, b);
        if (r < 0)
                return r;

        r = firewall_add_chains(f, b);
        if (r < 0)
                return r;
        return 0;
}

static int commit(Firewall *f, NftBatch *b) {
        int r;

        if (f->inject_failure) {
                r = add_bogus_element(f, b);
                if (r < 0)
                        return r;
        }
        return nft_batch_commit(b);
}

/* Refuse before sending anything. */
static int peer_names_valid(const FirewallPeer *p) {
        for (char **s = p->services; s && *s; s++)
                if (!firewall_service_known(*s))
                        return log_debug_errno(-EINVAL, "Unknown service '%s'", *s);
        for (char **s = p->networks; s && *s; s++)
                if (firewall_network_class(*s) == 0)
                        return log_debug_errno(-EINVAL, "Unknown network '%s'", *s);
        return 0;
}

/* Every peer's elements of both sets, appended to b. -EINVAL for an unknown
 * name, checked first (b must then not be sent). */
static int add_peer_elements(Firewall *f, NftBatch *b, const FirewallPeer *peers, size_t n) {
        _cleanup_(elem_writer_done) ElemWriter access = { .batch = b, .set = FIREWALL_SET_PEER_ACCESS,
                                                          .type = NFT_MSG_NEWSETELEM };
        _cleanup_(elem_writer_done) ElemWriter grants = { .batch = b, .set = FIREWALL_SET_PEER_GRANTS,
                                                          .type = NFT_MSG_NEWSETELEM };
        int r;

        for (size_t i = 0; i < n; i++) {
                r = peer_names_valid(&peers[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) PeerAccessKey *keys = NULL;
                _cleanup_(freep) GrantKey *gkeys = NULL;
                size_t n_keys, n_grants;

                r = peer_keys(f, peers[i].address, peers[i].services, &keys, &n_keys);
                if (r >= 0)
                        r = add_keys(&access, keys, n_keys, sizeof *keys);
                if (r >= 0)
                        r = grant_keys(peers[i].address, peers[i].networks, &gkeys, &n_grants);
                if (r >= 0)
                        r = add_keys(&grants, gkeys, n_grants, sizeof *gkeys);
                if (r < 0)
                        return r;
        }
        r = elem_writer_flush(&access);
        if (r < 0)
                return r;
        r = elem_writer_flush(&grants);
        if (r < 0)
                return r;
        return firewall_add_peer_exits(b, peers, n);
}

/* What is shared with each linked cell: its subnet, as a range, to each endpoint of each shared service. */
static int add_link_elements(Firewall *f, NftBatch *b) {
        _cleanup_(elem_writer_done) ElemWriter w = { .batch = b, .set = FIREWALL_SET_LINK_ACCESS,
                                                     .type = NFT_MSG_NEWSETELEM };
        int r;

        for (size_t i = 0; i < f->n_links; i++) {
                _cleanup_(freep) PeerAccessKey *keys = NULL;
                size_t n_keys;
                r = peer_keys(f, cidr4_network(&f->links[i].subnet), f->links[i].services, &keys, &n_keys);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < n_keys; k++) {
                        PeerAccessKey last = keys[k];
                        last.peer = htonl(cidr4_broadcast(&f->links[i].subnet));
                        r = elem_writer_add_range(&w, &keys[k], &last, sizeof last);
                        if (r < 0)
                                return r;
                }
        }
        return elem_writer_flush(&w);
}

int firewall_apply(Firewall *f, const FirewallPeer *peers, size_t n_peers) {
        _cleanup_(nft_batch_freep) NftBatch *b = NULL;
        int r;

        r = nft_batch_new(&b);
        if (r < 0)
                return r;
        r = build_table(f, b);
        if (r < 0)
                return r;
        r = add_peer_elements(f, b, peers, n_peers);
        if (r < 0)
                return r;
        r = add_link_elements(f, b);
        if (r < 0)
                return r;
        r = commit(f, b);
        if (r < 0)
                return log_debug_errno(r, "Failed to replace table inet %s: %m", FIREWALL_TABLE);
        return 0;
}

int firewall_add_peers(Firewall *f, const FirewallPeer *peers, size_t n) {
        _cleanup_(nft_batch_freep) NftBatch *b = NULL;
        int r;

        r = nft_batch_new(&b);
        if (r < 0)
                return r;
        r = add_peer_elements(f, b, peers, n);
        if (r < 0)
                return r;
        if (nft_batch_size(b) == 0 && !f->inject_failure)
                return 0;
        r = commit(f, b);
        if (r < 0)
                return log_debug_errno(r, "Failed to add the elements of %zu peers: %m", n);
        return 0;
}

int firewall_set_peer_access(Firewall *f, uint32_t peer_address, char **old_services, char **new_services) {
        FirewallPeer old = { .address = peer_address, .services = old_services },
                     new = { .address = peer_address, .services = new_services };
        return firewall_change_peer(f, &old, &new);
}

int firewall_change_peer(Firewall *f, const FirewallPeer *old, const FirewallPeer *new) {
        static const FirewallPeer none = {};
        _cleanup_(nft_batch_freep) NftBatch *b = NULL;
        _cleanup_(freep) PeerAccessKey *old_keys = NULL, *new_keys = NULL;
        _cleanup_(freep) GrantKey *old_grants = NULL, *new_grants = NULL;
        size_t n_old, n_new, n_old_g, n_new_g;
        int r;

        old = old ?: &none;
        new = new ?: &none;
        r = peer_keys(f, old->address, old->services, &old_keys, &n_old);
        if (r < 0)
                return r;
        r = peer_keys(f, new->address, new->services, &new_keys, &n_new);
        if (r < 0)
                return r;
        r = grant_keys(old->address, old->networks, &old_grants, &n_old_g);
        if (r < 0)
                return r;
        r = grant_keys(new->address, new->networks, &new_grants, &n_new_g);
        if (r < 0)
                return r;

        r = nft_batch_new(&b);
        if (r < 0)
                return r;
        r = write_key_diff(b, FIREWALL_SET_PEER_ACCESS, old_keys, n_old, new_keys, n_new, sizeof *old_keys,
                           peer_access_key_cmp);
        if (r < 0)
                return r;
        r = write_key_diff(b, FIREWALL_SET_PEER_GRANTS, old_grants, n_old_g, new_grants, n_new_g, sizeof *old_grants,
                           grant_key_cmp);
        if (r < 0)
                return r;
        r = firewall_write_peer_exit(b, old, new);
        if (r < 0)
                return r;

        if (nft_batch_size(b) == 0 && !f->inject_failure)
                return 0;

        r = commit(f, b);
        if (r < 0)
                return log_debug_errno(r, "Failed to change the access of a peer: %m");
        return 0;
}

int firewall_remove_peer(Firewall *f, uint32_t peer_address, char **services) {
        return firewall_set_peer_access(f, peer_address, services, NULL);
}

int firewall_table_exists(Firewall *f) {
        return nft_table_exists(NFPROTO_INET, FIREWALL_TABLE);
}
