/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "wg/wg.h"

/* Curve25519 keys as WireGuard uses them: 32 bytes, base64 with padding (44
 * characters) on the outside, lower-case hex on the UAPI socket. */
int key_generate_private(WgKey ret);
void key_public_from_private(WgKey pub, const WgKey priv);
void key_generate_symmetric(WgKey ret);
void key_to_base64(const WgKey k, char out[static WG_KEY_B64_LEN]);
int key_from_base64(const char *s, WgKey ret);
void key_to_hex(const WgKey k, char out[static 2 * WG_KEY_LEN + 1]);
int key_from_hex(const char *s, WgKey ret);
bool key_is_zero(const WgKey k);
/* A public key of small order (all-zero among them): a handshake with it
 * would derive a shared secret any attacker knows. */
bool key_is_weak_public(const WgKey k);
/* Wipes key material; the compiler may not drop it. */
void key_wipe(WgKey k);
