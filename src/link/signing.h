/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A cell's Ed25519 signing key: it signs invites and every message to a
 * linked cell, which pins the public half at pairing. */

#include <stddef.h>
#include <stdint.h>

#define SIGNING_PUBLIC_LEN 32
#define SIGNING_SECRET_LEN 64   /* libsodium's seed + public key */
#define SIGNATURE_LEN 64
#define SIGNING_PUBLIC_TEXT_LEN 44   /* base64url, no padding: 43 + NUL */
#define SIGNING_FINGERPRINT_LEN 23   /* base64url of the key's first 16 bytes of BLAKE2b, plus NUL */
#define SIGNING_KEY_FILE_LEN 87      /* the secret key as stored: base64url, 86 + NUL */

typedef struct SigningPublicKey {
        uint8_t bytes[SIGNING_PUBLIC_LEN];
} SigningPublicKey;

typedef struct SigningKey {
        SigningPublicKey public;
        uint8_t secret[SIGNING_SECRET_LEN];
} SigningKey;

int signing_key_generate(SigningKey *ret);
void signing_key_wipe(SigningKey *k);

/* The secret key as one line of text (for the 0600 key file) and back; the
 * public half is derived and checked against the stored one. */
void signing_key_to_text(const SigningKey *k, char out[static SIGNING_KEY_FILE_LEN]);
int signing_key_from_text(const char *s, size_t len, SigningKey *ret);

void signing_public_to_text(const SigningPublicKey *k, char out[static SIGNING_PUBLIC_TEXT_LEN]);
int signing_public_from_text(const char *s, SigningPublicKey *ret);
/* A short, stable name for a public key (what the bus shows as SigningKey). */
void signing_fingerprint(const SigningPublicKey *k, char out[static SIGNING_FINGERPRINT_LEN]);

/* Detached signatures over context || message. -ENOMEM is the only failure. */
int signing_sign(const SigningKey *k, const char *context, const void *msg, size_t len,
                  uint8_t sig[static SIGNATURE_LEN]);
/* 0, or -EBADMSG when sig is not key's signature over context || message. */
int signing_verify(const SigningPublicKey *k, const char *context, const void *msg, size_t len,
                   const uint8_t sig[static SIGNATURE_LEN]);

/* base64url without padding, strict: exactly len bytes must decode. */
int base64url_decode_exact(const char *s, size_t s_len, void *out, size_t len);
size_t base64url_encoded_len(size_t len);   /* without the NUL */
void base64url_encode(const void *in, size_t len, char *out, size_t out_size);
