/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* This cell as invites and pairing messages describe it (src/link/identity.h). */

#include "cidr.h"
#include "identity.h"
#include "names.h"
#include "wg/wg.h"

typedef struct Manager Manager;

#define PAIRING_PORT_DEFAULT "8283"

typedef struct OwnIdentity {
        CellIdentity cell; /* points into the buffers below and into the manager's cell */
        char subnet[CIDR4_STRLEN], dns[CIDR4_STRLEN], wg[WG_KEY_B64_LEN], pairing[ENDPOINT_MAX + 1];
        char endpoint[ENDPOINT_MAX + 1];
} OwnIdentity;

/* Needs Setup, an Endpoint and the signing key. pairing NULL: the Endpoint's
 * host with PAIRING_PORT_DEFAULT. -EINVAL when that does not fit. An Endpoint
 * that names the dynamic DNS hostname is given as the address the provider
 * last took (ddns-update.h). */
int own_identity(Manager *m, const char *pairing, OwnIdentity *ret);
/* Makes the signing key on first use; -errno when it cannot be stored. */
int own_signing_key(Manager *m);
