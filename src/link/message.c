/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "json-fields.h"
#include "json-util.h"
#include "macro.h"
#include "message.h"
#include "cidr.h"
#include "keys.h"
#include "names.h"
#include "strv.h"

static const char *const type_names[_LINK_MESSAGE_TYPE_MAX] = {
        [LINK_MESSAGE_SHARED] = "shared",
        [LINK_MESSAGE_IDENTITY] = "identity",
        [LINK_MESSAGE_UNLINK] = "unlink",
        [LINK_MESSAGE_EXIT] = "exit",
        [LINK_MESSAGE_EXIT_KEY] = "exit-key",
};

const char *link_message_type_to_string(LinkMessageType t) {
        return t >= 0 && t < _LINK_MESSAGE_TYPE_MAX ? type_names[t] : NULL;
}

void link_message_done(LinkMessage *m) {
        strv_free(m->services);
        cell_identity_done(&m->cell);
        *m = (LinkMessage) {};
}

static cJSON *body_json(const LinkMessage *m) {
        cJSON *body = cJSON_CreateObject();
        if (!body)
                return NULL;
        if (m->type == LINK_MESSAGE_SHARED) {
                cJSON *a = cJSON_AddArrayToObject(body, "services");
                for (char **s = m->services; a && s && *s; s++)
                        if (!cJSON_AddItemToArray(a, cJSON_CreateString(*s)))
                                a = NULL;
                if (!a) {
                        cJSON_Delete(body);
                        return NULL;
                }
        } else if (m->type == LINK_MESSAGE_IDENTITY) {
                cJSON *cell = cell_identity_to_json(&m->cell);
                if (!cell || !cJSON_AddItemToObject(body, "cell", cell)) {
                        cJSON_Delete(cell);
                        cJSON_Delete(body);
                        return NULL;
                }
        } else if (m->type == LINK_MESSAGE_EXIT) {
                if (!cJSON_AddBoolToObject(body, "offered", m->exit_offered) ||
                    !cJSON_AddStringToObject(body, "address", m->exit_address)) {
                        cJSON_Delete(body);
                        return NULL;
                }
        } else if (m->type == LINK_MESSAGE_EXIT_KEY) {
                if (!cJSON_AddStringToObject(body, "public_key", m->exit_key)) {
                        cJSON_Delete(body);
                        return NULL;
                }
        }
        return body;
}

int link_message_encode(const LinkMessage *m, const SigningKey *key, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        char fingerprint[SIGNING_FINGERPRINT_LEN];
        const char *type = link_message_type_to_string(m->type);

        signing_fingerprint(&key->public, fingerprint);
        if (!type || !streq(fingerprint, m->from))
                return -EINVAL;
        cJSON *body = body_json(m);
        if (!o || !body || !cJSON_AddItemToObject(o, "body", body)) {
                cJSON_Delete(body);
                return -ENOMEM;
        }
        if (!cJSON_AddNumberToObject(o, "v", 1) || !cJSON_AddStringToObject(o, "from", m->from) ||
            !cJSON_AddStringToObject(o, "to", m->to) || !cJSON_AddNumberToObject(o, "counter", (double) m->counter) ||
            !cJSON_AddStringToObject(o, "type", type))
                return -ENOMEM;
        _cleanup_(freep) char *payload = cJSON_PrintUnformatted(o);
        if (!payload)
                return -ENOMEM;
        if (strlen(payload) > LINK_MESSAGE_PAYLOAD_MAX)
                return -E2BIG;
        return envelope_seal(LINK_MESSAGE_PREFIX, LINK_MESSAGE_CONTEXT, key, NULL, payload, strlen(payload), ret);
}

enum { F_V, F_FROM, F_TO, F_COUNTER, F_TYPE, F_BODY, _F_MAX };
static const JsonField message_fields[_F_MAX] = {
        { "v", JSON_COUNT }, { "from", JSON_STRING }, { "to", JSON_STRING }, { "counter", JSON_COUNT },
        { "type", JSON_STRING }, { "body", JSON_OBJECT },
};

/* A service name as a linked cell may send it: a DNS label (whether it is a
 * service this cell knows is the daemon's to say). */
static int read_services(const cJSON *body, LinkMessage *m, char *buf, size_t size) {
        static const JsonField fields[] = { { "services", JSON_STRINGS } };
        const cJSON *f[1];
        int r = json_collect_fields(body, fields, 1, f, "The message: body", buf, size);
        if (r < 0)
                return r;
        if (cJSON_GetArraySize(f[0]) > LINK_MESSAGE_SERVICES_MAX)
                return json_refuse(buf, size, "The message: body: more than %d services.", LINK_MESSAGE_SERVICES_MAX);
        const cJSON *e;
        cJSON_ArrayForEach(e, f[0])
                if (!dns_label_is_valid(e->valuestring) || strlen(e->valuestring) > 32)
                        return json_refuse(buf, size, "The message: body: '%.*s' is not a service name.",
                                           utf8_prefix_len(e->valuestring, 32), e->valuestring);
        return json_strings(f[0], &m->services);
}

static int read_exit(const cJSON *body, LinkMessage *m, char *buf, size_t size) {
        static const JsonField fields[] = { { "offered", JSON_BOOL }, { "address", JSON_STRING } };
        const cJSON *f[2];
        uint32_t addr;
        int r = json_collect_fields(body, fields, 2, f, "The message: body", buf, size);
        if (r < 0)
                return r;
        const char *a = f[1]->valuestring;
        if (*a && (strlen(a) >= sizeof m->exit_address || ipv4_parse(a, &addr) < 0))
                return json_refuse(buf, size, "The message: body: address '%.*s' is not an IPv4 address.",
                                   utf8_prefix_len(a, 32), a);
        if (*a && !cJSON_IsTrue(f[0]))
                return json_refuse(buf, size, "The message: body: an address for an exit that is not offered.");
        m->exit_offered = cJSON_IsTrue(f[0]);
        snprintf(m->exit_address, sizeof m->exit_address, "%s", a);
        return 0;
}

static int read_exit_key(const cJSON *body, LinkMessage *m, char *buf, size_t size) {
        static const JsonField fields[] = { { "public_key", JSON_STRING } };
        const cJSON *f[1];
        uint8_t key[32];
        int r = json_collect_fields(body, fields, 1, f, "The message: body", buf, size);
        if (r < 0)
                return r;
        if (strlen(f[0]->valuestring) != sizeof m->exit_key - 1 || key_from_base64(f[0]->valuestring, key) < 0 ||
            key_is_weak_public(key))
                return json_refuse(buf, size, "The message: body: public_key is not a WireGuard public key.");
        snprintf(m->exit_key, sizeof m->exit_key, "%s", f[0]->valuestring);
        return 0;
}

int link_message_decode(const char *text, LinkMessageKeyLookup lookup, void *userdata, const char *own,
                        LinkMessage *ret, char *buf, size_t size) {
        _cleanup_(envelope_done) Envelope e = {};
        _cleanup_(cjson_deletep) cJSON *o = NULL;
        const cJSON *f[_F_MAX];
        LinkMessage m = {};
        int r;

        r = envelope_open(text, LINK_MESSAGE_TEXT_MAX, LINK_MESSAGE_PAYLOAD_MAX, LINK_MESSAGE_PREFIX, false,
                          "The message", &e, buf, size);
        if (r < 0)
                return r;
        o = json_parse_exact(e.payload, e.payload_len);
        r = json_collect_fields(o, message_fields, _F_MAX, f, "The message", buf, size);
        if (r < 0)
                return r;
        if (json_count(f[F_V]) != 1)
                return json_refuse(buf, size, "The message is of a version this PIC does not know.");
        if (strlen(f[F_FROM]->valuestring) != SIGNING_FINGERPRINT_LEN - 1 ||
            strlen(f[F_TO]->valuestring) != SIGNING_FINGERPRINT_LEN - 1)
                return json_refuse(buf, size, "The message: 'from' and 'to' must be key fingerprints.");
        const SigningPublicKey *key = lookup(f[F_FROM]->valuestring, userdata);
        if (!key) {
                snprintf(buf, size, "The message comes from a cell this one is not linked with.");
                return -ENOENT;
        }
        if (envelope_verify(&e, LINK_MESSAGE_CONTEXT, key) < 0) {
                snprintf(buf, size, "The message's signature does not match the sender's pinned key.");
                return -EBADMSG;
        }
        if (!streq(f[F_TO]->valuestring, own))
                return json_refuse(buf, size, "The message is for another cell.");

        size_t t;
        for (t = 0; t < _LINK_MESSAGE_TYPE_MAX; t++)
                if (streq(f[F_TYPE]->valuestring, type_names[t]))
                        break;
        if (t == _LINK_MESSAGE_TYPE_MAX)
                return json_refuse(buf, size, "The message's type '%.*s' is not one this PIC knows.",
                                   utf8_prefix_len(f[F_TYPE]->valuestring, 32), f[F_TYPE]->valuestring);
        m.type = (LinkMessageType) t;
        m.counter = json_count(f[F_COUNTER]);
        snprintf(m.from, sizeof m.from, "%s", f[F_FROM]->valuestring);
        snprintf(m.to, sizeof m.to, "%s", f[F_TO]->valuestring);
        if (m.type == LINK_MESSAGE_SHARED)
                r = read_services(f[F_BODY], &m, buf, size);
        else if (m.type == LINK_MESSAGE_IDENTITY) {
                static const JsonField fields[] = { { "cell", JSON_OBJECT } };
                const cJSON *cell[1];
                r = json_collect_fields(f[F_BODY], fields, 1, cell, "The message: body", buf, size);
                if (r >= 0)
                        r = cell_identity_from_json(cell[0], "The message: body: cell", &m.cell, buf, size);
        } else if (m.type == LINK_MESSAGE_EXIT)
                r = read_exit(f[F_BODY], &m, buf, size);
        else if (m.type == LINK_MESSAGE_EXIT_KEY)
                r = read_exit_key(f[F_BODY], &m, buf, size);
        else if (cJSON_GetArraySize(f[F_BODY]) != 0)
                r = json_refuse(buf, size, "The message: body: an unlink carries nothing.");
        if (r < 0) {
                link_message_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}
