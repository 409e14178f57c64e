/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "picctl-format.h"

char *format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double value = (double) bytes;
        size_t i;

        if (bytes < 1024) {
                snprintf(buf, size, "%" PRIu64 " B", bytes);
                return buf;
        }

        for (i = 0; i < sizeof units / sizeof units[0] - 1; i++) {
                value /= 1024.0;
                /* Stop before rounding would print "1024.0". */
                if (value < 1023.95)
                        break;
        }
        if (i == sizeof units / sizeof units[0] - 1)
                value /= 1024.0;

        snprintf(buf, size, "%.1f %s", value, units[i]);
        return buf;
}

char *format_ago(char *buf, size_t size, uint64_t then_usec, uint64_t now_usec) {
        uint64_t sec;

        if (then_usec == 0) {
                snprintf(buf, size, "never");
                return buf;
        }

        /* A handshake stamped slightly in the future is clock skew, not news. */
        sec = now_usec > then_usec ? (now_usec - then_usec) / 1000000 : 0;

        if (sec < 60)
                snprintf(buf, size, "%" PRIu64 " s ago", sec);
        else if (sec < 60 * 60)
                snprintf(buf, size, "%" PRIu64 " min ago", sec / 60);
        else if (sec < 24 * 60 * 60)
                snprintf(buf, size, "%" PRIu64 " h ago", sec / (60 * 60));
        else
                snprintf(buf, size, "%" PRIu64 " d ago", sec / (24 * 60 * 60));
        return buf;
}

char *format_msec(char *buf, size_t size, uint64_t usec) {
        /* rounded to 0.1 ms without overflowing near UINT64_MAX */
        uint64_t tenths = usec / 100 + (usec % 100 >= 50);

        snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " ms", tenths / 10, tenths % 10);
        return buf;
}

char *format_timestamp(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "%s", usec == 0 ? "never" : "?");
        return buf;
}

void print_table_row(const char *const *row, const size_t *width, size_t n_columns) {
        for (size_t j = 0; j + 1 < n_columns; j++)
                printf("%-*s  ", (int) width[j], row[j]);
        printf("%s\n", n_columns > 0 ? row[n_columns - 1] : "");
}

