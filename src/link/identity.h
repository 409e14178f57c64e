/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who a cell is, as invites and pairing messages carry it (PROTOCOL.md). */

#include <cJSON.h>
#include <stddef.h>

#include "signing.h"

typedef struct CellIdentity {
        char *name;          /* a DNS label */
        char *domain;
        char *vpn_subnet;    /* its VPN network, "a.b.c.0/n" */
        char *dns_address;   /* its DNS server, inside vpn_subnet */
        char *endpoint;      /* its WireGuard endpoint, host:port */
        char *pairing;       /* where its gateway takes pairing requests, host:port */
        char *wg_public_key; /* base64, as wg(8) shows it */
        SigningPublicKey signing_key;
} CellIdentity;

void cell_identity_done(CellIdentity *c);

/* The identity as a JSON object of its own. */
cJSON *cell_identity_to_json(const CellIdentity *c);
/* Reads and checks an object made by cell_identity_to_json(); -EINVAL with a
 * message naming the field ("@what: field 'subnet' …") in buf. */
int cell_identity_from_json(const cJSON *o, const char *what, CellIdentity *ret, char *buf, size_t size);
