/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "invite.h"
#include "json-fields.h"
#include "json-util.h"
#include "macro.h"

void invite_done(Invite *i) {
        cell_identity_done(&i->cell);
        explicit_bzero(i->secret, sizeof i->secret);
        *i = (Invite) {};
}

void invite_id_to_text(const uint8_t id[static INVITE_ID_LEN], char out[static INVITE_ID_TEXT_LEN]) {
        base64url_encode(id, INVITE_ID_LEN, out, INVITE_ID_TEXT_LEN);
}

int invite_id_from_text(const char *s, uint8_t ret[static INVITE_ID_LEN]) {
        return base64url_decode_exact(s, strnlen(s, INVITE_ID_TEXT_LEN), ret, INVITE_ID_LEN);
}

static cJSON *add_b64(cJSON *o, const char *key, const void *data, size_t len) {
        char buf[128];
        base64url_encode(data, len, buf, sizeof buf);
        cJSON *item = cJSON_AddStringToObject(o, key, buf);
        explicit_bzero(buf, sizeof buf);
        return item;
}

int invite_encode(const Invite *i, const SigningKey *key, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        cJSON *cell = cell_identity_to_json(&i->cell);

        if (memcmp(key->public.bytes, i->cell.signing_key.bytes, SIGNING_PUBLIC_LEN) != 0) {
                cJSON_Delete(cell);
                return -EINVAL;
        }
        if (!o || !cell || !cJSON_AddItemToObject(o, "cell", cell)) {
                cJSON_Delete(cell);
                return -ENOMEM;
        }
        if (!cJSON_AddNumberToObject(o, "v", 1) || !add_b64(o, "id", i->id, sizeof i->id) ||
            !add_b64(o, "secret", i->secret, sizeof i->secret) ||
            !cJSON_AddNumberToObject(o, "expires", (double) i->expires))
                return -ENOMEM;

        _cleanup_(erase_and_freep) char *payload = cJSON_PrintUnformatted(o);
        cJSON_Delete(TAKE_PTR(o)); /* it holds the secret too */
        if (!payload)
                return -ENOMEM;
        if (strlen(payload) > INVITE_PAYLOAD_MAX)
                return -E2BIG;
        return envelope_seal(INVITE_PREFIX, INVITE_SIGNING_CONTEXT, key, NULL, payload, strlen(payload), ret);
}

enum { F_V, F_CELL, F_ID, F_SECRET, F_EXPIRES, _F_MAX };
static const JsonField invite_fields[_F_MAX] = {
        { "v", JSON_COUNT }, { "cell", JSON_OBJECT }, { "id", JSON_STRING }, { "secret", JSON_STRING },
        { "expires", JSON_COUNT },
};

int invite_decode(const char *text, Invite *ret, char *buf, size_t size) {
        _cleanup_(envelope_done) Envelope e = {};
        _cleanup_(cjson_deletep) cJSON *o = NULL;
        const cJSON *f[_F_MAX];
        Invite i = {};
        int r;

        if (strncmp(text, "pic-invite", strlen("pic-invite")) == 0 && strncmp(text, INVITE_PREFIX, strlen(INVITE_PREFIX)) != 0)
                return json_refuse(buf, size, "The invite is of a version this PIC does not know (made by a newer one?).");
        r = envelope_open(text, INVITE_TEXT_MAX, INVITE_PAYLOAD_MAX, INVITE_PREFIX, false, "The invite", &e, buf, size);
        if (r < 0)
                return r;
        o = json_parse_exact(e.payload, e.payload_len);
        r = json_collect_fields(o, invite_fields, _F_MAX, f, "Invite", buf, size);
        if (r < 0)
                return r;
        if (json_count(f[F_V]) != 1)
                return json_refuse(buf, size, "The invite is of a version this PIC does not know (made by a newer one?).");
        /* the key it names must have signed it; only then does any field's meaning count */
        const cJSON *sign = cJSON_GetObjectItemCaseSensitive(f[F_CELL], "sign");
        SigningPublicKey key;
        if (!cJSON_IsString(sign) || signing_public_from_text(sign->valuestring, &key) < 0)
                return json_refuse(buf, size, "Invite: cell: field 'sign' is not an Ed25519 public key.");
        r = envelope_verify(&e, INVITE_SIGNING_CONTEXT, &key);
        if (r == -EBADMSG) {
                snprintf(buf, size, "The invite's signature does not match: it was changed after it was made.");
                return r;
        }
        if (r < 0)
                return r;
        r = cell_identity_from_json(f[F_CELL], "Invite: cell", &i.cell, buf, size);
        if (r < 0)
                return r;
        if (invite_id_from_text(f[F_ID]->valuestring, i.id) < 0)
                r = json_refuse(buf, size, "Invite: field 'id' is not %d bytes of base64url.", INVITE_ID_LEN);
        else if (base64url_decode_exact(f[F_SECRET]->valuestring, strlen(f[F_SECRET]->valuestring), i.secret,
                                        sizeof i.secret) < 0)
                r = json_refuse(buf, size, "Invite: field 'secret' is not %d bytes of base64url.", INVITE_SECRET_LEN);
        else if (json_count(f[F_EXPIRES]) == 0)
                r = json_refuse(buf, size, "Invite: field 'expires' is not a time in seconds.");
        if (r < 0) {
                invite_done(&i);
                return r;
        }
        i.expires = json_count(f[F_EXPIRES]);
        *ret = i;
        return 0;
}
