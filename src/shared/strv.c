/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"

char **strv_free(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        for (char *const *i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i])))
                        return strv_free(c);
        return c;
}

int strv_extend_many(char ***l, ...) {
        va_list ap;
        int r = 0;

        va_start(ap, l);
        for (const char *s = va_arg(ap, const char *); s && r >= 0; s = va_arg(ap, const char *))
                r = strv_extend(l, s);
        va_end(ap);
        return r;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char *copy = strdup(s);
        char **grown;

        if (!copy)
                return -ENOMEM;
        grown = realloc(*l, (n + 2) * sizeof(char *));
        if (!grown) {
                free(copy);
                return -ENOMEM;
        }
        grown[n] = copy;
        grown[n + 1] = NULL;
        *l = grown;
        return 0;
}

char *strv_join(char *const *l, const char *sep) {
        size_t n = 1, seplen = strlen(sep);
        for (char *const *i = l; i && *i; i++)
                n += strlen(*i) + seplen;

        char *s = malloc(n), *p = s;
        if (!s)
                return NULL;
        *p = '\0';
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return s;
}

char **strv_split_comma(const char *s) {
        size_t n = 0;
        if (*s != '\0')
                for (const char *p = s; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
                        n++;

        char **l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        const char *p = s;
        for (size_t i = 0; i < n; i++) {
                size_t len = strcspn(p, ",");
                if (!(l[i] = strndup(p, len)))
                        return strv_free(l);
                p += len + 1;
        }
        return l;
}
