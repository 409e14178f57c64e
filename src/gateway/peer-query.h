/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* GET /api/peers' query (limit, cursor, prefix), checked one parameter at a time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define PAGE_LIMIT_MAX 1000

typedef struct PeerQuery {
        size_t limit;                           /* SIZE_MAX: no limit asked for */
        char prefix[PEER_NAME_MAX + 1];
        char cursor[PEER_NAME_MAX + 1];
        bool seen_limit, seen_prefix, seen_cursor;
        const char *error_field;
        char error[160];
} PeerQuery;

void peer_query_init(PeerQuery *q);
/* One parameter as the client sent it (@value NULL: "?key" alone); false, with q->error (and
 * q->error_field when it can be named) set, when it is refused: unknown, repeated or bad. */
bool peer_query_add(PeerQuery *q, const char *key, const char *value);
