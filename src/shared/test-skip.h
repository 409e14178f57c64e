/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cmocka's skip() counts as passed: a unit test that cannot run here (no
 * network namespace, no permission) must say so. skip_here() marks it;
 * tests_result() turns the run's result into meson's SKIP (77) when
 * something was skipped and nothing failed. For test programs only. */

#include <stdbool.h>

static bool tests_skipped_here;

#define skip_here()                          \
        do {                                 \
                tests_skipped_here = true;   \
                skip();                      \
        } while (0)

static inline int tests_result(int failed) {
        return failed != 0 ? failed : tests_skipped_here ? 77 : 0;
}
