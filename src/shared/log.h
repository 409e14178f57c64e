/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>
#include "macro.h"

/* Logs to stderr with a "<N>" priority prefix journald understands. Never pass
 * secrets: nothing here scrubs them. */
void log_set_max_level(int level);
/* "err", "warning", "notice", "info" or "debug" → LOG_*; -EINVAL otherwise. */
int log_level_from_string(const char *s);
int log_get_max_level(void);
int log_internal(int level, int error, const char *file, int line, const char *format, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

/* Return the (negative) error after logging it; %m in the format shows it. */
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
