/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One word of 'picctl peer access NAME CHANGE...': "+svc" and "svc" grant, "-svc" revokes. */
typedef struct AccessChange {
        const char *service;   /* points into the word */
        bool grant;
} AccessChange;

/* -EINVAL when no service name follows the sign, or the name starts with another sign.
 * Whether the name is a known service is the daemon's to say. */
int access_change_parse(const char *word, AccessChange *ret);

/* @current with @changes applied in order: a grant appends a service not yet listed,
 * a revoke drops it; the order is kept and no service is listed twice. Returns 1 if
 * the list differs from @current, 0 if not, -ENOMEM. */
int access_changes_apply(char * const *current, const AccessChange *changes, size_t n_changes, char ***ret);
