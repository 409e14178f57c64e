/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* At most this many peers per AddPeers call (a /16's worth). */
#define ADD_PEERS_MAX 65536

/* Manager.AddPeers(aa{sv} peers) → ao: each entry is AddPeer's options plus
 * "Name"; all are checked (errors name the entry) before one authorization,
 * then added all or none. */
int method_add_peers(sd_bus_message *message, void *userdata, sd_bus_error *error);
