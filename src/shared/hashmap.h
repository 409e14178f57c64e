/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* A small chained hash map. Keys are borrowed (they usually live in the value),
 * so a caller removes the entry before freeing the value. */
typedef struct HashmapOps {
        uint64_t (*hash)(const void *key);
        bool (*equal)(const void *a, const void *b);
} HashmapOps;

extern const HashmapOps string_hash_ops; /* NUL-terminated strings */
extern const HashmapOps u32_hash_ops;    /* keys point to uint32_t */

typedef struct Hashmap Hashmap;

Hashmap *hashmap_new(const HashmapOps *ops);
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);
/* -EEXIST if the key is present, -ENOMEM */
int hashmap_put(Hashmap *h, const void *key, void *value);
void *hashmap_get(const Hashmap *h, const void *key);
void *hashmap_remove(Hashmap *h, const void *key);
size_t hashmap_size(const Hashmap *h);

/* Iteration order is arbitrary; the map must not change during iteration. */
typedef struct HashmapIter {
        size_t bucket;
        void *entry;
} HashmapIter;
#define HASHMAP_ITER_INIT ((HashmapIter) { 0, NULL })
bool hashmap_next(const Hashmap *h, HashmapIter *i, void **value);

#define HASHMAP_FOREACH(v, h) \
        for (HashmapIter _i = HASHMAP_ITER_INIT; hashmap_next((h), &_i, (void **) &(v));)
