/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "peer.h"

/* The a{sv} that AddPeer and Peer.Update share, read and checked once. */
typedef struct PeerOptions {
        const char *name; /* AddPeers: each entry names its peer */
        const char *public_key, *address, *psk_string;
        char **access, **networks;
        const char *exit;
        uint16_t keepalive;
        int psk_generate;
        bool has_name, has_pub, has_addr, has_access, has_networks, has_keepalive, has_psk_s, has_psk_b, has_exit;
        /* parsed */
        WgKey key, psk;
        char key_b64[WG_KEY_B64_LEN];
        uint32_t addr;
} PeerOptions;

void peer_options_done(PeerOptions *o);
/* Reads the dictionary and checks every value's form (InvalidArgs naming the key). */
int peer_options_read(sd_bus_message *m, PeerOptions *o, bool with_name, sd_bus_error *error);
/* Checks the options against the cell and the other peers (self: the peer
 * being updated, or NULL): subnet, taken addresses and keys. */
int peer_options_check(Manager *m, const PeerOptions *o, const Peer *self, sd_bus_error *error);
/* Writes the options into p (a fresh peer or a copy being changed). */
int peer_options_apply(const PeerOptions *o, Peer *p);
