/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict reading of a JSON object another cell sent: exactly the listed
 * fields, each once, each of its type. Anything else is refused with a
 * message naming the field. */

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum JsonType {
        JSON_STRING,
        JSON_COUNT,   /* a whole number, 0 to 2^53 - 1 */
        JSON_OBJECT,
        JSON_BOOL,
        JSON_STRINGS, /* an array of strings */
} JsonType;

typedef struct JsonField {
        const char *name;
        JsonType type;
        bool optional; /* absent: its item is NULL (state files a newer PIC added a field to) */
} JsonField;

/* ret[i] is fields[i]'s item. @what names the object in messages ("Invite",
 * "Invite: cell"). -EINVAL with the message in buf. */
int json_collect_fields(const cJSON *o, const JsonField *fields, size_t n, const cJSON **ret, const char *what,
                        char *buf, size_t size);

/* A JSON_STRINGS item as a NULL-terminated strv (caller frees); -ENOMEM. */
int json_strings(const cJSON *item, char ***ret);

/* A JSON_COUNT item's value (json_collect_fields checked it). */
uint64_t json_count(const cJSON *item);

/* Parses exactly len bytes as one JSON value (nothing before or after, no NUL
 * inside); NULL when they are not. */
cJSON *json_parse_exact(const char *text, size_t len);

/* vsnprintf into buf; returns -EINVAL, for refusals. */
int json_refuse(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
