/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for everything another cell sends and what this cell keeps of it:
 * invites, pairing requests and answers, signed messages, and link state files.
 *
 * Input: byte 0 picks the parser (mod 5), byte 1 bit 0 the form: 0 = the rest is the text
 * as it arrives; 1 = the rest is a payload, sealed (signed, and MACed for a pairing
 * request) with the fuzzing key that every lookup here trusts, so that mutations reach
 * the field checks behind the signature instead of dying at it.
 *
 * PIC_FUZZ_SEEDS=DIR: writes a valid input of each kind and form to DIR and exits. */

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "invite.h"
#include "link.h"
#include "message.h"
#include "pairing.h"

enum { KIND_INVITE, KIND_PAIR_REQUEST, KIND_PAIR_ANSWER, KIND_MESSAGE, KIND_LINK_FILE, _KIND_MAX };

static const struct {
        const char *name, *prefix, *context;
} kinds[_KIND_MAX] = {
        [KIND_INVITE] = { "invite", INVITE_PREFIX, INVITE_SIGNING_CONTEXT },
        [KIND_PAIR_REQUEST] = { "pair-request", PAIRING_REQUEST_PREFIX, PAIRING_REQUEST_CONTEXT },
        [KIND_PAIR_ANSWER] = { "pair-answer", PAIRING_ANSWER_PREFIX, PAIRING_ANSWER_CONTEXT },
        [KIND_MESSAGE] = { "message", LINK_MESSAGE_PREFIX, LINK_MESSAGE_CONTEXT },
        [KIND_LINK_FILE] = { "link-file", NULL, NULL },
};

static SigningKey key;                      /* the fuzzing key: every lookup trusts it */
static uint8_t mac_key[PAIRING_KEY_LEN];
static char own[SIGNING_FINGERPRINT_LEN];   /* messages are "to" this */
static char invite_id[INVITE_ID_TEXT_LEN];

static const SigningPublicKey *any_sender(const char *from, void *userdata) {
        return &key.public;
}

static const uint8_t *any_invite(const char *id, void *userdata) {
        return mac_key;
}

static void parse(unsigned kind, const char *text) {
        char why[256];
        switch (kind) {
        case KIND_INVITE: {
                Invite i = {};
                if (invite_decode(text, &i, why, sizeof why) >= 0)
                        invite_done(&i);
                break;
        }
        case KIND_PAIR_REQUEST: {
                PairingMessage m = {};
                if (pairing_request_decode(text, any_invite, NULL, &m, why, sizeof why) >= 0)
                        pairing_message_done(&m);
                break;
        }
        case KIND_PAIR_ANSWER: {
                PairingMessage m = {};
                if (pairing_answer_decode(text, &key.public, invite_id, &key.public, &m, why, sizeof why) >= 0)
                        pairing_message_done(&m);
                break;
        }
        case KIND_MESSAGE: {
                LinkMessage m = {};
                if (link_message_decode(text, any_sender, NULL, own, &m, why, sizeof why) >= 0)
                        link_message_done(&m);
                break;
        }
        case KIND_LINK_FILE: {
                Link *l = NULL;
                if (link_from_json(text, &l, why, sizeof why) >= 0)
                        link_free(l);
                break;
        }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2 || size > 16384)
                return 0;
        unsigned kind = data[0] % _KIND_MAX;
        bool sealed = data[1] & 1 && kinds[kind].prefix;
        char *text = NULL;

        if (sealed) {
                /* a payload is a C string on the wire: it holds no NUL */
                if (memchr(data + 2, 0, size - 2) ||
                    envelope_seal(kinds[kind].prefix, kinds[kind].context, &key,
                                  kind == KIND_PAIR_REQUEST ? mac_key : NULL, (const char *) data + 2, size - 2,
                                  &text) < 0)
                        return 0;
        } else {
                text = strndup((const char *) data + 2, size - 2); /* as a bus string: up to a NUL */
                if (!text)
                        return 0;
        }
        parse(kind, text);
        free(text);
        return 0;
}

/* --- seeds: one valid input of each kind, as text and as a payload to seal --- */

static void write_seed(const char *dir, unsigned kind, const char *variant, bool sealed, const char *body,
                       size_t len) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-%s-%s", dir, kinds[kind].name, variant, sealed ? "payload" : "text");
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        uint8_t head[2] = { (uint8_t) kind, sealed };
        if (fd < 0 || write(fd, head, 2) != 2 || write(fd, body, len) != (ssize_t) len) {
                perror(path);
                exit(1);
        }
        close(fd);
}

/* text as both forms: itself, and its payload (the part between the prefix and the first '.'). */
static void write_seeds(const char *dir, unsigned kind, const char *variant, const char *text) {
        write_seed(dir, kind, variant, false, text, strlen(text));
        if (!kinds[kind].prefix)
                return;
        const char *b64 = text + strlen(kinds[kind].prefix);
        size_t b64_len = strcspn(b64, ".");
        size_t len = b64_len * 3 / 4;
        char *payload = malloc(len + 1);
        if (!payload || base64url_decode_exact(b64, b64_len, payload, len) < 0) {
                fprintf(stderr, "cannot decode the %s seed\n", kinds[kind].name);
                exit(1);
        }
        write_seed(dir, kind, variant, true, payload, len);
        free(payload);
}

/* msg from the fuzzing key to this "cell" */
static void write_message_seeds(const char *dir, const char *variant, LinkMessage *msg) {
        char *text = NULL;
        signing_fingerprint(&key.public, msg->from);
        snprintf(msg->to, sizeof msg->to, "%s", own);
        if (link_message_encode(msg, &key, &text) < 0)
                exit(1);
        write_seeds(dir, KIND_MESSAGE, variant, text);
        free(text);
}

static void make_seeds(const char *dir) {
        char subnet[] = "10.73.0.0/24", dns[] = "10.73.0.1", endpoint[] = "192.0.2.2:51820",
             pairing[] = "192.0.2.2:8283", name[] = "b", domain[] = "b.lan",
             wg[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
        CellIdentity cell = { name, domain, subnet, dns, endpoint, pairing, wg, key.public };
        char *text = NULL;

        Invite inv = { .cell = cell, .expires = 1800000000 };
        memset(inv.id, 7, sizeof inv.id);
        if (invite_encode(&inv, &key, &text) < 0)
                exit(1);
        write_seeds(dir, KIND_INVITE, "valid", text);
        free(text);

        PairingMessage pm = { .cell = cell, .counter = 3 };
        snprintf(pm.invite_id, sizeof pm.invite_id, "%s", invite_id);
        if (pairing_request_encode(&pm, &key, mac_key, &text) < 0)
                exit(1);
        write_seeds(dir, KIND_PAIR_REQUEST, "valid", text);
        free(text);
        signing_fingerprint(&key.public, pm.peer);
        if (pairing_answer_encode(&pm, &key, &text) < 0)
                exit(1);
        write_seeds(dir, KIND_PAIR_ANSWER, "valid", text);
        free(text);

        char *services[] = { "web", "files", NULL };
        write_message_seeds(dir, "shared", &(LinkMessage) { .counter = 9, .type = LINK_MESSAGE_SHARED,
                                                            .services = services });
        write_message_seeds(dir, "identity", &(LinkMessage) { .counter = 10, .type = LINK_MESSAGE_IDENTITY,
                                                              .cell = cell });

        Link *l = NULL;
        if (link_new(&cell, &l) < 0)
                exit(1);
        l->identity_pending = true;
        l->own_pairing = strdup("cell.example.org:8283");
        if (link_to_json(l, &text) < 0)
                exit(1);
        write_seeds(dir, KIND_LINK_FILE, "valid", text);
        free(text);
        link_free(l);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        uint8_t seed[crypto_sign_SEEDBYTES] = { 'p', 'i', 'c', '-', 'f', 'u', 'z', 'z' };
        if (sodium_init() < 0)
                abort();
        crypto_sign_seed_keypair(key.public.bytes, key.secret, seed);
        memset(mac_key, 0x5a, sizeof mac_key);
        signing_fingerprint(&key.public, own);
        uint8_t id[INVITE_ID_LEN] = { 1, 2, 3 };
        invite_id_to_text(id, invite_id);
        const char *dir = getenv("PIC_FUZZ_SEEDS");
        if (dir) {
                make_seeds(dir);
                exit(0);
        }
        return 0;
}
