/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reads our table back from the kernel and renders it as text: what the
 * kernel holds, not what we meant to send. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <netinet/in.h>

#include "firewall-internal.h"
#include "log.h"
#include "nft-query.h"

typedef struct ObjList {
        void **items;
        size_t n;
        void (*free_item)(void *);
} ObjList;

static void obj_list_done(ObjList *l) {
        for (size_t i = 0; i < l->n; i++)
                l->free_item(l->items[i]);
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

static int obj_list_push(ObjList *l, void *item) {
        void **a = realloc(l->items, (l->n + 1) * sizeof *a);
        if (!a)
                return -ENOMEM;
        l->items = a;
        l->items[l->n++] = item;
        return 0;
}

static void chain_free(void *p) { nftnl_chain_free(p); }
static void rule_free(void *p) { nftnl_rule_free(p); }
static void set_free(void *p) { nftnl_set_free(p); }

static bool ours(const char *table, uint32_t family) {
        return table && streq(table, FIREWALL_TABLE) && family == NFPROTO_INET;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data) {
        ObjList *l = data;
        struct nftnl_chain *c = nftnl_chain_alloc();

        if (!c)
                return MNL_CB_ERROR;
        /* one without a name (never the kernel's) could be neither asked for nor shown */
        if (nftnl_chain_nlmsg_parse(nlh, c) < 0 || !nftnl_chain_get_str(c, NFTNL_CHAIN_NAME) ||
            !ours(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY))) {
                nftnl_chain_free(c);
                return MNL_CB_OK;
        }
        if (obj_list_push(l, c) < 0) {
                nftnl_chain_free(c);
                errno = ENOMEM;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data) {
        ObjList *l = data;
        struct nftnl_rule *r = nftnl_rule_alloc();

        if (!r)
                return MNL_CB_ERROR;
        if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
            !ours(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY))) {
                nftnl_rule_free(r);
                return MNL_CB_OK;
        }
        if (obj_list_push(l, r) < 0) {
                nftnl_rule_free(r);
                errno = ENOMEM;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data) {
        ObjList *l = data;
        struct nftnl_set *s = nftnl_set_alloc();

        if (!s)
                return MNL_CB_ERROR;
        /* one without a name (never the kernel's) could be neither asked for nor shown */
        if (nftnl_set_nlmsg_parse(nlh, s) < 0 || !nftnl_set_get_str(s, NFTNL_SET_NAME) ||
            !ours(nftnl_set_get_str(s, NFTNL_SET_TABLE), nftnl_set_get_u32(s, NFTNL_SET_FAMILY))) {
                nftnl_set_free(s);
                return MNL_CB_OK;
        }
        if (obj_list_push(l, s) < 0) {
                nftnl_set_free(s);
                errno = ENOMEM;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static int elems_cb(const struct nlmsghdr *nlh, void *data) {
        if (nftnl_set_elems_nlmsg_parse(nlh, data) < 0) {
                errno = EINVAL;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static int dump_chains(ObjList *ret) {
        char buf[NFT_REQUEST_SIZE] = {};
        struct nlmsghdr *nlh;

        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, 0);
        return nft_query(nlh, chain_cb, ret);
}

static int dump_rules(const char *chain, ObjList *ret) {
        char buf[NFT_REQUEST_SIZE] = {};
        struct nftnl_rule *filter;
        struct nlmsghdr *nlh;

        filter = nftnl_rule_alloc();
        if (!filter)
                return -ENOMEM;
        nftnl_rule_set_str(filter, NFTNL_RULE_TABLE, FIREWALL_TABLE);
        nftnl_rule_set_str(filter, NFTNL_RULE_CHAIN, chain);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, 0);
        nftnl_rule_nlmsg_build_payload(nlh, filter);
        nftnl_rule_free(filter);
        return nft_query(nlh, rule_cb, ret);
}

static int dump_sets(ObjList *ret) {
        char buf[NFT_REQUEST_SIZE] = {};
        struct nftnl_set *filter;
        struct nlmsghdr *nlh;

        filter = nftnl_set_alloc();
        if (!filter)
                return -ENOMEM;
        nftnl_set_set_str(filter, NFTNL_SET_TABLE, FIREWALL_TABLE);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, 0);
        nftnl_set_nlmsg_build_payload(nlh, filter);
        nftnl_set_free(filter);
        return nft_query(nlh, set_cb, ret);
}

static int dump_elements(struct nftnl_set *s) {
        char buf[NFT_REQUEST_SIZE] = {};
        struct nftnl_set *request;
        struct nlmsghdr *nlh;

        request = nftnl_set_alloc();
        if (!request)
                return -ENOMEM;
        nftnl_set_set_str(request, NFTNL_SET_TABLE, FIREWALL_TABLE);
        nftnl_set_set_str(request, NFTNL_SET_NAME, nftnl_set_get_str(s, NFTNL_SET_NAME));
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, 0);
        nftnl_set_elems_nlmsg_build_payload(nlh, request);
        nftnl_set_free(request);
        return nft_query(nlh, elems_cb, s);
}

/* ---------------------------------------------------------------- rendering */

#define NFT_TYPE_BITS 6

static const char *type_name(uint32_t type) {
        switch (type) {
        case 7:
                return "ipv4_addr";
        case 12:
                return "inet_proto";
        case 13:
                return "inet_service";
        case 19:
                return "mark";
        default:
                return NULL;
        }
}

/* The concatenation's field types, first field first; 0 if they cannot be told. */
static size_t key_fields(struct nftnl_set *s, uint32_t types[static 8]) {
        uint32_t key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
        uint32_t key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
        size_t n = key_len / 4;

        if (key_len % 4 != 0 || n == 0 || n > 5)
                return 0;
        for (size_t i = 0; i < n; i++) {
                types[i] = (key_type >> (NFT_TYPE_BITS * (n - 1 - i))) & ((1u << NFT_TYPE_BITS) - 1);
                if (!type_name(types[i]))
                        return 0;
        }
        if (key_type >> (NFT_TYPE_BITS * n))
                return 0;
        return n;
}

static void render_key(FILE *out, const uint8_t *key, uint32_t len, const uint32_t *types, size_t n_types) {
        if (n_types == 0 || len != n_types * 4) {
                for (uint32_t i = 0; i < len; i++)
                        fprintf(out, "%02x", key[i]);
                return;
        }
        for (size_t i = 0; i < n_types; i++, key += 4) {
                char a[INET_ADDRSTRLEN];

                if (i > 0)
                        fputs(" . ", out);
                switch (types[i]) {
                case 7:
                        fputs(inet_ntop(AF_INET, key, a, sizeof a), out);
                        break;
                case 12:
                        if (key[0] == IPPROTO_TCP)
                                fputs("tcp", out);
                        else if (key[0] == IPPROTO_UDP)
                                fputs("udp", out);
                        else
                                fprintf(out, "%u", key[0]);
                        break;
                case 13:
                        fprintf(out, "%u", (unsigned) ((key[0] << 8) | key[1]));
                        break;
                case 19:
                        fprintf(out, "0x%08x", (unsigned) ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]));
                        break;
                }
        }
}

typedef struct KeyRef {
        const uint8_t *data;
        uint32_t len;
} KeyRef;

static int key_ref_cmp(const void *a, const void *b) {
        const KeyRef *x = a, *y = b;

        if (x->len != y->len)
                return x->len < y->len ? -1 : 1;
        return memcmp(x->data, y->data, x->len);
}

typedef struct KeyList {
        KeyRef *keys;
        size_t n, n_alloc;
} KeyList;

static int key_list_add(struct nftnl_set_elem *e, void *data) {
        KeyList *l = data;
        uint32_t len = 0;
        const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

        if (!k)
                return 0;
        if (l->n == l->n_alloc) {
                size_t m = MAX(16u, 2 * l->n_alloc);
                KeyRef *a = realloc(l->keys, m * sizeof *a);
                if (!a)
                        return -1;
                l->keys = a;
                l->n_alloc = m;
        }
        l->keys[l->n++] = (KeyRef) { k, len };
        return 0;
}

static int render_set(FILE *out, struct nftnl_set *s) {
        _cleanup_(freep) KeyRef *keys = NULL;
        KeyList list = {};
        uint32_t types[8];
        size_t n_types, n;

        if (nftnl_set_elem_foreach(s, key_list_add, &list) < 0) {
                free(list.keys);
                return -ENOMEM;
        }
        keys = list.keys;
        n = list.n;
        /* Hash tables walk in no particular order; sorted, equal contents print equal. */
        if (n > 1) /* an empty set has no keys array: qsort(NULL, …) is undefined */
                qsort(keys, n, sizeof *keys, key_ref_cmp);

        n_types = key_fields(s, types);
        fprintf(out, "set %s { type ", nftnl_set_get_str(s, NFTNL_SET_NAME));
        if (n_types == 0)
                fprintf(out, "0x%x len %u", nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
        for (size_t i = 0; i < n_types; i++)
                fprintf(out, "%s%s", i > 0 ? " . " : "", type_name(types[i]));
        fprintf(out, "; flags 0x%x; handle %" PRIu64 "; %zu elements }\n",
                nftnl_set_get_u32(s, NFTNL_SET_FLAGS), nftnl_set_get_u64(s, NFTNL_SET_HANDLE), n);
        for (size_t i = 0; i < n; i++) {
                fputs("\t", out);
                render_key(out, keys[i].data, keys[i].len, types, n_types);
                fputs("\n", out);
        }
        return 0;
}

static const char *hook_name(uint32_t hook) {
        static const char *const names[] = {
                [NF_INET_PRE_ROUTING] = "prerouting",
                [NF_INET_LOCAL_IN] = "input",
                [NF_INET_FORWARD] = "forward",
                [NF_INET_LOCAL_OUT] = "output",
                [NF_INET_POST_ROUTING] = "postrouting",
        };
        return hook < ELEMENTSOF(names) && names[hook] ? names[hook] : "?";
}

static int comment_cb(const struct nftnl_udata *attr, void *data) {
        const char **comment = data;

        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(attr) > 0) {
                const char *s = nftnl_udata_get(attr);
                if (s[nftnl_udata_len(attr) - 1] == '\0')
                        *comment = s;
        }
        return 0;
}

/* Whether each type-length-value of a rule's user data fits in it: nftnl_udata_parse() checks
 * only where each one starts and hands on one whose length runs past the end. */
static bool udata_fits(const uint8_t *p, uint32_t n) {
        while (n > 0) {
                if (n < 2 || (uint32_t) p[1] + 2 > n)
                        return false;
                n -= (uint32_t) p[1] + 2;
                p += (uint32_t) p[1] + 2;
        }
        return true;
}

static int render_rule(FILE *out, struct nftnl_rule *r) {
        struct nftnl_expr_iter *it;
        const char *comment = NULL;
        const void *udata;
        uint32_t udata_len = 0;
        char buf[1024];

        udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udata_len);
        if (udata && udata_fits(udata, udata_len))
                (void) nftnl_udata_parse(udata, udata_len, comment_cb, &comment);
        fprintf(out, "\trule %" PRIu64 ": %s\n\t\t", nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE), comment ?: "(no comment)");

        it = nftnl_expr_iter_create(r);
        if (!it)
                return -ENOMEM;
        for (struct nftnl_expr *e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) {
                size_t l;

                nftnl_expr_snprintf(buf, sizeof buf, e, NFTNL_OUTPUT_DEFAULT, 0);
                l = strlen(buf);
                while (l > 0 && buf[l - 1] == ' ')
                        buf[--l] = '\0';
                fprintf(out, "[ %s%s%s ]", nftnl_expr_get_str(e, NFTNL_EXPR_NAME), l > 0 ? " " : "", buf);
        }
        nftnl_expr_iter_destroy(it);
        fputs("\n", out);
        return 0;
}

static int render_chain(FILE *out, struct nftnl_chain *c) {
        _cleanup_(obj_list_done) ObjList rules = { .free_item = rule_free };
        const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
        int r;

        fprintf(out, "chain %s { ", name);
        if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
                fprintf(out, "type %s hook %s priority %d; policy %s; ",
                        strempty(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE)),
                        hook_name(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM)),
                        nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
                        nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_ACCEPT ? "accept" : "drop");
        fprintf(out, "handle %" PRIu64 " }\n", nftnl_chain_get_u64(c, NFTNL_CHAIN_HANDLE));

        r = dump_rules(name, &rules);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rules.n; i++) {
                const char *chain = nftnl_rule_get_str(rules.items[i], NFTNL_RULE_CHAIN);
                if (!chain || !streq(chain, name))
                        continue;
                r = render_rule(out, rules.items[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int firewall_dump(Firewall *f, char **ret_text) {
        _cleanup_(obj_list_done) ObjList chains = { .free_item = chain_free };
        _cleanup_(obj_list_done) ObjList sets = { .free_item = set_free };
        /* text first: cleanups run in reverse, and fclose() writes text, so it must run before free() */
        _cleanup_(freep) char *text = NULL;
        _cleanup_(fclosep) FILE *out = NULL;
        size_t size = 0;
        int r;

        r = nft_table_exists(NFPROTO_INET, FIREWALL_TABLE);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;

        r = dump_sets(&sets);
        if (r < 0)
                return log_debug_errno(r, "Failed to list the sets of table inet %s: %m", FIREWALL_TABLE);
        for (size_t i = 0; i < sets.n; i++) {
                r = dump_elements(sets.items[i]);
                if (r < 0)
                        return log_debug_errno(r, "Failed to list set elements: %m");
        }
        r = dump_chains(&chains);
        if (r < 0)
                return log_debug_errno(r, "Failed to list the chains of table inet %s: %m", FIREWALL_TABLE);

        out = open_memstream(&text, &size);
        if (!out)
                return -ENOMEM;
        fprintf(out, "table inet %s\n", FIREWALL_TABLE);
        for (size_t i = 0; i < sets.n; i++) {
                r = render_set(out, sets.items[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < chains.n; i++) {
                r = render_chain(out, chains.items[i]);
                if (r < 0)
                        return r;
        }
        if (fflush(out) != 0 || ferror(out))
                return -ENOMEM;
        fclose(TAKE_PTR(out));

        *ret_text = TAKE_PTR(text);
        return 0;
}
