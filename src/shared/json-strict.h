/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON from outside the process, read so that nothing is silently rewritten:
 * cJSON alone takes a NUL byte or a \u0000 escape as the end of a string,
 * invalid UTF-8 as it is, trailing bytes after the value, and the last of a
 * member given twice. Each of those is refused here, with the reason. */

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Exactly len bytes, one JSON value. NULL with the reason in why (naming the
 * member for a duplicate): a person can act on it. */
cJSON *json_parse_strict(const char *text, size_t len, char *why, size_t size);
/* The same; for a member given twice, @member gets the top-level member's name that holds the
 * duplicate (or is it): the field a reply names. "" otherwise. */
cJSON *json_parse_strict_member(const char *text, size_t len, char *why, size_t size, char *member, size_t msize);

/* n bytes of valid UTF-8 with no control character (C0, DEL): text a person
 * wrote, such as a request path. */
bool text_is_clean_utf8(const char *s, size_t n);
