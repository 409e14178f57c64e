/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keys.h"
#include "macro.h"

/* RFC 7748 section 6.1 test vectors. */
#define ALICE_PRIVATE_HEX "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUBLIC_HEX  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define ALICE_PUBLIC_B64  "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB_PRIVATE_HEX   "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define BOB_PUBLIC_HEX    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"

static void key_from_hex_or_fail(const char *hex, WgKey k) {
        assert_int_equal(key_from_hex(hex, k), 0);
}

static void test_generate_private_clamped(void **state) {
        WgKey a, b;

        /* Every generated key is clamped, and two keys differ. */
        for (int i = 0; i < 64; i++) {
                assert_int_equal(key_generate_private(a), 0);
                assert_int_equal(a[0] & 7, 0);
                assert_int_equal(a[31] & 0x80, 0);
                assert_int_equal(a[31] & 0x40, 0x40);
                assert_false(key_is_zero(a));
        }
        assert_int_equal(key_generate_private(b), 0);
        assert_memory_not_equal(a, b, WG_KEY_LEN);

        /* A public key made from it is not the private key and not zero. */
        WgKey pub;
        key_public_from_private(pub, a);
        assert_false(key_is_zero(pub));
        assert_memory_not_equal(pub, a, WG_KEY_LEN);

        key_generate_symmetric(a);
        key_generate_symmetric(b);
        assert_memory_not_equal(a, b, WG_KEY_LEN);
}

static void test_public_from_private_rfc7748(void **state) {
        WgKey priv, pub, expected;
        char hex[2 * WG_KEY_LEN + 1], b64[WG_KEY_B64_LEN];

        /* The RFC's private keys are not clamped; X25519 clamps internally, so they must still work as-is. */
        key_from_hex_or_fail(ALICE_PRIVATE_HEX, priv);
        key_from_hex_or_fail(ALICE_PUBLIC_HEX, expected);
        key_public_from_private(pub, priv);
        assert_memory_equal(pub, expected, WG_KEY_LEN);
        key_to_hex(pub, hex);
        assert_string_equal(hex, ALICE_PUBLIC_HEX);
        key_to_base64(pub, b64);
        assert_string_equal(b64, ALICE_PUBLIC_B64);

        /* Clamping by hand does not change the public key. */
        priv[0] &= 248;
        priv[31] = (priv[31] & 127) | 64;
        key_public_from_private(pub, priv);
        assert_memory_equal(pub, expected, WG_KEY_LEN);

        key_from_hex_or_fail(BOB_PRIVATE_HEX, priv);
        key_public_from_private(pub, priv);
        key_to_hex(pub, hex);
        assert_string_equal(hex, BOB_PUBLIC_HEX);
}

static void test_base64_round_trip(void **state) {
        WgKey k, back;
        char b64[WG_KEY_B64_LEN];

        for (int i = 0; i < 32; i++) {
                key_generate_symmetric(k);
                key_to_base64(k, b64);
                assert_int_equal(strlen(b64), WG_KEY_B64_LEN - 1);
                assert_int_equal(b64[WG_KEY_B64_LEN - 2], '=');
                assert_int_equal(key_from_base64(b64, back), 0);
                assert_memory_equal(k, back, WG_KEY_LEN);
        }

        memset(k, 0, sizeof k);
        key_to_base64(k, b64);
        assert_string_equal(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        memset(k, 0xff, sizeof k);
        key_to_base64(k, b64);
        assert_string_equal(b64, "//////////////////////////////////////////8=");
        assert_int_equal(key_from_base64(b64, back), 0);
        assert_memory_equal(k, back, WG_KEY_LEN);
}

static void test_base64_rejects(void **state) {
        static const char *const bad[] = {
                "",
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo",     /* missing '=' */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA",    /* right length, no '=' */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=",     /* one short */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==",   /* one long */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n",  /* trailing newline */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo= ",
                " hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=AAAA", /* trailing garbage */
                "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",    /* URL-safe alphabet */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqq*Tmo=",    /* bad character */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Sp qqbTmo=",
                "hSDwCYkwp1R0i33ctD73Wg2/Og0m=Br066SpjqqbTmo=",    /* '=' in the middle */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==",    /* 31 bytes, padded */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=",    /* non-canonical: stray low bits */
                "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo\xc3\xa4",
        };
        WgKey k;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (key_from_base64(bad[i], k) != -EINVAL)
                        fail_msg("base64 key #%zu \"%s\" accepted", i, bad[i]);
        assert_int_equal(key_from_base64(NULL, k), -EINVAL);

        assert_int_equal(key_from_base64(ALICE_PUBLIC_B64, k), 0);
}

static void test_hex(void **state) {
        WgKey k, back;
        char hex[2 * WG_KEY_LEN + 1];

        key_generate_symmetric(k);
        key_to_hex(k, hex);
        assert_int_equal(strlen(hex), 2 * WG_KEY_LEN);
        for (size_t i = 0; hex[i]; i++)
                assert_true((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
        assert_int_equal(key_from_hex(hex, back), 0);
        assert_memory_equal(k, back, WG_KEY_LEN);

        static const char *const bad[] = {
                "",
                "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6",    /* 63 */
                "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a0",  /* 65 */
                "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\n",
                "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6g",
                "x520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
                "8520f0098930a754748b7ddcb43ef75a 0bf3a0d26381af4eba4a98eaa9b4e6a",
                "8520f0098930a754748b7ddcb43ef75a:dbf3a0d26381af4eba4a98eaa9b4e6a",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (key_from_hex(bad[i], k) != -EINVAL)
                        fail_msg("hex key #%zu \"%s\" accepted", i, bad[i]);
        assert_int_equal(key_from_hex(NULL, k), -EINVAL);
}

static void test_zero_and_wipe(void **state) {
        WgKey k = {};

        assert_true(key_is_zero(k));
        k[31] = 1;
        assert_false(key_is_zero(k));
        k[31] = 0;
        k[0] = 0x80;
        assert_false(key_is_zero(k));

        assert_int_equal(key_generate_private(k), 0);
        assert_false(key_is_zero(k));
        key_wipe(k);
        assert_true(key_is_zero(k));
}

static void test_weak_public_keys(void **state) {
        /* the points of small order on Curve25519 and their non-canonical encodings */
        static const char *const weak[] = {
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0100000000000000000000000000000000000000000000000000000000000000",
                "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        };
        WgKey k, priv;

        for (size_t i = 0; i < ELEMENTSOF(weak); i++) {
                assert_int_equal(key_from_hex(weak[i], k), 0);
                if (!key_is_weak_public(k))
                        fail_msg("small-order point #%zu %s accepted", i, weak[i]);
        }
        /* RFC 7748's Alice, the base point and fresh keys are fine */
        assert_int_equal(key_from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", k), 0);
        assert_false(key_is_weak_public(k));
        assert_int_equal(key_from_hex("0900000000000000000000000000000000000000000000000000000000000000", k), 0);
        assert_false(key_is_weak_public(k));
        for (int i = 0; i < 100; i++) {
                assert_int_equal(key_generate_private(priv), 0);
                key_public_from_private(k, priv);
                assert_false(key_is_weak_public(k));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generate_private_clamped),
                cmocka_unit_test(test_public_from_private_rfc7748),
                cmocka_unit_test(test_base64_round_trip),
                cmocka_unit_test(test_base64_rejects),
                cmocka_unit_test(test_hex),
                cmocka_unit_test(test_zero_and_wipe),
                cmocka_unit_test(test_weak_public_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
