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
        char *exit_name;             /* the exit its internet traffic leaves by, "" = the uplink */
} PeerInfo;

void peer_info_done(PeerInfo *p);
void peer_infos_free(PeerInfo *peers, size_t n);

/* Every peer, sorted by name, from one ObjectManager.GetManagedObjects call;
 * failures are reported on stderr. */
int peer_infos_read_all(Context *c, PeerInfo **ret, size_t *ret_n);

/* A JSON array of the strings of l (NULL: empty); NULL when out of memory. */
cJSON *json_string_array(char *const *l);

/* The properties of the peer at path (reported on stderr when it fails). */
int peer_info_read(Context *c, const char *path, PeerInfo *ret);
/* The {key: <as>} entry of an a{sv} being built. */
int append_strv_entry(sd_bus_message *m, const char *key, char **access);

#define ADD_SYNOPSIS \
        "NAME [--public-key KEY] [--address IP] [--access SERVICE,...]\n" \
        "                [--network NETWORK,...] [--keepalive SECONDS] [--preshared-key[=KEY]]"
/* picctl-peer-add.c */
int peer_add(int argc, char *argv[], Context *c);

/* picctl-grants.c */
#define ACCESS_SYNOPSIS "NAME [+SERVICE|-SERVICE|SERVICE]..."
#define NETWORK_SYNOPSIS "NAME [+NETWORK|-NETWORK|NETWORK]..."
int peer_access(int argc, char *argv[], Context *c);
int peer_network(int argc, char *argv[], Context *c);

/* picctl-exit.c */
#define PEER_EXIT_SYNOPSIS "exit NAME [EXIT|--none]"
int peer_exit(int argc, char *argv[], Context *c);

/* Prints @json (consumed, NULL means out of memory) on stdout. */
int print_json(cJSON *json);
