/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

typedef struct Entry {
        const void *key;
        void *value;
        uint64_t hash;
        struct Entry *next;
} Entry;

struct Hashmap {
        const HashmapOps *ops;
        Entry **buckets;
        size_t n_buckets, size;
};

static uint64_t fnv1a(const void *p, size_t n) {
        const uint8_t *b = p;
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static uint64_t string_hash(const void *k) {
        return fnv1a(k, strlen(k));
}

static bool string_equal(const void *a, const void *b) {
        return strcmp(a, b) == 0;
}

static uint64_t u32_hash(const void *k) {
        return fnv1a(k, sizeof(uint32_t));
}

static bool u32_equal(const void *a, const void *b) {
        return *(const uint32_t *) a == *(const uint32_t *) b;
}

const HashmapOps string_hash_ops = { string_hash, string_equal };
const HashmapOps u32_hash_ops = { u32_hash, u32_equal };

Hashmap *hashmap_new(const HashmapOps *ops) {
        Hashmap *h = calloc(1, sizeof *h);
        if (!h)
                return NULL;
        h->ops = ops;
        h->n_buckets = 16;
        h->buckets = calloc(h->n_buckets, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return NULL;
        }
        return h;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *n; e; e = n) {
                        n = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static Entry **find_slot(const Hashmap *h, const void *key, uint64_t hash) {
        Entry **e = &h->buckets[hash % h->n_buckets];
        for (; *e; e = &(*e)->next)
                if ((*e)->hash == hash && h->ops->equal((*e)->key, key))
                        break;
        return e;
}

static int grow(Hashmap *h) {
        size_t n = h->n_buckets * 4;
        Entry **b = calloc(n, sizeof(Entry *));
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash % n];
                        b[e->hash % n] = e;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
        return 0;
}

int hashmap_put(Hashmap *h, const void *key, void *value) {
        uint64_t hash = h->ops->hash(key);
        Entry **slot = find_slot(h, key, hash);
        if (*slot)
                return -EEXIST;
        if (h->size >= h->n_buckets && grow(h) >= 0)
                slot = find_slot(h, key, hash);
        Entry *e = malloc(sizeof *e);
        if (!e)
                return -ENOMEM;
        *e = (Entry) { .key = key, .value = value, .hash = hash };
        *slot = e;
        h->size++;
        return 0;
}

void *hashmap_get(const Hashmap *h, const void *key) {
        if (!h)
                return NULL;
        Entry *e = *find_slot(h, key, h->ops->hash(key));
        return e ? e->value : NULL;
}

void *hashmap_remove(Hashmap *h, const void *key) {
        if (!h)
                return NULL;
        Entry **slot = find_slot(h, key, h->ops->hash(key));
        Entry *e = *slot;
        if (!e)
                return NULL;
        void *v = e->value;
        *slot = e->next;
        free(e);
        h->size--;
        return v;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->size : 0;
}

bool hashmap_next(const Hashmap *h, HashmapIter *i, void **value) {
        if (!h)
                return false;
        Entry *e = i->entry ? ((Entry *) i->entry)->next : NULL;
        while (!e && i->bucket < h->n_buckets)
                e = h->buckets[i->bucket++];
        i->entry = e;
        if (!e)
                return false;
        *value = e->value;
        return true;
}
