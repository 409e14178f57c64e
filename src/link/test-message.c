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
#include "message.h"

static SigningKey alice, bob, eve;
static char fp_alice[SIGNING_FINGERPRINT_LEN], fp_bob[SIGNING_FINGERPRINT_LEN], fp_eve[SIGNING_FINGERPRINT_LEN];

/* bob's view: he is linked with alice only */
static const SigningPublicKey *lookup(const char *from, void *userdata) {
        return streq(from, fp_alice) ? &alice.public : NULL;
}

static LinkMessage shared_message(char **services, uint64_t counter) {
        LinkMessage m = { .counter = counter, .type = LINK_MESSAGE_SHARED, .services = services };
        memcpy(m.from, fp_alice, sizeof m.from);
        memcpy(m.to, fp_bob, sizeof m.to);
        return m;
}

static int decode(const char *text, const char *own, LinkMessage *got, char *err) {
        return link_message_decode(text, lookup, NULL, own, got, err, 256);
}

static void test_round_trips(void **state) {
        char *web_files[] = { (char *) "web", (char *) "files", NULL };
        LinkMessage m = shared_message(web_files, 7), got = {};
        _cleanup_(freep) char *text = NULL, *identity = NULL, *unlink = NULL;
        char err[256] = "";

        assert_int_equal(link_message_encode(&m, &alice, &text), 0);
        assert_int_equal(decode(text, fp_bob, &got, err), 0);
        assert_int_equal(got.type, LINK_MESSAGE_SHARED);
        assert_int_equal(got.counter, 7);
        assert_string_equal(got.services[0], "web");
        assert_string_equal(got.services[1], "files");
        assert_null(got.services[2]);
        link_message_done(&got);

        LinkMessage id = { .counter = 8, .type = LINK_MESSAGE_IDENTITY, .cell = {
                .name = (char *) "alice", .domain = (char *) "alice.lan", .vpn_subnet = (char *) "10.9.0.0/24",
                .dns_address = (char *) "10.9.0.1", .endpoint = (char *) "203.0.113.7:51820",
                .pairing = (char *) "203.0.113.7:8283",
                .wg_public_key = (char *) "hbYY2emu5SlWW2jepMsQqOcihzw82KWJShVswsuYX3Y=", .signing_key = alice.public } };
        memcpy(id.from, fp_alice, sizeof id.from);
        memcpy(id.to, fp_bob, sizeof id.to);
        assert_int_equal(link_message_encode(&id, &alice, &identity), 0);
        assert_int_equal(decode(identity, fp_bob, &got, err), 0);
        assert_int_equal(got.type, LINK_MESSAGE_IDENTITY);
        assert_string_equal(got.cell.vpn_subnet, "10.9.0.0/24");
        link_message_done(&got);

        LinkMessage u = { .counter = 9, .type = LINK_MESSAGE_UNLINK };
        memcpy(u.from, fp_alice, sizeof u.from);
        memcpy(u.to, fp_bob, sizeof u.to);
        assert_int_equal(link_message_encode(&u, &alice, &unlink), 0);
        assert_int_equal(decode(unlink, fp_bob, &got, err), 0);
        assert_int_equal(got.type, LINK_MESSAGE_UNLINK);
        link_message_done(&got);

        /* only the key it names may make it */
        char *none[] = { NULL };
        LinkMessage wrong = shared_message(none, 1);
        _cleanup_(freep) char *t2 = NULL;
        assert_int_equal(link_message_encode(&wrong, &bob, &t2), -EINVAL);
}

static void test_refusals(void **state) {
        char *web[] = { (char *) "web", NULL };
        LinkMessage m = shared_message(web, 3), got = {};
        _cleanup_(freep) char *text = NULL, *by_eve = NULL, *stolen = NULL;
        char err[256] = "";

        assert_int_equal(link_message_encode(&m, &alice, &text), 0);
        /* for another cell */
        assert_int_equal(decode(text, fp_eve, &got, err), -EINVAL);
        assert_non_null(strstr(err, "for another cell"));
        /* from a cell bob is not linked with */
        LinkMessage e = m;
        memcpy(e.from, fp_eve, sizeof e.from);
        assert_int_equal(link_message_encode(&e, &eve, &by_eve), 0);
        assert_int_equal(decode(by_eve, fp_bob, &got, err), -ENOENT);
        /* eve signs a payload naming alice: the pinned key says no */
        Envelope env = {};
        assert_int_equal(envelope_open(text, LINK_MESSAGE_TEXT_MAX, LINK_MESSAGE_PAYLOAD_MAX, LINK_MESSAGE_PREFIX,
                                       false, "x", &env, err, sizeof err), 0);
        assert_int_equal(envelope_seal(LINK_MESSAGE_PREFIX, LINK_MESSAGE_CONTEXT, &eve, NULL, env.payload,
                                       env.payload_len, &stolen), 0);
        envelope_done(&env);
        assert_int_equal(decode(stolen, fp_bob, &got, err), -EBADMSG);
        /* a changed character anywhere */
        for (size_t i = strlen(LINK_MESSAGE_PREFIX); i < strlen(text); i += 7) {
                char copy[LINK_MESSAGE_TEXT_MAX + 1];
                snprintf(copy, sizeof copy, "%s", text);
                copy[i] = copy[i] == 'A' ? 'B' : 'A';
                if (decode(copy, fp_bob, &got, err) == 0)
                        fail_msg("a changed message was taken (at %zu)", i);
                link_message_done(&got);
        }
}

static void test_bad_bodies(void **state) {
        char *bad_name[] = { (char *) "Web Server", NULL };
        char *many[LINK_MESSAGE_SERVICES_MAX + 2];
        LinkMessage got = {};
        char err[256] = "";

        for (size_t i = 0; i < LINK_MESSAGE_SERVICES_MAX + 1; i++)
                many[i] = (char *) "web";
        many[LINK_MESSAGE_SERVICES_MAX + 1] = NULL;

        char **cases[] = { bad_name, many };
        const char *words[] = { "not a service name", "more than" };
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                LinkMessage m = shared_message(cases[c], 1);
                _cleanup_(freep) char *text = NULL;
                assert_int_equal(link_message_encode(&m, &alice, &text), 0);
                assert_int_equal(decode(text, fp_bob, &got, err), -EINVAL);
                if (!strstr(err, words[c]))
                        fail_msg("'%s' does not say '%s'", err, words[c]);
        }
}

static void test_exit_messages(void **state) {
        LinkMessage offer = shared_message(NULL, 3), key = shared_message(NULL, 4), got = {};
        _cleanup_(freep) char *offer_text = NULL, *key_text = NULL, *bad_text = NULL, *weak_text = NULL;
        char err[256] = "";

        offer.type = LINK_MESSAGE_EXIT;
        offer.exit_offered = true;
        strcpy(offer.exit_address, "10.60.0.9");
        assert_int_equal(link_message_encode(&offer, &alice, &offer_text), 0);
        assert_int_equal(decode(offer_text, fp_bob, &got, err), 0);
        assert_int_equal(got.type, LINK_MESSAGE_EXIT);
        assert_true(got.exit_offered);
        assert_string_equal(got.exit_address, "10.60.0.9");
        link_message_done(&got);

        key.type = LINK_MESSAGE_EXIT_KEY;
        strcpy(key.exit_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
        assert_int_equal(link_message_encode(&key, &alice, &key_text), 0);
        assert_int_equal(decode(key_text, fp_bob, &got, err), 0);
        assert_string_equal(got.exit_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
        link_message_done(&got);

        /* an address for an exit not offered, a name for an address, a key of small order */
        offer.exit_offered = false;
        assert_int_equal(link_message_encode(&offer, &alice, &bad_text), 0);
        assert_int_equal(decode(bad_text, fp_bob, &got, err), -EINVAL);
        assert_non_null(strstr(err, "not offered"));
        free(bad_text);
        bad_text = NULL;
        offer.exit_offered = true;
        strcpy(offer.exit_address, "exit.home");
        assert_int_equal(link_message_encode(&offer, &alice, &bad_text), 0);
        assert_int_equal(decode(bad_text, fp_bob, &got, err), -EINVAL);
        assert_non_null(strstr(err, "not an IPv4 address"));
        strcpy(key.exit_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_int_equal(link_message_encode(&key, &alice, &weak_text), 0);
        assert_int_equal(decode(weak_text, fp_bob, &got, err), -EINVAL);
        assert_non_null(strstr(err, "public_key"));
}

static int setup(void **state) {
        if (signing_key_generate(&alice) || signing_key_generate(&bob) || signing_key_generate(&eve))
                return -1;
        signing_fingerprint(&alice.public, fp_alice);
        signing_fingerprint(&bob.public, fp_bob);
        signing_fingerprint(&eve.public, fp_eve);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trips),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_bad_bodies),
                cmocka_unit_test(test_exit_messages),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
