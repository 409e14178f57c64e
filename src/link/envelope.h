/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one wire form of everything cells sign (PROTOCOL.md):
 *
 *   <prefix><base64url(payload)>.<base64url(signature)>[.<base64url(mac)>]
 *
 * The signature covers a context string followed by the payload's bytes; the
 * MAC (pairing requests only) is BLAKE2b keyed with a key both sides derive
 * from an invite's secret, over the same. Opening bounds and splits the text
 * and decodes the parts; the caller verifies with the key it trusts (often one
 * named inside the payload, so it parses that first). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signing.h"

#define ENVELOPE_MAC_LEN 32

typedef struct Envelope {
        char *payload;   /* NUL-terminated (and free of NULs inside) */
        size_t payload_len;
        uint8_t signature[SIGNATURE_LEN];
        uint8_t mac[ENVELOPE_MAC_LEN];
        bool has_mac;
} Envelope;

void envelope_done(Envelope *e);

/* mac_key NULL: no MAC part. */
int envelope_seal(const char *prefix, const char *context, const SigningKey *key, const uint8_t *mac_key,
                  const char *payload, size_t len, char **ret);

/* -EINVAL with a message for a person (@what names the thing: "The invite")
 * when text is not such an envelope of at most max_payload payload bytes. */
int envelope_open(const char *text, size_t max_text, size_t max_payload, const char *prefix, bool with_mac,
                  const char *what, Envelope *ret, char *buf, size_t size);

/* 0, or -EBADMSG. */
int envelope_verify(const Envelope *e, const char *context, const SigningPublicKey *key);
int envelope_verify_mac(const Envelope *e, const char *context, const uint8_t key[static ENVELOPE_MAC_LEN]);
