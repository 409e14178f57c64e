/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated arrays of strings; NULL counts as the empty list. */

/* Frees the strings and the array; accepts NULL, returns NULL. */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        *l = strv_free(*l);
}
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Same strings in the same order. */
bool strv_equal(char *const *a, char *const *b);
/* A deep copy; NULL on allocation failure. */
char **strv_copy(char *const *l);
/* Appends a copy of s (*l may be NULL); -ENOMEM leaves *l as it was. Linear
 * in the length: for short lists. */
int strv_extend(char ***l, const char *s);
/* Appends each argument up to a NULL; -ENOMEM (then *l holds some of them: free it). */
int strv_extend_many(char ***l, ...) __attribute__((sentinel));
/* Joins l with sep; NULL on allocation failure. */
char *strv_join(char *const *l, const char *sep);
/* Splits s at commas; "" gives an empty list; NULL on allocation failure. */
char **strv_split_comma(const char *s);
