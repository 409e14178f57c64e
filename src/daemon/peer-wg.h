/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "peer.h"

/* How peers become WireGuard configuration, and how WireGuard's counters come
 * back into the peer objects. */

/* Private key, port and every enabled peer, replacing whatever the device had. */
int peer_wg_full_device(Manager *m, WgDevice **ret);
/* Applies the change from old to new (either may be NULL) in one set. */
int peer_wg_apply_change(Manager *m, const Peer *old, const Peer *new);
/* Reads handshakes, counters and endpoints, emitting PropertiesChanged for
 * what changed. */
void peer_wg_refresh_stats(Manager *m);
