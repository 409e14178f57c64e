/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Messages between linked cells after pairing (PROTOCOL.md "Messages"):
 *
 *   pic-msg1.<payload>.<signature>
 *   payload: {"v": 1, "from": sender's key fingerprint, "to": receiver's,
 *             "counter": N, "type": T, "body": {…}}
 *
 * signed with the sender's key (the one the receiver pinned at pairing), over
 * LINK_MESSAGE_CONTEXT and the payload. Types and their bodies:
 *   "shared"   {"services": [name, …]}   what the sender shares with the receiver
 *   "identity" {"cell": identity}        the sender's new identity (healing)
 *   "unlink"   {}                        the sender removed the link
 *   "exit"     {"offered": b, "address": a}  whether the sender offers its uplink as the
 *                                        receiver's exit, and the address in the sender's
 *                                        subnet its exit tunnel uses ("" until it has a key)
 *   "exit-key" {"public_key": k}         the receiver of an offer: its exit tunnel's key
 * Whether the counter is new is the receiver's to check (it keeps the last). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "signing.h"

#define LINK_MESSAGE_PREFIX "pic-msg1."
#define LINK_MESSAGE_CONTEXT "pic message v1\n"
#define LINK_MESSAGE_TEXT_MAX 4096
#define LINK_MESSAGE_PAYLOAD_MAX 2048
#define LINK_MESSAGE_SERVICES_MAX 16

typedef enum LinkMessageType {
        LINK_MESSAGE_SHARED,
        LINK_MESSAGE_IDENTITY,
        LINK_MESSAGE_UNLINK,
        LINK_MESSAGE_EXIT,
        LINK_MESSAGE_EXIT_KEY,
        _LINK_MESSAGE_TYPE_MAX,
} LinkMessageType;

typedef struct LinkMessage {
        char from[SIGNING_FINGERPRINT_LEN], to[SIGNING_FINGERPRINT_LEN];
        uint64_t counter;
        LinkMessageType type;
        char **services;   /* LINK_MESSAGE_SHARED */
        CellIdentity cell; /* LINK_MESSAGE_IDENTITY */
        bool exit_offered; /* LINK_MESSAGE_EXIT */
        char exit_address[20]; /* LINK_MESSAGE_EXIT: "a.b.c.d" or "" */
        char exit_key[45];  /* LINK_MESSAGE_EXIT_KEY: base64 */
} LinkMessage;

void link_message_done(LinkMessage *m);
const char *link_message_type_to_string(LinkMessageType t);

/* m->from must be key's fingerprint. */
int link_message_encode(const LinkMessage *m, const SigningKey *key, char **ret);

/* The pinned key of the linked cell whose key has this fingerprint; NULL: none. */
typedef const SigningPublicKey *(*LinkMessageKeyLookup)(const char *from, void *userdata);

/* Opens a message for this cell (@own: its key's fingerprint): bounds, parses,
 * finds the sender, checks the signature, then the body. -ENOENT: no linked
 * cell has that key; -EBADMSG: the signature does not match; -EINVAL:
 * malformed or not for this cell. Each with a message in buf. */
int link_message_decode(const char *text, LinkMessageKeyLookup lookup, void *userdata, const char *own,
                        LinkMessage *ret, char *buf, size_t size);
