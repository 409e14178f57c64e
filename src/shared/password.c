/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"

int password_check_quality(const char *password) {
        size_t n = password ? strlen(password) : 0;
        if (n < PASSWORD_MIN || n > PASSWORD_MAX)
                return -EINVAL;
        for (const unsigned char *p = (const unsigned char *) password; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return -EINVAL;
        return 0;
}

int password_hash(const char *password, char **ret) {
        char *h = malloc(crypto_pwhash_STRBYTES);
        if (!h)
                return -ENOMEM;
        if (sodium_init() < 0 ||
            crypto_pwhash_str(h, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
                free(h);
                return -ENOMEM; /* libsodium fails only when it cannot get the memory */
        }
        *ret = h;
        return 0;
}

bool password_verify(const char *hash, const char *password) {
        static char *decoy = NULL;

        if (sodium_init() < 0)
                return false;
        if (!hash) {
                if (!decoy && password_hash("decoy password", &decoy) < 0)
                        return false;
                int r = crypto_pwhash_str_verify(decoy, password, strlen(password));
                (void) r;
                return false;
        }
        return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void password_login_id(const char *hash, char ret[static PASSWORD_LOGIN_ID_LEN + 1]) {
        unsigned char id[PASSWORD_LOGIN_ID_LEN / 2];

        ret[0] = 0;
        if (!hash)
                return;
        crypto_generichash(id, sizeof id, (const unsigned char *) hash, strlen(hash), NULL, 0);
        sodium_bin2hex(ret, PASSWORD_LOGIN_ID_LEN + 1, id, sizeof id);
}

int password_generate(char **ret) {
        static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        const size_t len = 20;
        char *p = malloc(len + 1);
        if (!p)
                return -ENOMEM;
        if (sodium_init() < 0) {
                free(p);
                return -EIO;
        }
        for (size_t i = 0; i < len; i++)
                p[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
        p[len] = 0;
        *ret = p;
        return 0;
}
