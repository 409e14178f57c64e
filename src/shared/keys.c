/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "keys.h"

int key_generate_private(WgKey ret) {
        if (sodium_init() < 0)
                return -EIO;
        randombytes_buf(ret, WG_KEY_LEN);
        /* Curve25519 clamping, as wg genkey does. */
        ret[0] &= 248;
        ret[31] = (ret[31] & 127) | 64;
        return 0;
}

void key_public_from_private(WgKey pub, const WgKey priv) {
        crypto_scalarmult_curve25519_base(pub, priv);
}

void key_generate_symmetric(WgKey ret) {
        randombytes_buf(ret, WG_KEY_LEN);
}

void key_to_base64(const WgKey k, char out[static WG_KEY_B64_LEN]) {
        sodium_bin2base64(out, WG_KEY_B64_LEN, k, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int key_from_base64(const char *s, WgKey ret) {
        size_t len;
        const char *end;

        if (!s || strlen(s) != WG_KEY_B64_LEN - 1 || s[WG_KEY_B64_LEN - 2] != '=')
                return -EINVAL;
        if (sodium_base642bin(ret, WG_KEY_LEN, s, WG_KEY_B64_LEN - 1, NULL, &len, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 || len != WG_KEY_LEN || *end)
                return -EINVAL;
        return 0;
}

void key_to_hex(const WgKey k, char out[static 2 * WG_KEY_LEN + 1]) {
        sodium_bin2hex(out, 2 * WG_KEY_LEN + 1, k, WG_KEY_LEN);
}

int key_from_hex(const char *s, WgKey ret) {
        size_t len;
        const char *end;

        if (!s || strlen(s) != 2 * WG_KEY_LEN)
                return -EINVAL;
        if (sodium_hex2bin(ret, WG_KEY_LEN, s, 2 * WG_KEY_LEN, NULL, &len, &end) != 0 || len != WG_KEY_LEN || *end)
                return -EINVAL;
        return 0;
}

bool key_is_zero(const WgKey k) {
        return sodium_is_zero(k, WG_KEY_LEN);
}

bool key_is_weak_public(const WgKey k) {
        /* Any clamped scalar is a multiple of 8, so a point of small order
         * (however encoded) multiplies to the identity, which libsodium reports. */
        static const uint8_t scalar[WG_KEY_LEN] = { 0x48, [1 ... 30] = 0x5a, 0x47 };
        uint8_t out[WG_KEY_LEN];
        bool weak = crypto_scalarmult_curve25519(out, scalar, k) != 0;
        sodium_memzero(out, sizeof out);
        return weak;
}

void key_wipe(WgKey k) {
        sodium_memzero(k, WG_KEY_LEN);
}
