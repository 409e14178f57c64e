/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "signing-key-file.h"

#define SIGNING_KEY_FILE "signing.key"

int signing_key_file_load(int state_fd, SigningKey *ret) {
        _cleanup_(erase_and_freep) char *text = NULL;
        size_t size;

        int r = read_file_at(state_fd, SIGNING_KEY_FILE, SIGNING_KEY_FILE_LEN + 1, &text, &size);
        if (r < 0)
                return r;
        r = signing_key_from_text(text, size, ret);
        if (r < 0)
                return log_error_errno(r, "%s is not a signing key; it was left as it is.", SIGNING_KEY_FILE);
        return 0;
}

int signing_key_file_load_or_create(int state_fd, SigningKey *ret) {
        char text[SIGNING_KEY_FILE_LEN + 1];
        SigningKey k;

        int r = signing_key_file_load(state_fd, ret);
        if (r != -ENOENT)
                return r;
        r = signing_key_generate(&k);
        if (r < 0)
                return r;
        signing_key_to_text(&k, text);
        strcat(text, "\n");
        r = write_file_atomic(state_fd, SIGNING_KEY_FILE, text, strlen(text), 0600);
        explicit_bzero(text, sizeof text);
        if (r < 0) {
                signing_key_wipe(&k);
                return r;
        }
        *ret = k;
        signing_key_wipe(&k);
        return 0;
}
