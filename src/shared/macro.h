/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strempty(s) ((s) ? (s) : "")
#define isempty(s) (!(s) || (s)[0] == '\0')
static inline bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}
static inline bool endswith(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}
/* The value of a hexadecimal digit (either case), or -1. */
static inline int hex_digit_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static inline char *mfree_str(char *s) {
        free(s);
        return NULL;
}

/* Both NULL, or equal strings. */
static inline bool streq_ptr(const char *a, const char *b) {
        return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

/* Hand ownership out of a cleanup-owned local. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -EBADF; _fd; })
#define SWAP(a, b) do { __typeof__(a) _swap = (a); (a) = (b); (b) = _swap; } while (0)

static inline void freep(void *p) {
        free(*(void **) p);
}

/* For strings that held secrets: wiped before they are freed. */
static inline void erase_and_freep(char **p) {
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Declares foop(Foo **) calling foo_free() for use with _cleanup_. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)           \
        static inline void func##p(type *p) {             \
                if (*p)                                   \
                        *p = func(*p);                    \
        }

/* Makes *p hold at least `need` elements of `size` bytes, growing geometrically;
 * *allocated counts elements. -ENOMEM leaves *p as it was. */
static inline int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size) {
        if (need <= *allocated)
                return 0;
        size_t n = need < 16 ? 16 : need * 2;
        void *q = reallocarray(*p, n, size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = n;
        return 0;
}

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
