/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "unit-name.h"

static bool passes(char c, bool first) {
        if (c == '.')
                return !first;
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_';
}

int unit_name_escape(const char *s, char *buf, size_t size) {
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *c = s; *c; c++) {
                if (*c == '/' || passes(*c, c == s)) {
                        if (n + 1 >= size)
                                return -ENOBUFS;
                        buf[n++] = *c == '/' ? '-' : *c;
                } else {
                        if (n + 4 >= size)
                                return -ENOBUFS;
                        buf[n++] = '\\';
                        buf[n++] = 'x';
                        buf[n++] = hex[(unsigned char) *c >> 4];
                        buf[n++] = hex[(unsigned char) *c & 15];
                }
        }
        buf[n] = 0;
        return 0;
}

int unit_name_unescape(const char *s, char *buf, size_t size) {
        size_t n = 0;

        for (const char *c = s; *c; c++) {
                char out = *c == '-' ? '/' : *c;
                if (*c == '\\') {
                        if (c[1] != 'x')
                                return -EINVAL;
                        int hi = hex_digit_value(c[2]), lo = hi < 0 ? -1 : hex_digit_value(c[3]);
                        if (lo < 0 || (hi | lo) == 0)
                                return -EINVAL;
                        out = (char) (hi << 4 | lo);
                        c += 3;
                }
                if (n + 1 >= size)
                        return -ENOBUFS;
                buf[n++] = out;
        }
        if (size == 0)
                return -ENOBUFS;
        buf[n] = 0;
        return 0;
}

int unit_name_build_instance(const char *prefix, const char *instance, const char *suffix, char *buf, size_t size) {
        char escaped[UNIT_NAME_MAX];
        int r = unit_name_escape(instance, escaped, sizeof escaped);
        if (r < 0)
                return r;
        int n = snprintf(buf, size, "%s@%s%s", prefix, escaped, suffix);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}
