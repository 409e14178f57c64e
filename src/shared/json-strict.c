/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-strict.h"
#include "names.h"

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when it is not one (overlong
 * forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_sequence(const uint8_t *s, size_t n) {
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* One pass over the raw text: valid UTF-8, no NUL byte, no \u0000 inside a string. */
static bool check_text(const char *text, size_t len, char *why, size_t size) {
        const uint8_t *s = (const uint8_t *) text;
        bool in_string = false;

        for (size_t i = 0; i < len;) {
                if (s[i] == 0) {
                        snprintf(why, size, "A NUL byte at offset %zu.", i);
                        return false;
                }
                size_t n = utf8_sequence(s + i, len - i);
                if (n == 0) {
                        snprintf(why, size, "Not UTF-8 at offset %zu.", i);
                        return false;
                }
                if (n == 1 && s[i] == '"')
                        in_string = !in_string;
                else if (n == 1 && s[i] == '\\' && in_string && i + 1 < len) {
                        if (s[i + 1] == 'u' && i + 6 <= len && strncmp(text + i + 2, "0000", 4) == 0) {
                                snprintf(why, size, "A \\u0000 escape at offset %zu: strings cannot hold NUL.", i);
                                return false;
                        }
                        i += 2; /* the escaped character, whatever it is, ends nothing */
                        continue;
                }
                i += n;
        }
        return true;
}

bool text_is_clean_utf8(const char *s, size_t n) {
        const uint8_t *u = (const uint8_t *) s;
        for (size_t i = 0; i < n;) {
                size_t k = utf8_sequence(u + i, n - i);
                if (k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7f)))
                        return false;
                i += k;
        }
        return true;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Every object at any depth: no member name twice (sorted, so n log n for a large object).
 * @top: the top-level member holding @item (NULL: item is the top); its name, or the duplicate's
 * own at the top, goes to @member. */
static bool check_members(const cJSON *item, const char *top, char *why, size_t size, char *member, size_t msize) {
        const cJSON *c;
        size_t n = 0;

        cJSON_ArrayForEach(c, item)
                n++;
        if (cJSON_IsObject(item) && n > 1) {
                const char **names = malloc(n * sizeof *names);
                if (!names) {
                        snprintf(why, size, "Out of memory.");
                        return false;
                }
                size_t i = 0;
                cJSON_ArrayForEach(c, item)
                        names[i++] = c->string;
                qsort(names, n, sizeof *names, compare_names);
                for (i = 1; i < n; i++)
                        if (strcmp(names[i - 1], names[i]) == 0) {
                                snprintf(why, size, "Member '%.*s' is given twice.", utf8_prefix_len(names[i], 64),
                                         names[i]);
                                if (member && msize > 0)
                                        snprintf(member, msize, "%s", top ?: names[i]);
                                free(names);
                                return false;
                        }
                free(names);
        }
        cJSON_ArrayForEach(c, item)
                if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
                    !check_members(c, top ?: (cJSON_IsObject(item) ? c->string : NULL), why, size, member, msize))
                        return false;
        return true;
}

cJSON *json_parse_strict(const char *text, size_t len, char *why, size_t size) {
        return json_parse_strict_member(text, len, why, size, NULL, 0);
}

cJSON *json_parse_strict_member(const char *text, size_t len, char *why, size_t size, char *member, size_t msize) {
        const char *end = NULL;

        if (member && msize > 0)
                member[0] = 0;
        if (!check_text(text, len, why, size))
                return NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (!o) {
                snprintf(why, size, "Not JSON.");
                return NULL;
        }
        /* cJSON stops after the value; only whitespace may follow it */
        while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
                end++;
        if (end != text + len) {
                snprintf(why, size, "Something after the JSON value (offset %zu).", (size_t) (end - text));
                cJSON_Delete(o);
                return NULL;
        }
        if (!check_members(o, NULL, why, size, member, msize)) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}
