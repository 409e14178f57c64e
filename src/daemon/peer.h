/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cell.h"
#include "changes.h"
#include "names.h"
#include "wg/wg.h"

typedef struct Manager Manager;

/* One WireGuard client of the cell. */
typedef struct Peer {
        Manager *manager;
        char name[PEER_NAME_MAX + 1];
        char *object_path;

        WgKey public_key;
        char public_key_b64[WG_KEY_B64_LEN];
        bool has_private_key; /* the cell generated the pair and can hand out a full config */
        WgKey private_key;
        bool has_preshared_key;
        WgKey preshared_key;
        uint32_t address; /* host byte order, inside the cell's VPN subnet */
        char **service_access;
        char **network_access; /* firewall_network_names(): internet, lan, peers */
        char exit[PEER_NAME_MAX + 1]; /* the exit its internet leaves by; "": the cell's uplink */
        uint16_t persistent_keepalive;
        bool enabled;
        uint64_t created_usec;
        char *login_password_hash; /* crypto_pwhash string for the web UI, NULL: none */

        /* PropertiesChanged waiting for the end of this loop iteration (changes.c) */
        Changes changes;
        struct Peer *changed_next;
        bool changed_queued;

        /* read from WireGuard on a timer */
        uint64_t latest_handshake_usec, rx_bytes, tx_bytes;
        char endpoint[64];
        bool connected; /* peer_is_connected() as last announced (Connected, pic-peer@NAME.target) */
} Peer;

/* Enabled with a handshake within WireGuard's REJECT_AFTER_TIME (180 s) of now_usec. */
bool peer_is_connected(const Peer *p, uint64_t now_usec);

/* The services a peer may be granted are the firewall's (src/nft/firewall-services.c). */
#define PEER_SERVICES_DOC "dns, web, mail, calendar, files, webdav"

Peer *peer_free(Peer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Peer *, peer_free);
int peer_new(Peer **ret, const char *name);
/* A deep copy, for changes that must be checked before they replace the original. */
int peer_copy(const Peer *p, Peer **ret);

void peer_set_public_key(Peer *p, const WgKey key);
int peer_generate_keys(Peer *p);
#define PEER_NETWORKS_DOC "internet, lan, peers"
/* What a new peer may reach beyond its services, and what a stored peer from
 * before NetworkAccess existed could. */
#define PEER_DEFAULT_NETWORK "internet"

/* -EINVAL with a message naming the bad service. */
int peer_service_access_validate(char *const *services, char *buf, size_t size);
int peer_set_service_access(Peer *p, char *const *services);
/* -EINVAL with a message naming the bad network. */
int peer_network_access_validate(char *const *networks, char *buf, size_t size);
int peer_set_network_access(Peer *p, char *const *networks);

/* "10.0.0.5" or "10.0.0.5/32". */
int peer_address_parse(const char *s, uint32_t *ret);
#define PEER_ADDRESS_ERROR "Address must be an IPv4 address such as 10.0.0.5 (optionally with /32)."

/* The peer as a WireGuard peer entry of the cell's device (its address as /32). */
int peer_to_wg(const Peer *p, WgDevice *d);
/* The wg-quick configuration for the peer's own device; linked_subnets (NULL:
 * none) join AllowedIPs when the peer may reach them ("peers" grant). */
int peer_client_config(const Peer *p, const Cell *cell, char *const *linked_subnets, char **ret);
