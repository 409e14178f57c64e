/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "names.h"

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool peer_name_is_valid(const char *s) {
        if (!s || !is_alnum(s[0]))
                return false;
        size_t n = 0;
        for (; s[n]; n++)
                if (!is_alnum(s[n]) && s[n] != '-' && s[n] != '_')
                        return false;
        return n <= PEER_NAME_MAX;
}

static bool label_is_valid(const char *s, size_t len) {
        if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool dns_label_is_valid(const char *s) {
        return s && label_is_valid(s, strlen(s));
}

bool dns_domain_is_valid(const char *s) {
        if (!s)
                return false;
        size_t len = strlen(s);
        if (len == 0 || len > 253)
                return false;
        for (const char *p = s;;) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t) (dot - p) : strlen(p);
                if (!label_is_valid(p, l))
                        return false;
                if (!dot)
                        return true;
                p = dot + 1;
        }
}

bool string_is_printable_ascii(const char *s, size_t max_len) {
        if (!s)
                return false;
        size_t n = 0;
        for (; s[n]; n++)
                if (s[n] < 0x20 || s[n] > 0x7e)
                        return false;
        return n <= max_len;
}
