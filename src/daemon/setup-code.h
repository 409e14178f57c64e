/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The one-time code that proves access to the machine before the cell is set up: root reads it
 * (the 0600 file below in the state directory, the log line at start, Manager.GetSetupCode);
 * a Setup from anyone else must give it, so whoever reaches the gateway first does not own the
 * cell. It goes with the Setup that uses it. */
#define SETUP_CODE_FILE "setup-code"
#define SETUP_CODE_LEN 14      /* "XXXX-XXXX-XXXX": 12 of 32 letters and digits, 60 bits */
#define SETUP_CODE_MAX_WRONG 10 /* wrong codes before a new one is made (and logged) */

typedef struct SetupCode {
        char code[SETUP_CODE_LEN + 1]; /* "": none (the cell is set up) */
        unsigned wrong;
} SetupCode;

/* The stored code, or a new one made and stored (*ret_made). */
int setup_code_load_or_make(int state_fd, SetupCode *c, bool *ret_made);
/* A new code, stored in place of the old one. */
int setup_code_renew(int state_fd, SetupCode *c);
/* Whether @given is the code: letters in either case, the dashes optional; constant time. */
bool setup_code_matches(const SetupCode *c, const char *given);
/* Forgets it (the cell is set up); a file already gone is fine. */
int setup_code_forget(int state_fd, SetupCode *c);
