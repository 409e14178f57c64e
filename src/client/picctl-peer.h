/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picctl-bus.h"

/* The org.pic.Cell1.Peer properties of one peer. */
typedef struct PeerInfo {
        char *name;
        char *public_key;
        char *address;
        char **service_access;
        char **network_access;
        uint16_t persistent_keepalive;
        bool has_preshared_key;
        bool enabled;
        uint64_t created;            /* µs since the epoch */
        uint64_t latest_handshake;   /* µs since the epoch, 0 = never */
        uint64_t rx_bytes;
        uint64_t tx_bytes;
        char *endpoint;
} PeerInfo;

void peer_info_done(PeerInfo *p);
void peer_infos_free(PeerInfo *peers, size_t n);

/* Every peer, sorted by name, from one ObjectManager.GetManagedObjects call;
 * failures are reported on stderr. */
int peer_infos_read_all(Context *c, PeerInfo **ret, size_t *ret_n);

/* A JSON array of the strings of l (NULL: empty); NULL when out of memory. */
cJSON *json_string_array(char *const *l);

/* Prints @json (consumed, NULL means out of memory) on stdout. */
int print_json(cJSON *json);
