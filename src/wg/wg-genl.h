/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel WireGuard backend: the "wireguard" generic netlink family.
 * Message building and parsing are pure functions (unit-tested); the live
 * calls open a NETLINK_GENERIC socket, resolve the family and exchange them. */

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#include "macro.h"
#include "wg.h"

/* Messages of one SET, in order; each must be sent and ACKed before the next. */
typedef struct WgGenlBatch {
        size_t n_messages;
        void **buffers;     /* each holds one struct nlmsghdr */
        size_t buffer_size; /* allocated size of each buffer */
} WgGenlBatch;

WgGenlBatch *wg_genl_batch_free(WgGenlBatch *b);
const struct nlmsghdr *wg_genl_batch_message(const WgGenlBatch *b, size_t i);
DEFINE_TRIVIAL_CLEANUP_FUNC(WgGenlBatch *, wg_genl_batch_free);

/* Builds WG_CMD_SET_DEVICE messages for dev, none larger than max_msg_size.
 * The device is named by ifindex when nonzero, else by name. When the peers do
 * not fit in one message they continue in further ones (a peer's remaining
 * allowed IPs too); only the first carries the device attributes and
 * WGDEVICE_F_REPLACE_PEERS, only a peer's first part its REPLACE_ALLOWEDIPS,
 * preshared key, endpoint and keepalive. Message i has sequence seq + i.
 * Returns -EMSGSIZE when max_msg_size cannot hold any progress. */
int wg_genl_build_set(const WgDevice *dev, uint16_t family_id, uint32_t seq, size_t max_msg_size, WgGenlBatch **ret);

/* Builds the WG_CMD_GET_DEVICE dump request for ifname into buf. */
int wg_genl_build_get(void *buf, size_t size, uint16_t family_id, uint32_t seq, const char *ifname, struct nlmsghdr **ret);

/* Merges one GET dump reply into dev. A first peer carrying the public key of
 * dev's last peer continues it (the kernel split it across messages).
 * Returns -EBADMSG on truncated or malformed attributes. */
int wg_genl_parse_device_message(const struct nlmsghdr *nlh, WgDevice *dev);

/* Live calls. Both return -EPROTONOSUPPORT when the kernel has no WireGuard
 * family (so the caller falls back to userspace), -ENODEV when the interface
 * does not exist, -EOPNOTSUPP when it is not a WireGuard interface, other
 * negative errnos as the kernel reports them. */
int wg_genl_set_device(const WgDevice *dev);
int wg_genl_get_device(const char *ifname, WgDevice **ret);

/* Resolves a generic netlink family's id; -EPROTONOSUPPORT when the kernel has no such family. */
int wg_genl_resolve_family(const char *name, uint16_t *ret);

/* 1 if the kernel's wireguard family resolves, 0 if it does not, negative errno on other errors. */
int wg_genl_available(void);
