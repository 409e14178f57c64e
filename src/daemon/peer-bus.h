/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "peer.h"

int peer_bus_register(Manager *m);
/* names: NULL-terminated property names of org.pic.Cell1.Peer */
void peer_bus_emit_changed(Peer *p, char **names);
/* Lists the Peer properties that differ between two versions of a peer. */
void peer_bus_emit_diff(Peer *new, const Peer *old);
