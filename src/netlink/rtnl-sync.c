/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dump collector and sorted-merge sync shared by rtnl-rule.c and
 * rtnl-route.c; see rtnl-sync.h. Items are opaque here: their size, order and
 * netlink calls come from the caller. */
#include "log.h"
#include "macro.h"
#include "rtnl-sync.h"

#define ITEM(items, size, i) ((void *) ((char *) (items) + (i) * (size)))
#define CONST_ITEM(items, size, i) ((const void *) ((const char *) (items) + (i) * (size)))

typedef struct DumpCall {
        RtnlDump *dump;
        RtnlDumpParseFn parse;
        void *userdata;
} DumpCall;

void rtnl_dump_done(RtnlDump *d) {
        free(d->items);
        free(d->unmodelled);
        *d = (RtnlDump) { .size = d->size };
}

void rtnl_dump_take_items(RtnlDump *d, void **ret, size_t *n) {
        *n = d->n;
        *ret = d->n > 0 ? TAKE_PTR(d->items) : NULL;
        rtnl_dump_done(d);
}

static int on_dump_reply(const struct nlmsghdr *nlh, void *userdata) {
        DumpCall *call = userdata;
        RtnlDump *d = call->dump;
        int k;

        /* Room first, so that the parser fills the next slot in place. */
        if (greedy_realloc(&d->items, &d->allocated, d->n + 1, d->size) < 0 ||
            greedy_realloc((void **) &d->unmodelled, &d->allocated_unmodelled, d->n + 1, sizeof *d->unmodelled) < 0)
                return -ENOMEM;

        d->unmodelled[d->n] = false;
        k = call->parse(nlh, ITEM(d->items, d->size, d->n), d->unmodelled + d->n, call->userdata);
        if (k <= 0)
                return k;

        d->n++;
        return 0;
}

int rtnl_dump(Rtnl *r, uint16_t type, size_t size,
              RtnlDumpRequestFn request, RtnlDumpParseFn parse, void *userdata, RtnlDump *ret) {
        for (unsigned attempt = 0;; attempt++) {
                char buf[RTNL_REQUEST_SIZE];
                RtnlDump d = { .size = size };
                DumpCall call = { .dump = &d, .parse = parse, .userdata = userdata };
                struct nlmsghdr *nlh;
                int k;

                nlh = rtnl_socket_message(buf, type, NLM_F_DUMP);
                request(r, nlh, userdata);

                k = rtnl_socket_call(r, nlh, on_dump_reply, &call);
                if (k >= 0) {
                        *ret = d;
                        return 0;
                }

                rtnl_dump_done(&d);
                if (k != -EINTR || attempt + 1 >= RTNL_DUMP_ATTEMPTS)
                        return k;

                /* The table changed under the dump: start over on a fresh socket. */
                rtnl_socket_close(r);
                k = rtnl_socket_open(r);
                if (k < 0)
                        return k;
        }
}

int rtnl_sync_sort_wanted(const RtnlSyncOps *ops, void *items, size_t *n) {
        size_t m = 0;

        if (*n > 1)
                qsort(items, *n, ops->size, ops->compare);

        for (size_t i = 0; i < *n; i++) {
                const void *item = ITEM(items, ops->size, i);

                if (m > 0 && ops->compare(ITEM(items, ops->size, m - 1), item) == 0) {
                        if (ops->same && !ops->same(ITEM(items, ops->size, m - 1), item))
                                return -EINVAL; /* two different items cannot hold one place */
                        continue;
                }

                if (m != i)
                        memcpy(ITEM(items, ops->size, m), item, ops->size);
                m++;
        }

        *n = m;
        return 0;
}

void rtnl_sync_keep_ours(const RtnlSyncOps *ops, RtnlDump *d, uint8_t protocol) {
        size_t m = 0;

        for (size_t i = 0; i < d->n; i++) {
                const uint8_t *item = ITEM(d->items, ops->size, i);

                if (d->unmodelled[i] || item[ops->protocol_offset] != protocol)
                        continue;

                if (m != i)
                        memcpy(ITEM(d->items, ops->size, m), item, ops->size);
                d->unmodelled[m++] = false;
        }

        d->n = m;
        if (m > 1)
                qsort(d->items, m, ops->size, ops->compare);
}

int rtnl_sync_remove_stale(Rtnl *r, const RtnlSyncOps *ops,
                           const void *ours, size_t n_ours, const void *wanted, size_t n) {
        bool removed = false;
        size_t i = 0, j = 0;

        while (i < n_ours) {
                const void *item = CONST_ITEM(ours, ops->size, i);
                int c = j < n ? ops->compare(item, CONST_ITEM(wanted, ops->size, j)) : -1;
                int k;

                if (c > 0) {
                        j++;
                        continue;
                }
                if (c == 0) {
                        /* Wanted in this place: kept, add_missing corrects its attributes. */
                        i++, j++;
                        continue;
                }

                k = ops->remove(r, item);
                if (k < 0 && k != ops->gone)
                        return log_debug_errno(k, "Failed to remove stale %s: %m", ops->what);
                removed = true;
                i++;
        }

        return removed;
}

int rtnl_sync_add_missing(Rtnl *r, const RtnlSyncOps *ops,
                          const void *ours, size_t n_ours, const void *wanted, size_t n, size_t *conflicts) {
        bool changed = false;
        size_t i = 0;

        for (size_t j = 0; j < n; j++) {
                const void *item = CONST_ITEM(wanted, ops->size, j);
                int c = -1, k;

                while (i < n_ours && (c = ops->compare(CONST_ITEM(ours, ops->size, i), item)) < 0)
                        i++;

                if (i < n_ours && c == 0) {
                        if (!ops->same || ops->same(CONST_ITEM(ours, ops->size, i), item))
                                continue;

                        k = ops->replace(r, item);
                        if (k < 0)
                                return log_debug_errno(k, "Failed to replace %s: %m", ops->what);
                        changed = true;
                        continue;
                }

                k = ops->add(r, item);
                if (k == -EEXIST) {
                        /* The kernel has one in that place already; the caller decides what that means. */
                        (*conflicts)++;
                        continue;
                }
                if (k < 0)
                        return log_debug_errno(k, "Failed to add %s: %m", ops->what);
                changed = true;
        }

        return changed;
}
