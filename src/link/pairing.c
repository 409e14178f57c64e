/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "json-fields.h"
#include "json-util.h"
#include "macro.h"
#include "pairing.h"

void pairing_message_done(PairingMessage *m) {
        cell_identity_done(&m->cell);
        *m = (PairingMessage) {};
}

static int payload_text(const PairingMessage *m, bool answer, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        cJSON *cell = cell_identity_to_json(&m->cell);

        if (!o || !cell || !cJSON_AddItemToObject(o, "cell", cell)) {
                cJSON_Delete(cell);
                return -ENOMEM;
        }
        if (!cJSON_AddNumberToObject(o, "v", 1) || !cJSON_AddStringToObject(o, "invite", m->invite_id) ||
            !cJSON_AddNumberToObject(o, "counter", (double) m->counter) ||
            (answer && !cJSON_AddStringToObject(o, "peer", m->peer)))
                return -ENOMEM;
        *ret = cJSON_PrintUnformatted(o);
        return *ret ? 0 : -ENOMEM;
}

int pairing_request_encode(const PairingMessage *m, const SigningKey *key, const uint8_t pairing_key[static PAIRING_KEY_LEN],
                           char **ret) {
        _cleanup_(freep) char *payload = NULL;
        if (memcmp(key->public.bytes, m->cell.signing_key.bytes, SIGNING_PUBLIC_LEN) != 0)
                return -EINVAL;
        int r = payload_text(m, false, &payload);
        if (r < 0)
                return r;
        return envelope_seal(PAIRING_REQUEST_PREFIX, PAIRING_REQUEST_CONTEXT, key, pairing_key, payload,
                             strlen(payload), ret);
}

int pairing_answer_encode(const PairingMessage *m, const SigningKey *key, char **ret) {
        _cleanup_(freep) char *payload = NULL;
        if (memcmp(key->public.bytes, m->cell.signing_key.bytes, SIGNING_PUBLIC_LEN) != 0)
                return -EINVAL;
        int r = payload_text(m, true, &payload);
        if (r < 0)
                return r;
        return envelope_seal(PAIRING_ANSWER_PREFIX, PAIRING_ANSWER_CONTEXT, key, NULL, payload, strlen(payload), ret);
}

enum { F_V, F_INVITE, F_CELL, F_COUNTER, F_PEER, _F_MAX };
static const JsonField message_fields[_F_MAX] = {
        { "v", JSON_COUNT }, { "invite", JSON_STRING }, { "cell", JSON_OBJECT }, { "counter", JSON_COUNT },
        { "peer", JSON_STRING },
};

/* The payload's fields (the answer's has "peer" too) and the key its cell names. */
static int read_payload(const Envelope *e, bool answer, const char *what, cJSON **ret_o, const cJSON **f,
                        SigningPublicKey *ret_key, char *buf, size_t size) {
        _cleanup_(cjson_deletep) cJSON *o = json_parse_exact(e->payload, e->payload_len);
        uint8_t id[INVITE_ID_LEN];

        int r = json_collect_fields(o, message_fields, answer ? _F_MAX : F_PEER, f, what, buf, size);
        if (r < 0)
                return r;
        if (json_count(f[F_V]) != 1)
                return json_refuse(buf, size, "%s is of a version this PIC does not know (made by a newer one?).", what);
        if (invite_id_from_text(f[F_INVITE]->valuestring, id) < 0)
                return json_refuse(buf, size, "%s: field 'invite' is not an invite id.", what);
        const cJSON *sign = cJSON_GetObjectItemCaseSensitive(f[F_CELL], "sign");
        if (!cJSON_IsString(sign) || signing_public_from_text(sign->valuestring, ret_key) < 0)
                return json_refuse(buf, size, "%s: cell: field 'sign' is not an Ed25519 public key.", what);
        *ret_o = TAKE_PTR(o);
        return 0;
}

/* The fields' meaning, once the signatures held. */
static int finish(const cJSON *const *f, bool answer, const char *what, PairingMessage *ret, char *buf, size_t size) {
        PairingMessage m = { .counter = json_count(f[F_COUNTER]) };
        char cell_what[64];

        snprintf(cell_what, sizeof cell_what, "%s: cell", what);
        int r = cell_identity_from_json(f[F_CELL], cell_what, &m.cell, buf, size);
        if (r < 0)
                return r;
        snprintf(m.invite_id, sizeof m.invite_id, "%s", f[F_INVITE]->valuestring);
        if (answer)
                snprintf(m.peer, sizeof m.peer, "%s", f[F_PEER]->valuestring);
        *ret = m;
        return 0;
}

int pairing_request_decode(const char *text, PairingKeyLookup lookup, void *userdata, PairingMessage *ret,
                           char *buf, size_t size) {
        _cleanup_(envelope_done) Envelope e = {};
        _cleanup_(cjson_deletep) cJSON *o = NULL;
        const cJSON *f[_F_MAX] = {};
        SigningPublicKey key;

        int r = envelope_open(text, PAIRING_TEXT_MAX, PAIRING_PAYLOAD_MAX, PAIRING_REQUEST_PREFIX, true,
                              "The pairing request", &e, buf, size);
        if (r >= 0)
                r = read_payload(&e, false, "The pairing request", &o, f, &key, buf, size);
        if (r < 0)
                return r;
        const uint8_t *pairing_key = lookup(f[F_INVITE]->valuestring, userdata);
        if (!pairing_key) {
                snprintf(buf, size, "No open invite %s: it was used, revoked or has expired.",
                         f[F_INVITE]->valuestring);
                return -ENOENT;
        }
        if (envelope_verify_mac(&e, PAIRING_REQUEST_CONTEXT, pairing_key) < 0) {
                snprintf(buf, size, "The pairing request was not made with invite %s's secret.",
                         f[F_INVITE]->valuestring);
                return -EBADMSG;
        }
        if (envelope_verify(&e, PAIRING_REQUEST_CONTEXT, &key) < 0) {
                snprintf(buf, size, "The pairing request's signature does not match the key it names.");
                return -EBADMSG;
        }
        return finish(f, false, "The pairing request", ret, buf, size);
}

int pairing_answer_decode(const char *text, const SigningPublicKey *pinned, const char *invite_id,
                          const SigningPublicKey *requester, PairingMessage *ret, char *buf, size_t size) {
        _cleanup_(envelope_done) Envelope e = {};
        _cleanup_(cjson_deletep) cJSON *o = NULL;
        const cJSON *f[_F_MAX] = {};
        char fingerprint[SIGNING_FINGERPRINT_LEN];
        SigningPublicKey key;

        int r = envelope_open(text, PAIRING_TEXT_MAX, PAIRING_PAYLOAD_MAX, PAIRING_ANSWER_PREFIX, false,
                              "The pairing answer", &e, buf, size);
        if (r >= 0)
                r = read_payload(&e, true, "The pairing answer", &o, f, &key, buf, size);
        if (r < 0)
                return r;
        /* only the key the invite pinned may answer, and it may not change it */
        if (envelope_verify(&e, PAIRING_ANSWER_CONTEXT, pinned) < 0) {
                snprintf(buf, size, "The pairing answer is not signed by the key the invite named.");
                return -EBADMSG;
        }
        if (memcmp(key.bytes, pinned->bytes, SIGNING_PUBLIC_LEN) != 0)
                return json_refuse(buf, size, "The pairing answer names another signing key than the invite.");
        signing_fingerprint(requester, fingerprint);
        if (!streq(f[F_INVITE]->valuestring, invite_id) || !streq(f[F_PEER]->valuestring, fingerprint))
                return json_refuse(buf, size, "The pairing answer is for another request.");
        return finish(f, true, "The pairing answer", ret, buf, size);
}
