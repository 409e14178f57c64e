/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <time.h>

#include "time-util.h"

int parse_seconds(const char *s, uint64_t *ret_usec) {
        char *end;
        double d = strtod(s, &end);
        if (end == s || *end || !(d > 0) || d > 86400)
                return -EINVAL;
        *ret_usec = (uint64_t) llround(d * 1e6);
        return 0;
}

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}
