/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "failure-injection.h"
#include "fileio.h"
#include "log.h"

bool failure_injected(Manager *m, const char *step) {
        _cleanup_(freep) char *text = NULL;
        char want[32];
        unsigned skip = 0;

        if (!m->config.test_failure_file)
                return false;
        if (read_file_at(AT_FDCWD, m->config.test_failure_file, 256, &text, NULL) < 0 ||
            sscanf(text, "%31s %u", want, &skip) < 1) {
                m->failure_seen = mfree_str(m->failure_seen);
                return false;
        }
        if (!m->failure_seen || !streq(m->failure_seen, text)) { /* a new instruction: count afresh */
                free(m->failure_seen);
                m->failure_seen = TAKE_PTR(text);
                m->failure_count = 0;
        }
        if (!streq(want, step))
                return false;
        if (m->failure_count++ != skip)
                return false;
        log_notice("Test hook: failing step '%s' now.", step);
        return true;
}

unsigned failure_delay_ms(Manager *m, const char *step) {
        _cleanup_(freep) char *text = NULL;
        char want[32];
        unsigned ms = 0;

        if (!m->config.test_failure_file ||
            read_file_at(AT_FDCWD, m->config.test_failure_file, 256, &text, NULL) < 0 ||
            sscanf(text, "%31s %u", want, &ms) != 2 || !streq(want, step))
                return 0;
        return ms;
}
