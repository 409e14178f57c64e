/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "desired.h"

/* A second kind of object, for tests only (--test-static-peer=KEY@ADDRESS,
 * undocumented): WireGuard peers and firewall entries that are not peers, as
 * cell links and exits will contribute. Tests prove with it that every
 * reconciler keeps what another kind wants and still removes strangers. */
extern const Contributor test_kind_contributor;

/* "KEY@ADDRESS" (base64 key, IPv4 address) */
int test_static_peer_parse(const char *arg, TestStaticPeer *ret);
