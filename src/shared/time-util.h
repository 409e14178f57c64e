/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

/* A command-line number of seconds (fractions allowed, more than 0, at most a
 * day) as microseconds; -EINVAL otherwise. */
int parse_seconds(const char *s, uint64_t *ret_usec);

/* The clock's current time in microseconds. */
uint64_t now_usec(clockid_t clock);
