/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "picctl-access.h"
#include "picctl-format.h"

int access_change_parse(const char *word, AccessChange *ret) {
        bool grant = true;

        if (word[0] == '+' || word[0] == '-') {
                grant = word[0] == '+';
                word++;
        }
        if (isempty(word) || word[0] == '+' || word[0] == '-')
                return -EINVAL;

        *ret = (AccessChange) { .service = word, .grant = grant };
        return 0;
}

/* Appends a copy of @s to @l, which has room for it and the terminating NULL. */
static int strv_push_copy(char **l, size_t *n, const char *s) {
        l[*n] = strdup(s);
        if (!l[*n])
                return -ENOMEM;
        l[++*n] = NULL;
        return 0;
}

int access_changes_apply(char * const *current, const AccessChange *changes, size_t n_changes, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;
        bool changed;
        int r;

        /* Never longer than everything in @current plus every grant. */
        l = calloc(strv_length(current) + n_changes + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (char * const *s = current; s && *s; s++)
                if (!strv_contains(l, *s) && (r = strv_push_copy(l, &n, *s)) < 0)
                        return r;

        for (size_t i = 0; i < n_changes; i++) {
                const char *service = changes[i].service;

                if (changes[i].grant) {
                        if (!strv_contains(l, service) && (r = strv_push_copy(l, &n, service)) < 0)
                                return r;
                        continue;
                }

                for (size_t j = 0; j < n; j++)
                        if (streq(l[j], service)) {
                                free(l[j]);
                                memmove(&l[j], &l[j + 1], (n - j) * sizeof(char *));
                                n--;
                                break;
                        }
        }

        changed = !strv_equal(l, current);
        *ret = TAKE_PTR(l);
        return changed;
}
