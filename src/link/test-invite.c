/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invite.h"
#include "json-util.h"
#include <stdbool.h>
#include "macro.h"

#define WG_KEY "hbYY2emu5SlWW2jepMsQqOcihzw82KWJShVswsuYX3Y="

static SigningKey key;

static Invite sample(void) {
        Invite i = {
                .cell = {
                        .name = (char *) "bob",
                        .domain = (char *) "bob.lan",
                        .vpn_subnet = (char *) "10.20.0.0/24",
                        .dns_address = (char *) "10.20.0.1",
                        .endpoint = (char *) "bob.example.org:51820",
                        .pairing = (char *) "bob.example.org:8283",
                        .wg_public_key = (char *) WG_KEY,
                        .signing_key = key.public,
                },
                .expires = 1800000000,
        };
        for (size_t n = 0; n < INVITE_ID_LEN; n++)
                i.id[n] = (uint8_t) n;
        for (size_t n = 0; n < INVITE_SECRET_LEN; n++)
                i.secret[n] = (uint8_t) (0xa0 + n);
        return i;
}

static char *encode_sample(void) {
        Invite i = sample();
        char *text = NULL;
        assert_int_equal(invite_encode(&i, &key, &text), 0);
        return text;
}

/* An invite text around any payload, signed with k (as a forger with the key could). */
static char *signed_text(const char *payload, const SigningKey *k) {
        uint8_t sig[SIGNATURE_LEN];
        size_t n = strlen(payload);
        assert_int_equal(signing_sign(k, INVITE_SIGNING_CONTEXT, payload, n, sig), 0);
        size_t total = strlen(INVITE_PREFIX) + base64url_encoded_len(n) + base64url_encoded_len(sizeof sig) + 2;
        char *text = malloc(total);
        strcpy(text, INVITE_PREFIX);
        base64url_encode(payload, n, text + strlen(text), total - strlen(text));
        strcat(text, ".");
        base64url_encode(sig, sizeof sig, text + strlen(text), total - strlen(text));
        return text;
}

/* The sample's payload as JSON, for a test to change. */
static cJSON *sample_json(void) {
        _cleanup_(freep) char *text = encode_sample();
        const char *p = text + strlen(INVITE_PREFIX);
        const char *dot = strchr(p, '.');
        size_t enc = (size_t) (dot - p), len = enc * 3 / 4;
        char *payload = calloc(1, len + 1);
        assert_int_equal(base64url_decode_exact(p, enc, payload, len), 0);
        cJSON *o = cJSON_Parse(payload);
        free(payload);
        assert_non_null(o);
        return o;
}

static int decode(const char *text, char *err) {
        Invite i = {};
        int r = invite_decode(text, &i, err, 256);
        invite_done(&i);
        return r;
}

static void expect_refused(const char *text, int error, const char *words) {
        char err[256] = "";
        int r = decode(text, err);
        if (r != error)
                fail_msg("expected %d, got %d (%s) for %.80s", error, r, err, text);
        if (!strstr(err, words))
                fail_msg("message '%s' does not say '%s'", err, words);
}

static void test_round_trip(void **state) {
        _cleanup_(freep) char *text = encode_sample();
        Invite want = sample(), got = {};
        char err[256] = "";

        assert_true(strncmp(text, INVITE_PREFIX, strlen(INVITE_PREFIX)) == 0);
        assert_true(strlen(text) < 800); /* small enough for a QR code a phone reads */
        assert_int_equal(invite_decode(text, &got, err, sizeof err), 0);
        assert_string_equal(got.cell.name, want.cell.name);
        assert_string_equal(got.cell.domain, want.cell.domain);
        assert_string_equal(got.cell.vpn_subnet, want.cell.vpn_subnet);
        assert_string_equal(got.cell.dns_address, want.cell.dns_address);
        assert_string_equal(got.cell.endpoint, want.cell.endpoint);
        assert_string_equal(got.cell.pairing, want.cell.pairing);
        assert_string_equal(got.cell.wg_public_key, want.cell.wg_public_key);
        assert_memory_equal(got.cell.signing_key.bytes, key.public.bytes, SIGNING_PUBLIC_LEN);
        assert_memory_equal(got.id, want.id, INVITE_ID_LEN);
        assert_memory_equal(got.secret, want.secret, INVITE_SECRET_LEN);
        assert_int_equal(got.expires, want.expires);
        invite_done(&got);

        /* an invite is only made with the key it names */
        SigningKey other;
        char *t2 = NULL;
        assert_int_equal(signing_key_generate(&other), 0);
        assert_int_equal(invite_encode(&want, &other, &t2), -EINVAL);
}

/* Every field changed after signing: the signature no longer matches. */
static void test_tampered_fields(void **state) {
        static const char *const fields[] = { "name", "domain", "subnet", "dns", "endpoint", "pairing",
                                              "wg", "id", "secret" };
        _cleanup_(freep) char *orig = encode_sample();
        const char *sig = strrchr(orig, '.');

        for (size_t f = 0; f < ELEMENTSOF(fields) + 1; f++) {
                _cleanup_(cjson_deletep) cJSON *o = sample_json();
                if (f < ELEMENTSOF(fields)) {
                        cJSON *in = f < 7 ? cJSON_GetObjectItem(o, "cell") : o; /* id, secret: outside */
                        cJSON *item = cJSON_GetObjectItem(in, fields[f]);
                        char *v = strdup(item->valuestring);
                        v[0] = v[0] == 'c' ? 'd' : 'c';
                        cJSON_SetValuestring(item, v);
                        free(v);
                } else
                        cJSON_SetNumberValue(cJSON_GetObjectItem(o, "expires"), 1900000000);
                _cleanup_(freep) char *payload = cJSON_PrintUnformatted(o);
                size_t n = strlen(payload);
                _cleanup_(freep) char *text = malloc(strlen(INVITE_PREFIX) + base64url_encoded_len(n) + strlen(sig) + 1);
                strcpy(text, INVITE_PREFIX);
                base64url_encode(payload, n, text + strlen(text), base64url_encoded_len(n) + 1);
                strcat(text, sig);
                expect_refused(text, -EBADMSG, "signature does not match");
        }

        /* re-signed by someone else while still naming the cell's key */
        SigningKey other;
        assert_int_equal(signing_key_generate(&other), 0);
        _cleanup_(cjson_deletep) cJSON *o = sample_json();
        _cleanup_(freep) char *payload = cJSON_PrintUnformatted(o);
        _cleanup_(freep) char *forged = signed_text(payload, &other);
        expect_refused(forged, -EBADMSG, "signature does not match");
}

static void test_malformed_text(void **state) {
        _cleanup_(freep) char *good = encode_sample();
        char buf[4096];

        expect_refused("", -EINVAL, "does not start with");
        expect_refused("hello", -EINVAL, "does not start with");
        expect_refused("pic-invite2.abc.def", -EINVAL, "version");
        expect_refused(INVITE_PREFIX, -EINVAL, "cut short");

        /* cut short, extra text, a newline, a space: refused, never trimmed */
        snprintf(buf, sizeof buf, "%.*s", (int) strlen(good) - 1, good);
        expect_refused(buf, -EINVAL, "cut short");
        snprintf(buf, sizeof buf, "%s\n", good);
        expect_refused(buf, -EINVAL, "cut short");
        snprintf(buf, sizeof buf, " %s", good);
        expect_refused(buf, -EINVAL, "does not start with");
        snprintf(buf, sizeof buf, "%s", good);
        buf[strlen(INVITE_PREFIX) + 10] = '+';
        expect_refused(buf, -EINVAL, "base64url");
        buf[strlen(INVITE_PREFIX) + 10] = '=';
        expect_refused(buf, -EINVAL, "base64url");

        /* too long to look at */
        memset(buf, 'A', sizeof buf - 1);
        memcpy(buf, INVITE_PREFIX, strlen(INVITE_PREFIX));
        buf[sizeof buf - 1] = 0;
        expect_refused(buf, -EINVAL, "longer than");
}

static void expect_payload_refused(const char *payload, const char *words) {
        _cleanup_(freep) char *text = signed_text(payload, &key);
        expect_refused(text, -EINVAL, words);
}

/* Validly signed, but not what an invite holds. */
static bool is_cell_field(const char *f) {
        static const char *const names[] = { "name", "domain", "subnet", "dns", "endpoint", "pairing", "wg", "sign" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(f, names[i]))
                        return true;
        return false;
}

/* Validly signed, but not what an invite holds. */
static void test_bad_payloads(void **state) {
        expect_payload_refused("not json", "not a JSON object");
        expect_payload_refused("[1,2]", "not a JSON object");
        expect_payload_refused("{} {}", "not a JSON object");
        expect_payload_refused("{\"v\":1} ", "not a JSON object");

        static const struct {
                const char *field;
                const char *json; /* NULL: remove the field */
                const char *words;
        } cases[] = {
                { "name", "\"Bob_1\"", "cell: field 'name' is not a cell name" },
                { "name", "7", "'name' must be a string" },
                { "domain", "\"bob..lan\"", "'domain'" },
                { "subnet", "\"10.20.0.1/24\"", "'subnet'" },
                { "subnet", "\"10.20.0.0/31\"", "'subnet'" },
                { "dns", "\"10.21.0.1\"", "'dns' is not an address inside the subnet" },
                { "dns", "\"10.20.0.0\"", "'dns'" },
                { "endpoint", "\"bob.example.org\"", "'endpoint'" },
                { "pairing", "\"bob.example.org:0\"", "'pairing'" },
                { "wg", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"", "'wg'" },
                { "id", "\"AAAA\"", "'id'" },
                { "secret", "\"AAAA\"", "'secret'" },
                { "expires", "1.5", "'expires' must be a whole number" },
                { "expires", "-3", "'expires' must be a whole number" },
                { "expires", "\"soon\"", "'expires' must be a whole number" },
                { "expires", "0", "'expires' is not a time" },
                { "v", "2", "version" },
                { "secret", NULL, "'secret' is missing" },
                { "extra", "1", "Invite: unknown field 'extra'" },
                { "cell", "[]", "'cell' must be an object" },
        };
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                _cleanup_(cjson_deletep) cJSON *o = sample_json();
                cJSON *in = is_cell_field(cases[c].field) ? cJSON_GetObjectItem(o, "cell") : o;
                cJSON_DeleteItemFromObject(in, cases[c].field);
                if (cases[c].json)
                        cJSON_AddItemToObject(in, cases[c].field, cJSON_Parse(cases[c].json));
                _cleanup_(freep) char *payload = cJSON_PrintUnformatted(o);
                expect_payload_refused(payload, cases[c].words);
        }

        /* a field given twice (cJSON keeps both), inside and outside the cell */
        _cleanup_(cjson_deletep) cJSON *o = sample_json();
        cJSON_AddStringToObject(cJSON_GetObjectItem(o, "cell"), "name", "eve");
        _cleanup_(freep) char *payload = cJSON_PrintUnformatted(o);
        expect_payload_refused(payload, "'name' is given twice");
        _cleanup_(cjson_deletep) cJSON *o2 = sample_json();
        cJSON_AddStringToObject(o2, "id", "AAAAAAAAAAAAAAAAAAAAAA");
        _cleanup_(freep) char *payload2 = cJSON_PrintUnformatted(o2);
        expect_payload_refused(payload2, "'id' is given twice");
}

static void test_signing_key_text(void **state) {
        char text[SIGNING_KEY_FILE_LEN], line[SIGNING_KEY_FILE_LEN + 1];
        SigningKey back;

        signing_key_to_text(&key, text);
        assert_int_equal(signing_key_from_text(text, strlen(text), &back), 0);
        assert_memory_equal(&back, &key, sizeof key);
        snprintf(line, sizeof line, "%s\n", text);
        assert_int_equal(signing_key_from_text(line, strlen(line), &back), 0);

        /* a flipped bit in the stored public half: the halves disagree */
        text[80] = text[80] == 'A' ? 'B' : 'A';
        assert_int_equal(signing_key_from_text(text, strlen(text), &back), -EINVAL);
        assert_int_equal(signing_key_from_text("short", 5, &back), -EINVAL);

        char fp[SIGNING_FINGERPRINT_LEN];
        signing_fingerprint(&key.public, fp);
        assert_int_equal(strlen(fp), 22);
}

static void test_invite_ids(void **state) {
        uint8_t id[INVITE_ID_LEN] = { 1, 2, 3 }, back[INVITE_ID_LEN];
        char text[INVITE_ID_TEXT_LEN];

        invite_id_to_text(id, text);
        assert_int_equal(strlen(text), 22);
        assert_int_equal(invite_id_from_text(text, back), 0);
        assert_memory_equal(id, back, sizeof id);
        assert_int_equal(invite_id_from_text("../../etc/passwd", back), -EINVAL);
        assert_int_equal(invite_id_from_text("", back), -EINVAL);
}

static int setup(void **state) {
        return signing_key_generate(&key);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_tampered_fields),
                cmocka_unit_test(test_malformed_text),
                cmocka_unit_test(test_bad_payloads),
                cmocka_unit_test(test_signing_key_text),
                cmocka_unit_test(test_invite_ids),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
