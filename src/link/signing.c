/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "signing.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

size_t base64url_encoded_len(size_t len) {
        return sodium_base64_encoded_len(len, B64URL) - 1;
}

void base64url_encode(const void *in, size_t len, char *out, size_t out_size) {
        sodium_bin2base64(out, out_size, in, len, B64URL);
}

int base64url_decode_exact(const char *s, size_t s_len, void *out, size_t len) {
        size_t n = 0;
        const char *end = NULL;

        /* the canonical length only: no padding, no ignored characters, nothing after */
        if (s_len != base64url_encoded_len(len))
                return -EINVAL;
        if (sodium_base642bin(out, len, s, s_len, NULL, &n, &end, B64URL) != 0 || n != len || end != s + s_len)
                return -EINVAL;
        return 0;
}

int signing_key_generate(SigningKey *ret) {
        if (sodium_init() < 0)
                return -EIO;
        crypto_sign_keypair(ret->public.bytes, ret->secret);
        return 0;
}

void signing_key_wipe(SigningKey *k) {
        sodium_memzero(k, sizeof *k);
}

void signing_key_to_text(const SigningKey *k, char out[static SIGNING_KEY_FILE_LEN]) {
        base64url_encode(k->secret, sizeof k->secret, out, SIGNING_KEY_FILE_LEN);
}

int signing_key_from_text(const char *s, size_t len, SigningKey *ret) {
        SigningKey k;
        uint8_t derived[SIGNING_PUBLIC_LEN];

        while (len > 0 && s[len - 1] == '\n')
                len--;
        if (base64url_decode_exact(s, len, k.secret, sizeof k.secret) < 0)
                return -EINVAL;
        /* libsodium's secret key is seed || public: the halves must agree */
        crypto_sign_ed25519_sk_to_pk(k.public.bytes, k.secret);
        uint8_t seed[crypto_sign_SEEDBYTES], check_secret[SIGNING_SECRET_LEN];
        crypto_sign_ed25519_sk_to_seed(seed, k.secret);
        crypto_sign_seed_keypair(derived, check_secret, seed);
        sodium_memzero(seed, sizeof seed);
        sodium_memzero(check_secret, sizeof check_secret);
        if (sodium_memcmp(derived, k.public.bytes, sizeof derived) != 0) {
                signing_key_wipe(&k);
                return -EINVAL;
        }
        *ret = k;
        signing_key_wipe(&k);
        return 0;
}

void signing_public_to_text(const SigningPublicKey *k, char out[static SIGNING_PUBLIC_TEXT_LEN]) {
        base64url_encode(k->bytes, sizeof k->bytes, out, SIGNING_PUBLIC_TEXT_LEN);
}

int signing_public_from_text(const char *s, SigningPublicKey *ret) {
        SigningPublicKey k;
        if (base64url_decode_exact(s, strlen(s), k.bytes, sizeof k.bytes) < 0)
                return -EINVAL;
        *ret = k;
        return 0;
}

void signing_fingerprint(const SigningPublicKey *k, char out[static SIGNING_FINGERPRINT_LEN]) {
        uint8_t h[16];
        crypto_generichash(h, sizeof h, k->bytes, sizeof k->bytes, NULL, 0);
        base64url_encode(h, sizeof h, out, SIGNING_FINGERPRINT_LEN);
}

/* context || msg in one buffer: Ed25519 signs one message. Callers bound len. */
static uint8_t *with_context(const char *context, const void *msg, size_t len, size_t *ret_len) {
        size_t c = strlen(context);
        uint8_t *buf = malloc(c + len + 1);
        if (!buf)
                return NULL;
        memcpy(buf, context, c);
        if (len > 0)
                memcpy(buf + c, msg, len);
        *ret_len = c + len;
        return buf;
}

int signing_sign(const SigningKey *k, const char *context, const void *msg, size_t len,
                 uint8_t sig[static SIGNATURE_LEN]) {
        size_t n;
        uint8_t *buf = with_context(context, msg, len, &n);
        if (!buf)
                return -ENOMEM;
        crypto_sign_detached(sig, NULL, buf, n, k->secret);
        free(buf);
        return 0;
}

int signing_verify(const SigningPublicKey *k, const char *context, const void *msg, size_t len,
                   const uint8_t sig[static SIGNATURE_LEN]) {
        size_t n;
        uint8_t *buf = with_context(context, msg, len, &n);
        if (!buf)
                return -ENOMEM;
        int r = crypto_sign_verify_detached(sig, buf, n, k->bytes) == 0 ? 0 : -EBADMSG;
        free(buf);
        return r;
}
