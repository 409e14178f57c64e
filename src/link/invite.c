/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "invite.h"
#include "json-util.h"
#include "keys.h"
#include "macro.h"
#include "names.h"

void invite_done(Invite *i) {
        free(i->name);
        free(i->domain);
        free(i->vpn_subnet);
        free(i->dns_address);
        free(i->endpoint);
        free(i->pairing);
        free(i->wg_public_key);
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
        return cJSON_AddStringToObject(o, key, buf);
}

int invite_encode(const Invite *i, const SigningKey *key, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        char sign[SIGNING_PUBLIC_TEXT_LEN];
        uint8_t sig[SIGNATURE_LEN];

        if (memcmp(key->public.bytes, i->signing_key.bytes, SIGNING_PUBLIC_LEN) != 0)
                return -EINVAL;
        signing_public_to_text(&i->signing_key, sign);
        if (!o || !cJSON_AddNumberToObject(o, "v", 1) || !cJSON_AddStringToObject(o, "name", i->name) ||
            !cJSON_AddStringToObject(o, "domain", i->domain) ||
            !cJSON_AddStringToObject(o, "subnet", i->vpn_subnet) ||
            !cJSON_AddStringToObject(o, "dns", i->dns_address) ||
            !cJSON_AddStringToObject(o, "endpoint", i->endpoint) ||
            !cJSON_AddStringToObject(o, "pairing", i->pairing) ||
            !cJSON_AddStringToObject(o, "wg", i->wg_public_key) || !cJSON_AddStringToObject(o, "sign", sign) ||
            !add_b64(o, "id", i->id, sizeof i->id) || !add_b64(o, "secret", i->secret, sizeof i->secret) ||
            !cJSON_AddNumberToObject(o, "expires", (double) i->expires))
                return -ENOMEM;

        _cleanup_(erase_and_freep) char *payload = cJSON_PrintUnformatted(o);
        if (!payload)
                return -ENOMEM;
        size_t n = strlen(payload);
        if (n > INVITE_PAYLOAD_MAX)
                return -E2BIG;
        int r = signing_sign(key, INVITE_SIGNING_CONTEXT, payload, n, sig);
        if (r < 0)
                return r;

        size_t p_len = base64url_encoded_len(n), s_len = base64url_encoded_len(sizeof sig);
        size_t total = strlen(INVITE_PREFIX) + p_len + 1 + s_len + 1;
        char *text = malloc(total);
        if (!text)
                return -ENOMEM;
        strcpy(text, INVITE_PREFIX);
        base64url_encode(payload, n, text + strlen(INVITE_PREFIX), p_len + 1);
        text[strlen(INVITE_PREFIX) + p_len] = '.';
        base64url_encode(sig, sizeof sig, text + strlen(INVITE_PREFIX) + p_len + 1, s_len + 1);
        *ret = text;
        return 0;
}

_printf_(3, 4) static int fail(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* The payload's fields, each exactly once; anything else is refused. */
enum {
        F_V, F_NAME, F_DOMAIN, F_SUBNET, F_DNS, F_ENDPOINT, F_PAIRING, F_WG, F_SIGN, F_ID, F_SECRET, F_EXPIRES,
        _F_MAX
};
static const char *const field_names[_F_MAX] = {
        "v", "name", "domain", "subnet", "dns", "endpoint", "pairing", "wg", "sign", "id", "secret", "expires",
};

static int collect_fields(const cJSON *o, const cJSON *fields[static _F_MAX], char *buf, size_t size) {
        const cJSON *item;

        cJSON_ArrayForEach(item, o) {
                size_t f;
                for (f = 0; f < _F_MAX; f++)
                        if (streq(item->string, field_names[f]))
                                break;
                if (f == _F_MAX)
                        return fail(buf, size, "Invite: unknown field '%.32s' (was it made by a newer PIC?).",
                                    item->string);
                if (fields[f])
                        return fail(buf, size, "Invite: field '%s' is given twice.", field_names[f]);
                if (f == F_V || f == F_EXPIRES ? !cJSON_IsNumber(item) : !cJSON_IsString(item))
                        return fail(buf, size, "Invite: field '%s' must be a %s.", field_names[f],
                                    f == F_V || f == F_EXPIRES ? "number" : "string");
                fields[f] = item;
        }
        for (size_t f = 0; f < _F_MAX; f++)
                if (!fields[f])
                        return fail(buf, size, "Invite: field '%s' is missing.", field_names[f]);
        return 0;
}

static int dup_field(const cJSON *item, char **ret) {
        *ret = strdup(item->valuestring);
        return *ret ? 0 : -ENOMEM;
}

/* Every field's meaning, after the signature matched. */
static int check_fields(const cJSON *const f[static _F_MAX], Invite *i, char *buf, size_t size) {
        Cidr4 subnet;
        uint32_t dns;
        WgKey wg;
        double expires = f[F_EXPIRES]->valuedouble;

        if (!dns_label_is_valid(f[F_NAME]->valuestring))
                return fail(buf, size, "Invite: field 'name' is not a cell name (%s).", DNS_LABEL_DOC);
        if (!dns_domain_is_valid(f[F_DOMAIN]->valuestring))
                return fail(buf, size, "Invite: field 'domain' is not a domain name.");
        if (cidr4_parse(f[F_SUBNET]->valuestring, true, &subnet) < 0 || cidr4_network(&subnet) != subnet.addr ||
            subnet.prefix < 8 || subnet.prefix > 30)
                return fail(buf, size, "Invite: field 'subnet' is not an IPv4 network (a.b.c.0/8 to /30).");
        if (ipv4_parse(f[F_DNS]->valuestring, &dns) < 0 || !cidr4_is_host(&subnet, dns))
                return fail(buf, size, "Invite: field 'dns' is not an address inside the subnet.");
        if (endpoint_validate(f[F_ENDPOINT]->valuestring) < 0)
                return fail(buf, size, "Invite: field 'endpoint' is not host:port.");
        if (endpoint_validate(f[F_PAIRING]->valuestring) < 0)
                return fail(buf, size, "Invite: field 'pairing' is not host:port.");
        if (key_from_base64(f[F_WG]->valuestring, wg) < 0 || key_is_weak_public(wg))
                return fail(buf, size, "Invite: field 'wg' is not a usable WireGuard public key.");
        if (invite_id_from_text(f[F_ID]->valuestring, i->id) < 0)
                return fail(buf, size, "Invite: field 'id' is not %d bytes of base64url.", INVITE_ID_LEN);
        if (base64url_decode_exact(f[F_SECRET]->valuestring, strlen(f[F_SECRET]->valuestring), i->secret,
                                   sizeof i->secret) < 0)
                return fail(buf, size, "Invite: field 'secret' is not %d bytes of base64url.", INVITE_SECRET_LEN);
        if (!(expires >= 1 && expires <= 9007199254740991.0) || floor(expires) != expires)
                return fail(buf, size, "Invite: field 'expires' is not a time in seconds.");
        i->expires = (uint64_t) expires;

        if (dup_field(f[F_NAME], &i->name) < 0 || dup_field(f[F_DOMAIN], &i->domain) < 0 ||
            dup_field(f[F_SUBNET], &i->vpn_subnet) < 0 || dup_field(f[F_DNS], &i->dns_address) < 0 ||
            dup_field(f[F_ENDPOINT], &i->endpoint) < 0 || dup_field(f[F_PAIRING], &i->pairing) < 0 ||
            dup_field(f[F_WG], &i->wg_public_key) < 0)
                return -ENOMEM;
        return 0;
}

int invite_decode(const char *text, Invite *ret, char *buf, size_t size) {
        size_t len = strnlen(text, INVITE_TEXT_MAX + 1), prefix = strlen(INVITE_PREFIX);
        size_t sig_len = base64url_encoded_len(SIGNATURE_LEN);
        uint8_t sig[SIGNATURE_LEN];
        _cleanup_(erase_and_freep) char *payload = NULL;
        _cleanup_(cjson_deletep) cJSON *o = NULL;
        const cJSON *fields[_F_MAX] = {};
        const char *end = NULL;
        Invite i = {};
        int r;

        if (len > INVITE_TEXT_MAX)
                return fail(buf, size, "The invite is longer than %d characters: it is not one.", INVITE_TEXT_MAX);
        if (strncmp(text, INVITE_PREFIX, prefix) != 0) {
                if (strncmp(text, "pic-invite", strlen("pic-invite")) == 0)
                        return fail(buf, size, "The invite is of a version this PIC does not know (made by a newer one?).");
                return fail(buf, size, "The text is not a PIC invite (it must start with '%s').", INVITE_PREFIX);
        }
        const char *p = text + prefix, *dot = memchr(p, '.', len - prefix);
        if (!dot || (size_t) (text + len - dot - 1) != sig_len)
                return fail(buf, size, "The invite is cut short or has extra text (its signature part is missing).");
        size_t p_enc = (size_t) (dot - p), p_len = p_enc * 3 / 4;
        if (p_len == 0 || p_len > INVITE_PAYLOAD_MAX || base64url_encoded_len(p_len) != p_enc)
                return fail(buf, size, "The invite's payload has the wrong length.");
        payload = calloc(1, p_len + 1);   /* wiped with strlen() on the way out */
        if (!payload)
                return -ENOMEM;
        if (base64url_decode_exact(p, p_enc, payload, p_len) < 0 ||
            base64url_decode_exact(dot + 1, sig_len, sig, sizeof sig) < 0)
                return fail(buf, size, "The invite holds characters other than base64url (was it copied whole?).");
        payload[p_len] = 0;
        if (memchr(payload, 0, p_len))
                return fail(buf, size, "The invite's payload is not JSON.");

        o = cJSON_ParseWithLengthOpts(payload, p_len, &end, false);
        if (!o || end != payload + p_len || !cJSON_IsObject(o))
                return fail(buf, size, "The invite's payload is not a JSON object.");
        r = collect_fields(o, fields, buf, size);
        if (r < 0)
                return r;
        if (fields[F_V]->valuedouble != 1)
                return fail(buf, size, "The invite is of a version this PIC does not know (made by a newer one?).");
        if (signing_public_from_text(fields[F_SIGN]->valuestring, &i.signing_key) < 0)
                return fail(buf, size, "Invite: field 'sign' is not an Ed25519 public key.");
        r = signing_verify(&i.signing_key, INVITE_SIGNING_CONTEXT, payload, p_len, sig);
        if (r == -EBADMSG) {
                snprintf(buf, size, "The invite's signature does not match: it was changed after it was made.");
                return r;
        }
        if (r < 0)
                return r;
        r = check_fields(fields, &i, buf, size);
        if (r < 0) {
                invite_done(&i);
                return r;
        }
        *ret = i;
        return 0;
}
