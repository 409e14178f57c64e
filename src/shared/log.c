/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = { [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                                             [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };
        for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
                if (names[i] && streq(names[i], s))
                        return i;
        return -EINVAL;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        int e = error < 0 ? -error : error;

        if (level > max_level)
                return e > 0 ? -e : error;

        char buf[2048];
        va_list ap;
        va_start(ap, format);
        errno = e; /* makes %m print the passed error */
        vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);

        if (max_level >= LOG_DEBUG)
                fprintf(stderr, "<%d>%s:%d: %s\n", level, file, line, buf);
        else
                fprintf(stderr, "<%d>%s\n", level, buf);
        return e > 0 ? -e : error;
}
