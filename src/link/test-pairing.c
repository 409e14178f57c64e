/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "macro.h"
#include "pairing.h"

#define WG_A "hbYY2emu5SlWW2jepMsQqOcihzw82KWJShVswsuYX3Y="
#define WG_B "vVRA2emu5SlWW2jepMsQqOcihzw82KWJShVswsuYX3Y="
#define INVITE_ID "AAECAwQFBgcICQoLDA0ODw"

static SigningKey alice, bob, eve;
static uint8_t pairing_key[PAIRING_KEY_LEN] = { 1, 2, 3 };

static PairingMessage message(const SigningKey *k, const char *name, const char *subnet, const char *dns,
                              const char *wg) {
        PairingMessage m = {
                .cell = {
                        .name = (char *) name,
                        .domain = (char *) (streq(name, "alice") ? "alice.lan" : "bob.lan"),
                        .vpn_subnet = (char *) subnet,
                        .dns_address = (char *) dns,
                        .endpoint = (char *) "cell.example.org:51820",
                        .pairing = (char *) "cell.example.org:8283",
                        .wg_public_key = (char *) wg,
                        .signing_key = k->public,
                },
                .counter = 7,
        };
        snprintf(m.invite_id, sizeof m.invite_id, "%s", INVITE_ID);
        return m;
}

static const uint8_t *lookup(const char *id, void *userdata) {
        return streq(id, INVITE_ID) ? userdata : NULL;
}

static int decode_request(const char *text, const uint8_t *key, char *err) {
        PairingMessage got = {};
        int r = pairing_request_decode(text, lookup, (void *) key, &got, err, 256);
        pairing_message_done(&got);
        return r;
}

static void test_request(void **state) {
        PairingMessage m = message(&alice, "alice", "10.1.0.0/24", "10.1.0.1", WG_A), got = {};
        _cleanup_(freep) char *text = NULL;
        char err[256] = "";

        assert_int_equal(pairing_request_encode(&m, &alice, pairing_key, &text), 0);
        assert_true(strncmp(text, PAIRING_REQUEST_PREFIX, strlen(PAIRING_REQUEST_PREFIX)) == 0);
        assert_int_equal(pairing_request_decode(text, lookup, pairing_key, &got, err, sizeof err), 0);
        assert_string_equal(got.cell.name, "alice");
        assert_string_equal(got.cell.vpn_subnet, "10.1.0.0/24");
        assert_string_equal(got.invite_id, INVITE_ID);
        assert_memory_equal(got.cell.signing_key.bytes, alice.public.bytes, SIGNING_PUBLIC_LEN);
        assert_int_equal(got.counter, 7);
        pairing_message_done(&got);

        /* no such open invite; made with another invite's secret */
        assert_int_equal(decode_request(text, NULL, err), -ENOENT);
        assert_non_null(strstr(err, "used, revoked or has expired"));
        uint8_t other[PAIRING_KEY_LEN] = { 9 };
        assert_int_equal(decode_request(text, other, err), -EBADMSG);
        assert_non_null(strstr(err, "secret"));

        /* the MAC part cut off */
        *strrchr(text, '.') = 0;
        assert_int_equal(decode_request(text, pairing_key, err), -EINVAL);
        assert_non_null(strstr(err, "cut short"));
}

/* Someone who saw the request cannot change it, nor make one naming another key. */
static void test_request_forgeries(void **state) {
        PairingMessage m = message(&alice, "alice", "10.1.0.0/24", "10.1.0.1", WG_A);
        _cleanup_(freep) char *text = NULL, *forged = NULL, *stolen = NULL;
        char err[256] = "";

        assert_int_equal(pairing_request_encode(&m, &alice, pairing_key, &text), 0);

        /* eve re-signs alice's request as herself but lacks the invite's secret */
        PairingMessage as_eve = m;
        as_eve.cell.signing_key = eve.public;
        assert_int_equal(pairing_request_encode(&as_eve, &eve, (uint8_t[PAIRING_KEY_LEN]) { 0 }, &forged), 0);
        assert_int_equal(decode_request(forged, pairing_key, err), -EBADMSG);

        /* eve has the secret but names alice's key without holding it */
        Envelope e = {};
        assert_int_equal(envelope_open(text, PAIRING_TEXT_MAX, PAIRING_PAYLOAD_MAX, PAIRING_REQUEST_PREFIX, true,
                                       "x", &e, err, sizeof err), 0);
        assert_int_equal(envelope_seal(PAIRING_REQUEST_PREFIX, PAIRING_REQUEST_CONTEXT, &eve, pairing_key, e.payload,
                                       e.payload_len, &stolen), 0);
        envelope_done(&e);
        assert_int_equal(decode_request(stolen, pairing_key, err), -EBADMSG);
        assert_non_null(strstr(err, "signature"));

        /* an invite's signature never passes for a request's */
        assert_int_equal(decode_request("pic-invite1.e30.AAAA", pairing_key, err), -EINVAL);
}

static void test_answer(void **state) {
        PairingMessage m = message(&bob, "bob", "10.2.0.0/24", "10.2.0.1", WG_B), got = {};
        _cleanup_(freep) char *text = NULL, *by_eve = NULL;
        char err[256] = "";

        signing_fingerprint(&alice.public, m.peer);
        assert_int_equal(pairing_answer_encode(&m, &bob, &text), 0);
        assert_int_equal(pairing_answer_decode(text, &bob.public, INVITE_ID, &alice.public, &got, err, sizeof err), 0);
        assert_string_equal(got.cell.name, "bob");
        assert_string_equal(got.peer, m.peer);
        pairing_message_done(&got);

        /* only the pinned key may answer */
        assert_int_equal(pairing_answer_decode(text, &eve.public, INVITE_ID, &alice.public, &got, err, sizeof err),
                         -EBADMSG);
        PairingMessage e = m;
        e.cell.signing_key = eve.public;
        assert_int_equal(pairing_answer_encode(&e, &eve, &by_eve), 0);
        assert_int_equal(pairing_answer_decode(by_eve, &bob.public, INVITE_ID, &alice.public, &got, err, sizeof err),
                         -EBADMSG);

        /* an answer to someone else's request, or for another invite */
        assert_int_equal(pairing_answer_decode(text, &bob.public, INVITE_ID, &eve.public, &got, err, sizeof err),
                         -EINVAL);
        assert_non_null(strstr(err, "another request"));
        assert_int_equal(pairing_answer_decode(text, &bob.public, "BBECAwQFBgcICQoLDA0ODw", &alice.public, &got, err,
                                               sizeof err),
                         -EINVAL);

        /* a request is not an answer */
        _cleanup_(freep) char *request = NULL;
        PairingMessage a = message(&alice, "alice", "10.1.0.0/24", "10.1.0.1", WG_A);
        assert_int_equal(pairing_request_encode(&a, &alice, pairing_key, &request), 0);
        assert_int_equal(pairing_answer_decode(request, &alice.public, INVITE_ID, &alice.public, &got, err, sizeof err),
                         -EINVAL);
}

static void test_bad_identity(void **state) {
        PairingMessage m = message(&alice, "alice", "10.1.0.0/24", "10.9.0.1", WG_A);
        _cleanup_(freep) char *text = NULL;
        char err[256] = "";

        assert_int_equal(pairing_request_encode(&m, &alice, pairing_key, &text), 0);
        assert_int_equal(decode_request(text, pairing_key, err), -EINVAL);
        assert_non_null(strstr(err, "The pairing request: cell: field 'dns'"));
}

/* A cheap fuzzer, deterministic: thousands of mutations of valid texts (bytes
 * flipped, cut, doubled, replaced by base64url's alphabet) through every
 * decoder. Each must refuse or succeed without a crash (valgrind and the
 * sanitizers see the memory); none may succeed with a changed signature part. */
static void test_mutations(void **state) {
        PairingMessage req = message(&alice, "alice", "10.1.0.0/24", "10.1.0.1", WG_A);
        PairingMessage ans = message(&bob, "bob", "10.2.0.0/24", "10.2.0.1", WG_B);
        _cleanup_(freep) char *request = NULL, *answer = NULL;
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.{}\":,";
        uint32_t seed = 12345;
        char err[256];

        signing_fingerprint(&alice.public, ans.peer);
        assert_int_equal(pairing_request_encode(&req, &alice, pairing_key, &request), 0);
        assert_int_equal(pairing_answer_encode(&ans, &bob, &answer), 0);
        const char *texts[] = { request, answer };
        for (int round = 0; round < 6000; round++) {
                const char *orig = texts[round % 2];
                size_t len = strlen(orig);
                char buf[PAIRING_TEXT_MAX + 64];
                seed = seed * 1103515245 + 12345;
                size_t at = (seed >> 8) % len;
                memcpy(buf, orig, len + 1);
                switch ((seed >> 4) % 4) {
                case 0:
                        buf[at] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
                        break;
                case 1:
                        buf[at] = 0; /* cut */
                        break;
                case 2:
                        if (len + (len - at) < sizeof buf) /* the tail doubled */
                                memcpy(buf + len, orig + at, len - at + 1);
                        break;
                default:
                        buf[at] ^= (char) (1 << ((seed >> 20) % 7));
                        break;
                }
                PairingMessage got = {};
                int r = round % 2 == 0 ? pairing_request_decode(buf, lookup, pairing_key, &got, err, sizeof err)
                                       : pairing_answer_decode(buf, &bob.public, INVITE_ID, &alice.public, &got, err,
                                                               sizeof err);
                if (r == 0 && strcmp(buf, orig) != 0)
                        fail_msg("a changed text was taken (round %d): %s", round, buf);
                pairing_message_done(&got);
        }
}

static int setup(void **state) {
        return signing_key_generate(&alice) || signing_key_generate(&bob) || signing_key_generate(&eve);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request),
                cmocka_unit_test(test_request_forgeries),
                cmocka_unit_test(test_answer),
                cmocka_unit_test(test_bad_identity),
                cmocka_unit_test(test_mutations),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
