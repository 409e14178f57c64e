/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "json-fields.h"
#include "macro.h"

void envelope_done(Envelope *e) {
        if (e->payload) {
                sodium_memzero(e->payload, e->payload_len);
                free(e->payload);
        }
        *e = (Envelope) {};
}

static int compute_mac(const char *context, const uint8_t key[static ENVELOPE_MAC_LEN], const char *payload,
                       size_t len, uint8_t out[static ENVELOPE_MAC_LEN]) {
        crypto_generichash_state st;
        if (crypto_generichash_init(&st, key, ENVELOPE_MAC_LEN, ENVELOPE_MAC_LEN) != 0 ||
            crypto_generichash_update(&st, (const uint8_t *) context, strlen(context)) != 0 ||
            crypto_generichash_update(&st, (const uint8_t *) payload, len) != 0 ||
            crypto_generichash_final(&st, out, ENVELOPE_MAC_LEN) != 0)
                return -EIO;
        return 0;
}

int envelope_seal(const char *prefix, const char *context, const SigningKey *key, const uint8_t *mac_key,
                  const char *payload, size_t len, char **ret) {
        uint8_t sig[SIGNATURE_LEN], mac[ENVELOPE_MAC_LEN];
        size_t p_len = base64url_encoded_len(len), s_len = base64url_encoded_len(sizeof sig),
               m_len = mac_key ? 1 + base64url_encoded_len(sizeof mac) : 0;
        int r;

        r = signing_sign(key, context, payload, len, sig);
        if (r >= 0 && mac_key)
                r = compute_mac(context, mac_key, payload, len, mac);
        if (r < 0)
                return r;
        size_t total = strlen(prefix) + p_len + 1 + s_len + m_len + 1;
        char *text = malloc(total), *p = text;
        if (!text)
                return -ENOMEM;
        p = stpcpy(p, prefix);
        base64url_encode(payload, len, p, p_len + 1);
        p += p_len;
        *p++ = '.';
        base64url_encode(sig, sizeof sig, p, s_len + 1);
        p += s_len;
        if (mac_key) {
                *p++ = '.';
                base64url_encode(mac, sizeof mac, p, m_len);
        }
        *ret = text;
        return 0;
}

int envelope_open(const char *text, size_t max_text, size_t max_payload, const char *prefix, bool with_mac,
                  const char *what, Envelope *ret, char *buf, size_t size) {
        size_t len = strnlen(text, max_text + 1), pre = strlen(prefix);
        size_t s_len = base64url_encoded_len(SIGNATURE_LEN), m_len = base64url_encoded_len(ENVELOPE_MAC_LEN);
        Envelope e = {};

        if (len > max_text)
                return json_refuse(buf, size, "%s is longer than %zu characters: it is not one.", what, max_text);
        if (strncmp(text, prefix, pre) != 0)
                return json_refuse(buf, size, "%s does not start with '%s' (not one, or of another version).", what,
                                   prefix);
        const char *p = text + pre, *end = text + len;
        const char *dot = memchr(p, '.', (size_t) (end - p));
        const char *sig = dot ? dot + 1 : NULL;
        const char *dot2 = sig ? memchr(sig, '.', (size_t) (end - sig)) : NULL;
        const char *sig_end = with_mac ? dot2 : end;
        if (!dot || !sig_end || (size_t) (sig_end - sig) != s_len ||
            (with_mac ? (size_t) (end - dot2 - 1) != m_len : dot2 != NULL))
                return json_refuse(buf, size, "%s is cut short or has extra text.", what);

        size_t p_enc = (size_t) (dot - p), p_len = p_enc * 3 / 4;
        if (p_len == 0 || p_len > max_payload || base64url_encoded_len(p_len) != p_enc)
                return json_refuse(buf, size, "%s has a payload of the wrong length.", what);
        e.payload = calloc(1, p_len + 1);
        if (!e.payload)
                return -ENOMEM;
        e.payload_len = p_len;
        e.has_mac = with_mac;
        if (base64url_decode_exact(p, p_enc, e.payload, p_len) < 0 ||
            base64url_decode_exact(sig, s_len, e.signature, sizeof e.signature) < 0 ||
            (with_mac && base64url_decode_exact(dot2 + 1, m_len, e.mac, sizeof e.mac) < 0)) {
                envelope_done(&e);
                return json_refuse(buf, size, "%s holds characters other than base64url (was it copied whole?).",
                                   what);
        }
        if (memchr(e.payload, 0, p_len)) {
                envelope_done(&e);
                return json_refuse(buf, size, "%s's payload is not JSON.", what);
        }
        *ret = e;
        return 0;
}

int envelope_verify(const Envelope *e, const char *context, const SigningPublicKey *key) {
        return signing_verify(key, context, e->payload, e->payload_len, e->signature);
}

int envelope_verify_mac(const Envelope *e, const char *context, const uint8_t key[static ENVELOPE_MAC_LEN]) {
        uint8_t mac[ENVELOPE_MAC_LEN];
        if (!e->has_mac)
                return -EBADMSG;
        int r = compute_mac(context, key, e->payload, e->payload_len, mac);
        if (r < 0)
                return r;
        return sodium_memcmp(mac, e->mac, sizeof mac) == 0 ? 0 : -EBADMSG;
}
