/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to src/netlink: what the dumps and the rule and route sync have in
 * common. A dump collector that gathers the kernel's objects of one kind
 * (addresses, rules, routes) into an array (and retries a dump the kernel
 * interrupted), and a sorted merge that makes the
 * objects carrying one protocol number exactly a wanted list. The item type
 * (RtnlRule, RtnlRoute) and its netlink calls come in an RtnlSyncOps table. */

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtnl-socket.h"

/* A dump's items and, per item, whether it has attributes the model cannot
 * express (such an item is never taken for one of ours). */
typedef struct RtnlDump {
        size_t size; /* of one item */
        void *items;
        bool *unmodelled;
        size_t n, allocated, allocated_unmodelled;
} RtnlDump;

void rtnl_dump_done(RtnlDump *d);

/* Hands the items over as an array for free() (NULL when *n == 0) and empties d. */
void rtnl_dump_take_items(RtnlDump *d, void **ret, size_t *n);

/* Fills the dump request after its netlink header; may set socket options on
 * r, which is a fresh socket on every retry. */
typedef void (*RtnlDumpRequestFn)(Rtnl *r, struct nlmsghdr *nlh, void *userdata);

/* Parses one reply into item: 1 keeps it, 0 skips the message, <0 aborts. */
typedef int (*RtnlDumpParseFn)(const struct nlmsghdr *nlh, void *item, bool *unmodelled, void *userdata);

/* Dumps message type (RTM_GETRULE, RTM_GETROUTE) into *ret, items of size
 * bytes. An interrupted dump (-EINTR) is retried on a freshly opened r up to
 * RTNL_DUMP_ATTEMPTS times; any other error is returned as it is. */
int rtnl_dump(Rtnl *r, uint16_t type, size_t size,
              RtnlDumpRequestFn request, RtnlDumpParseFn parse, void *userdata, RtnlDump *ret);

typedef struct RtnlSyncOps {
        size_t size;            /* of one item */
        size_t protocol_offset; /* offsetof the uint8_t owner protocol */
        /* Orders by place: what identifies an item in the kernel. */
        int (*compare)(const void *a, const void *b);
        /* Whether two items in one place have the same attributes beyond it;
         * NULL when the place is everything. */
        bool (*same)(const void *a, const void *b);
        int (*add)(Rtnl *r, const void *item);
        int (*replace)(Rtnl *r, const void *item); /* for ours where same() says they differ */
        int (*remove)(Rtnl *r, const void *item);
        int gone;               /* what remove returns for an item already gone */
        const char *what;       /* "route", "rule": for debug logs */
} RtnlSyncOps;

/* Sorts wanted by place and drops equal duplicates: -EINVAL when two wanted
 * items hold one place with different attributes. */
int rtnl_sync_sort_wanted(const RtnlSyncOps *ops, void *items, size_t *n);

/* Narrows the dump to ours (carrying protocol, nothing unmodelled), sorted
 * by place. */
void rtnl_sync_keep_ours(const RtnlSyncOps *ops, RtnlDump *d, uint8_t protocol);

/* Removes ours that are not wanted (both sorted). Returns 1 if it removed
 * something (an item already gone counts), 0 if not. */
int rtnl_sync_remove_stale(Rtnl *r, const RtnlSyncOps *ops,
                           const void *ours, size_t n_ours, const void *wanted, size_t n);

/* Adds the wanted that are not ours and replaces ours whose attributes differ
 * (both sorted). An add the kernel refuses with -EEXIST is skipped and counted
 * in *conflicts. Returns 1 if it changed something, 0 if not. */
int rtnl_sync_add_missing(Rtnl *r, const RtnlSyncOps *ops,
                          const void *ours, size_t n_ours, const void *wanted, size_t n, size_t *conflicts);
