/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "setup-code.h"

/* Crockford's base32: no I, L, O or U to misread */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void make(SetupCode *c) {
        for (size_t i = 0; i < SETUP_CODE_LEN; i++)
                c->code[i] = (i == 4 || i == 9) ? '-' : alphabet[randombytes_uniform(32)];
        c->code[SETUP_CODE_LEN] = 0;
        c->wrong = 0;
}

/* The 12 code characters of @s in upper case, dashes dropped; false when it is not such a code. */
static bool normalize(const char *s, char out[static 13]) {
        size_t n = 0;
        for (; *s; s++) {
                if (*s == '-')
                        continue;
                char ch = (*s >= 'a' && *s <= 'z') ? (char) (*s - 'a' + 'A') : *s;
                if (n >= 12 || !strchr(alphabet, ch))
                        return false;
                out[n++] = ch;
        }
        out[n] = 0;
        return n == 12;
}

static bool valid(const char *code) {
        char norm[13];
        return strlen(code) == SETUP_CODE_LEN && code[4] == '-' && code[9] == '-' && normalize(code, norm);
}

int setup_code_renew(int state_fd, SetupCode *c) {
        make(c);
        char line[SETUP_CODE_LEN + 2];
        memcpy(line, c->code, SETUP_CODE_LEN);
        line[SETUP_CODE_LEN] = '\n';
        line[SETUP_CODE_LEN + 1] = 0;
        return write_file_atomic(state_fd, SETUP_CODE_FILE, line, SETUP_CODE_LEN + 1, 0600);
}

int setup_code_load_or_make(int state_fd, SetupCode *c, bool *ret_made) {
        _cleanup_(freep) char *text = NULL;
        int r = read_file_at(state_fd, SETUP_CODE_FILE, 64, &text, NULL);

        *ret_made = false;
        if (r >= 0) {
                text[strcspn(text, "\n")] = 0;
                if (valid(text)) {
                        memcpy(c->code, text, SETUP_CODE_LEN + 1);
                        c->wrong = 0;
                        return 0;
                }
        } else if (r != -ENOENT)
                return r;
        *ret_made = true; /* none, or not one of ours: a new one */
        return setup_code_renew(state_fd, c);
}

bool setup_code_matches(const SetupCode *c, const char *given) {
        char want[13], got[13];
        if (!c->code[0] || !given || strlen(given) > 64 || !normalize(given, got) || !normalize(c->code, want))
                return false;
        return sodium_memcmp(want, got, 12) == 0;
}

int setup_code_forget(int state_fd, SetupCode *c) {
        sodium_memzero(c, sizeof *c);
        int r = unlink_durable(state_fd, SETUP_CODE_FILE);
        return r == -ENOENT ? 0 : r;
}
