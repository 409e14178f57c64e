/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Login passwords, stored only as libsodium crypto_pwhash strings (Argon2id,
 * interactive limits: ~0.1 s and 64 MiB per hash or check). */
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

/* -EINVAL when too short, too long or holding control characters. */
int password_check_quality(const char *password);
/* A newly allocated hash string. */
int password_hash(const char *password, char **ret);
/* true when password matches hash; a NULL hash still costs one check, so
 * timing does not tell whether an account exists. */
bool password_verify(const char *hash, const char *password);
/* What a session granted by a login remembers of it: 16 hex digits of a hash of the stored
 * hash string (its salt is new with every password, so a new or reset password — or a
 * re-created account — gives another id; nothing of the password can be learned from it).
 * "" for NULL (no login). */
#define PASSWORD_LOGIN_ID_LEN 16
void password_login_id(const char *hash, char ret[static PASSWORD_LOGIN_ID_LEN + 1]);
/* A random password of 20 characters from an unambiguous alphabet. */
int password_generate(char **ret);
