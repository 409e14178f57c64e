/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Unit names for systemd (systemd.unit(5), "String Escaping"): what
 * `systemd-escape` makes of a string. libsystemd does not export its own
 * unit_name_escape(), hence this small copy of the rule. */

/* The longest unit name systemd accepts (UNIT_NAME_MAX, with its NUL). */
#define UNIT_NAME_MAX 256

/* s escaped for use in a unit name: '/' becomes '-', every byte that is not
 * an ASCII letter, digit, ':', '_' or '.' (and a leading '.') becomes "\xNN".
 * -ENOBUFS when it does not fit in size bytes, -EINVAL for "". */
int unit_name_escape(const char *s, char *buf, size_t size);

/* The reverse: "\xNN" back to its byte, '-' back to '/'. -EINVAL for a
 * malformed escape or one that makes a NUL, -ENOBUFS when it does not fit. */
int unit_name_unescape(const char *s, char *buf, size_t size);

/* "PREFIX@ESCAPED.SUFFIX" (e.g. pic-peer@my\x2dphone.target) into buf. */
int unit_name_build_instance(const char *prefix, const char *instance, const char *suffix, char *buf, size_t size);
