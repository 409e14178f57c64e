/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pairing (PROTOCOL.md): the request a cell sends to the cell that invited
 * it, and the answer. Both are envelopes (envelope.h):
 *
 *   request  pic-pair1.<payload>.<signature>.<mac>   signed by the requester's
 *            key, MAC'd with the invite's pairing key (invites.h)
 *   answer   pic-paired1.<payload>.<signature>       signed by the key the
 *            invite pinned
 *
 * payload: {"v":1, "invite": ID, "cell": identity, "counter": N} and, in the
 * answer, "peer": the requester's key fingerprint (whom it answers). */

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "invite.h"

#define PAIRING_REQUEST_PREFIX "pic-pair1."
#define PAIRING_ANSWER_PREFIX "pic-paired1."
#define PAIRING_REQUEST_CONTEXT "pic pair v1\n"
#define PAIRING_ANSWER_CONTEXT "pic paired v1\n"
#define PAIRING_TEXT_MAX 4096
#define PAIRING_PAYLOAD_MAX 2048
#define PAIRING_KEY_LEN 32

typedef struct PairingMessage {
        char invite_id[INVITE_ID_TEXT_LEN];
        CellIdentity cell;     /* the sender */
        uint64_t counter;      /* the sender's first message counter */
        char peer[SIGNING_FINGERPRINT_LEN]; /* answers only: the requester's key fingerprint */
} PairingMessage;

void pairing_message_done(PairingMessage *m);

/* m->cell.signing_key must be key's public half. */
int pairing_request_encode(const PairingMessage *m, const SigningKey *key, const uint8_t pairing_key[static PAIRING_KEY_LEN],
                           char **ret);

/* Finds the pairing key of an open invite; NULL when there is none (unknown,
 * used, revoked or expired). Must not consume it. */
typedef const uint8_t *(*PairingKeyLookup)(const char *invite_id, void *userdata);

/* Opens a request: bounds, parses, looks the invite up, checks the MAC (made
 * with that invite) and the signature (by the key the request names), then
 * every field. -ENOENT: no such open invite. -EBADMSG: MAC or signature wrong.
 * -EINVAL: malformed. Each with a message in buf. */
int pairing_request_decode(const char *text, PairingKeyLookup lookup, void *userdata, PairingMessage *ret,
                           char *buf, size_t size);

int pairing_answer_encode(const PairingMessage *m, const SigningKey *key, char **ret);
/* Opens an answer: signed by @pinned (the inviter's key, from its invite),
 * for @invite_id, answering @requester. */
int pairing_answer_decode(const char *text, const SigningPublicKey *pinned, const char *invite_id,
                          const SigningPublicKey *requester, PairingMessage *ret, char *buf, size_t size);
