/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "peer.h"

/* How peers become WireGuard configuration, and how WireGuard's counters come
 * back into the peer objects. */

/* What to set so the device (currently `have`) matches the model: keys and
 * port when they differ, missing or changed peers, removal of strangers. */
int peer_wg_reconcile_device(Manager *m, const WgDevice *have, WgDevice **ret);
/* Applies the change from old to new (either may be NULL) in one set. */
int peer_wg_apply_change(Manager *m, const Peer *old, const Peer *new);
/* Reads handshakes, counters and endpoints, emitting PropertiesChanged for
 * what changed. */
int peer_wg_refresh_stats(Manager *m);
