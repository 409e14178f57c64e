/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One small API over WireGuard, with two backends behind it: the kernel's
 * generic netlink family (wg-genl.c) and wireguard-go's UAPI socket
 * (wg-uapi.c). Plain structs with a flags mask say which fields are set, so
 * the same struct describes a full configuration or a partial update. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "macro.h"

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 45 /* 44 characters and NUL */

typedef uint8_t WgKey[WG_KEY_LEN];

/* WireGuard's REJECT_AFTER_TIME: no session outlives it, and a peer in use
 * rekeys every 2 minutes, so a handshake within it means the peer is there. */
#define WG_REJECT_AFTER_TIME_USEC (180ULL * 1000000ULL)

/* Whether a handshake at handshake_usec (CLOCK_REALTIME µs, 0: never) is fresh at now_usec. */
static inline bool wg_handshake_is_fresh(uint64_t handshake_usec, uint64_t now_usec) {
        return handshake_usec != 0 && now_usec < handshake_usec + WG_REJECT_AFTER_TIME_USEC;
}

typedef struct WgAllowedIp {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr ip4;
                struct in6_addr ip6;
        };
        uint8_t cidr;
        struct WgAllowedIp *next;
} WgAllowedIp;

typedef enum WgPeerFlags {
        WG_PEER_REMOVE_ME = 1U << 0,
        WG_PEER_REPLACE_ALLOWEDIPS = 1U << 1,
        WG_PEER_HAS_PUBLIC_KEY = 1U << 2,
        WG_PEER_HAS_PRESHARED_KEY = 1U << 3,
        WG_PEER_HAS_PERSISTENT_KEEPALIVE = 1U << 4,
        WG_PEER_HAS_ENDPOINT = 1U << 5,
} WgPeerFlags;

typedef union WgEndpoint {
        struct sockaddr addr;
        struct sockaddr_in addr4;
        struct sockaddr_in6 addr6;
} WgEndpoint;

typedef struct WgPeer {
        WgPeerFlags flags;
        WgKey public_key;
        WgKey preshared_key;
        WgEndpoint endpoint;
        uint16_t persistent_keepalive;
        /* read back only */
        uint64_t last_handshake_usec; /* since the epoch, 0 = never */
        uint64_t rx_bytes, tx_bytes;
        WgAllowedIp *allowed_ips;
        struct WgPeer *next;
} WgPeer;

typedef enum WgDeviceFlags {
        WG_DEVICE_REPLACE_PEERS = 1U << 0,
        WG_DEVICE_HAS_PRIVATE_KEY = 1U << 1,
        WG_DEVICE_HAS_PUBLIC_KEY = 1U << 2,
        WG_DEVICE_HAS_LISTEN_PORT = 1U << 3,
        WG_DEVICE_HAS_FWMARK = 1U << 4,
} WgDeviceFlags;

typedef struct WgDevice {
        char name[16];
        uint32_t ifindex;
        WgDeviceFlags flags;
        WgKey private_key;
        WgKey public_key;
        uint16_t listen_port;
        uint32_t fwmark;
        WgPeer *peers;
        WgPeer *last_peer; /* keeps appending O(1); maintained by wg_device_append_peer() */
} WgDevice;

/* Frees the device, its peers and their allowed IPs; accepts NULL, returns NULL. */
WgDevice *wg_device_free(WgDevice *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(WgDevice *, wg_device_free);
/* Appends an empty peer to the device's list (keeps order); NULL on OOM. */
WgPeer *wg_device_append_peer(WgDevice *d);
/* Appends an allowed IP to the peer's list (keeps order); NULL on OOM. */
WgAllowedIp *wg_peer_append_allowed_ip(WgPeer *p, int family, const void *addr, uint8_t cidr);

/* "a.b.c.d:port" or "[v6]:port" (already checked to be host:port) into an
 * endpoint; -EINVAL for a name. */
int wg_endpoint_parse(const char *s, WgEndpoint *ret);
size_t wg_device_count_peers(const WgDevice *d);

typedef enum WgBackendKind {
        WG_BACKEND_KERNEL,
        WG_BACKEND_USERSPACE,
} WgBackendKind;

const char *wg_backend_kind_to_string(WgBackendKind k);
