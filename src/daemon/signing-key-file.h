/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cell's Ed25519 signing key (signing.h) in STATE/signing.key, mode 0600:
 * made on first use, then never changed (linked cells pin it). */

#include "signing.h"

/* -ENOENT: none yet. -EINVAL: the file is not a key (left as it is). */
int signing_key_file_load(int state_fd, SigningKey *ret);
/* Loads the key, or makes and stores one durably when there is none. */
int signing_key_file_load_or_create(int state_fd, SigningKey *ret);
