/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "strv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for "1023.9 EiB" and "18446744073709551615 B". */
#define FORMAT_BYTES_MAX 32
/* Enough for "213503982 d ago". */
#define FORMAT_AGO_MAX 32
#define FORMAT_TIMESTAMP_MAX 64

/* Byte counts in IEC units: "0 B", "512 B", "1.5 KiB", "12.0 MiB". */
char *format_bytes(char *buf, size_t size, uint64_t bytes);

/* How long before @now_usec @then_usec was, both µs since the epoch:
 * "never" for 0, else "N s ago", "N min ago", "N h ago" or "N d ago". */
char *format_ago(char *buf, size_t size, uint64_t then_usec, uint64_t now_usec);

/* Enough for "18446744073709551.6 ms". */
#define FORMAT_MSEC_MAX 32

/* A duration in µs as milliseconds to a tenth: "0.0 ms", "12.3 ms", "2500.0 ms". */
char *format_msec(char *buf, size_t size, uint64_t usec);

/* Local time "YYYY-MM-DD HH:MM:SS ZONE", or "never" for 0. */
char *format_timestamp(char *buf, size_t size, uint64_t usec);

/* Left-aligned columns two spaces apart on stdout; the last one is not padded. */
void print_table_row(const char *const *row, const size_t *width, size_t n_columns);

