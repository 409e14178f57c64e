/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A cell's invite to link with it: who it is (name, domain, keys, addresses),
 * a one-time id and secret, and an expiry, signed with its Ed25519 key.
 *
 *   pic-invite1.<base64url(payload)>.<base64url(signature)>
 *
 * The payload is a JSON object: "v", "cell" (identity.h), "id", "secret",
 * "expires" (envelope.h is the wire form; the signature covers
 * INVITE_SIGNING_CONTEXT followed by the payload, so it can never be taken for
 * a signature over another kind of message).
 * src/link/PROTOCOL.md describes the whole protocol. No bus code, no I/O here. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "signing.h"

#define INVITE_PREFIX "pic-invite1."
#define INVITE_SIGNING_CONTEXT "pic invite v1\n"
#define INVITE_TEXT_MAX 2048    /* refused before any decoding beyond this */
#define INVITE_PAYLOAD_MAX 1400
#define INVITE_ID_LEN 16
#define INVITE_SECRET_LEN 32
#define INVITE_ID_TEXT_LEN 23   /* base64url of 16 bytes, plus NUL */
#define INVITE_LIFETIME_DEFAULT_SEC (24ULL * 3600)
#define INVITE_LIFETIME_MAX_SEC (7ULL * 24 * 3600)

typedef struct Invite {
        CellIdentity cell;  /* the inviting cell; cell.signing_key signed the invite */
        uint8_t id[INVITE_ID_LEN];
        uint8_t secret[INVITE_SECRET_LEN];
        uint64_t expires;   /* seconds since the epoch (CLOCK_REALTIME) */
} Invite;

void invite_done(Invite *i);

/* The invite as text, signed with key (whose public half must be i->cell.signing_key). */
int invite_encode(const Invite *i, const SigningKey *key, char **ret);

/* Parses and verifies text. Refuses (never repairs) anything malformed, with
 * -EINVAL and a message for a person in error_buf: which part or field, why.
 * -EBADMSG: the signature does not match (the invite was changed). Expiry is
 * the caller's to check (it knows the time). */
int invite_decode(const char *text, Invite *ret, char *error_buf, size_t size);

/* The id as text (base64url), as lists and file names carry it. */
void invite_id_to_text(const uint8_t id[static INVITE_ID_LEN], char out[static INVITE_ID_TEXT_LEN]);
int invite_id_from_text(const char *s, uint8_t ret[static INVITE_ID_LEN]);
