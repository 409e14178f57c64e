/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hashmap.h"
#include "macro.h"

#define MANY 100000


typedef struct Item {
        char name[16];
        uint32_t id;
        unsigned seen;
} Item;

static void test_basic(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&string_hash_ops);
        Item a = { "alpha" }, b = { "beta" }, a2 = { "alpha" };

        assert_non_null(h);
        assert_int_equal(hashmap_size(h), 0);
        assert_null(hashmap_get(h, "alpha"));
        assert_null(hashmap_remove(h, "alpha"));

        assert_int_equal(hashmap_put(h, a.name, &a), 0);
        assert_int_equal(hashmap_put(h, b.name, &b), 0);
        assert_int_equal(hashmap_size(h), 2);

        /* Lookup is by content, not by pointer. */
        char key[] = "alpha";
        assert_ptr_equal(hashmap_get(h, key), &a);
        assert_ptr_equal(hashmap_get(h, "beta"), &b);
        assert_null(hashmap_get(h, "gamma"));
        assert_null(hashmap_get(h, ""));

        /* A second entry with an equal key is refused and the first one stays. */
        assert_int_equal(hashmap_put(h, a2.name, &a2), -EEXIST);
        assert_ptr_equal(hashmap_get(h, "alpha"), &a);
        assert_int_equal(hashmap_size(h), 2);

        assert_ptr_equal(hashmap_remove(h, "alpha"), &a);
        assert_null(hashmap_get(h, "alpha"));
        assert_null(hashmap_remove(h, "alpha"));
        assert_int_equal(hashmap_size(h), 1);
        assert_ptr_equal(hashmap_get(h, "beta"), &b);

        /* After removal the key can be added again. */
        assert_int_equal(hashmap_put(h, a2.name, &a2), 0);
        assert_ptr_equal(hashmap_get(h, "alpha"), &a2);
        assert_int_equal(hashmap_size(h), 2);

        /* The empty string is a key like any other. */
        Item e = { "" };
        assert_int_equal(hashmap_put(h, e.name, &e), 0);
        assert_ptr_equal(hashmap_get(h, ""), &e);
}

static void test_null_map(void **state) {
        void *v = NULL;

        assert_null(hashmap_free(NULL));
        assert_null(hashmap_get(NULL, "x"));
        assert_null(hashmap_remove(NULL, "x"));
        assert_int_equal(hashmap_size(NULL), 0);
        HashmapIter i = HASHMAP_ITER_INIT;
        assert_false(hashmap_next(NULL, &i, &v));
}

static void test_empty_iteration(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&u32_hash_ops);
        Item *it;
        unsigned n = 0;

        HASHMAP_FOREACH(it, h)
                n++;
        assert_int_equal(n, 0);
}

static void test_many_strings(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&string_hash_ops);
        _cleanup_(freep) Item *items = calloc(MANY, sizeof(Item));

        assert_non_null(h);
        assert_non_null(items);
        for (uint32_t i = 0; i < MANY; i++) {
                snprintf(items[i].name, sizeof items[i].name, "peer-%u", i);
                items[i].id = i;
                assert_int_equal(hashmap_put(h, items[i].name, &items[i]), 0);
        }
        assert_int_equal(hashmap_size(h), MANY);

        /* Every entry is still found after the table grew many times. */
        for (uint32_t i = 0; i < MANY; i++) {
                char key[16];
                snprintf(key, sizeof key, "peer-%u", i);
                Item *it = hashmap_get(h, key);
                if (it != &items[i])
                        fail_msg("lookup of %s after growth failed", key);
        }
        assert_null(hashmap_get(h, "peer-100000"));
        assert_int_equal(hashmap_put(h, "peer-4242", &items[0]), -EEXIST);

        /* Iteration visits each exactly once. */
        Item *it;
        size_t n = 0;
        HASHMAP_FOREACH(it, h) {
                it->seen++;
                n++;
        }
        assert_int_equal(n, MANY);
        for (uint32_t i = 0; i < MANY; i++)
                if (items[i].seen != 1)
                        fail_msg("item %u seen %u times", i, items[i].seen);

        /* Remove every odd one; the rest stay reachable. */
        for (uint32_t i = 1; i < MANY; i += 2)
                assert_ptr_equal(hashmap_remove(h, items[i].name), &items[i]);
        assert_int_equal(hashmap_size(h), MANY / 2);
        for (uint32_t i = 0; i < MANY; i++) {
                Item *got = hashmap_get(h, items[i].name);
                if (got != (i % 2 ? NULL : &items[i]))
                        fail_msg("item %u wrong after removals", i);
        }
        n = 0;
        HASHMAP_FOREACH(it, h) {
                assert_int_equal(it->id % 2, 0);
                n++;
        }
        assert_int_equal(n, MANY / 2);
}

static void test_many_u32(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&u32_hash_ops);
        _cleanup_(freep) Item *items = calloc(MANY, sizeof(Item));

        assert_non_null(h);
        assert_non_null(items);
        /* Keys spread like addresses in a subnet, and the extremes. */
        for (uint32_t i = 0; i < MANY; i++) {
                items[i].id = i == 0 ? 0 : i == 1 ? UINT32_MAX : 0x0a000000u + i;
                assert_int_equal(hashmap_put(h, &items[i].id, &items[i]), 0);
        }
        assert_int_equal(hashmap_size(h), MANY);

        for (uint32_t i = 0; i < MANY; i++) {
                uint32_t key = items[i].id; /* a different pointer to an equal value */
                if (hashmap_get(h, &key) != &items[i])
                        fail_msg("lookup of %#x failed", key);
        }
        uint32_t absent = 0x0a000000u + MANY;
        assert_null(hashmap_get(h, &absent));
        uint32_t dup = 0x0a000000u + 77;
        assert_int_equal(hashmap_put(h, &dup, &items[0]), -EEXIST);

        Item *it;
        size_t n = 0;
        HASHMAP_FOREACH(it, h) {
                it->seen++;
                n++;
        }
        assert_int_equal(n, MANY);
        for (uint32_t i = 0; i < MANY; i++)
                if (items[i].seen != 1)
                        fail_msg("item %u seen %u times", i, items[i].seen);

        /* Drain it completely. */
        for (uint32_t i = 0; i < MANY; i++)
                assert_ptr_equal(hashmap_remove(h, &items[i].id), &items[i]);
        assert_int_equal(hashmap_size(h), 0);
        n = 0;
        HASHMAP_FOREACH(it, h)
                n++;
        assert_int_equal(n, 0);
}

static void test_iterator_exhausted(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&string_hash_ops);
        Item a = { "a" };
        void *v;

        assert_int_equal(hashmap_put(h, a.name, &a), 0);
        HashmapIter i = HASHMAP_ITER_INIT;
        assert_true(hashmap_next(h, &i, &v));
        assert_ptr_equal(v, &a);
        assert_false(hashmap_next(h, &i, &v));
        /* Asking again after the end stays at the end. */
        assert_false(hashmap_next(h, &i, &v));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basic),
                cmocka_unit_test(test_null_map),
                cmocka_unit_test(test_empty_iteration),
                cmocka_unit_test(test_many_strings),
                cmocka_unit_test(test_many_u32),
                cmocka_unit_test(test_iterator_exhausted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
