/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "desired.h"
#include "peer.h"

/* How peers become WireGuard configuration, and how WireGuard's counters come
 * back into the peer objects. */

/* The peers' part of the desired state (desired.h). */
extern const Contributor peer_contributor;
/* Applies the change from old to new (either may be NULL) in one set. */
int peer_wg_apply_change(Manager *m, const Peer *old, const Peer *new);
/* Sets (or with remove, removes) many peers in one change: an import and its undo. */
int peer_wg_set_peers(Manager *m, Peer *const *peers, size_t n, bool remove);

typedef struct PeerStatsChange {
        Peer *peer;
        const char *names[6]; /* the properties that changed, NULL-terminated */
} PeerStatsChange;

/* Takes handshakes, counters and endpoints from the device as read into the
 * peers, and whether each is connected (peer_is_connected(), which also
 * changes with time); returns which peers changed what, for the caller to
 * announce. */
int peer_wg_refresh_stats(Manager *m, const WgDevice *d, PeerStatsChange **ret, size_t *ret_n);
