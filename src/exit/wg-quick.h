/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A wg-quick(8) configuration as an exit of type "wireguard" takes it (the file
 * a VPN provider hands out), read strictly: exactly one [Interface] and one
 * [Peer], the keys an exit needs, each checked. What would run something
 * (PreUp, PostUp, PreDown, PostDown) or take routing out of PIC's hands
 * (Table, FwMark, SaveConfig) is refused by name, never ignored: PIC never
 * runs an exit's commands. Model code: no bus, no kernel. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

#define WG_QUICK_TEXT_MAX (16 * 1024)
#define WG_QUICK_LIST_MAX 16   /* addresses, DNS servers, AllowedIPs */

typedef struct WgQuickConfig {
        /* [Interface] */
        WgKey private_key;
        char **addresses;      /* "a.b.c.d/n" or "v6/n", at least one IPv4 */
        char **dns;            /* addresses only (an exit resolves through these) */
        uint16_t mtu;          /* 0: not given */
        uint16_t listen_port;  /* 0: not given */
        /* [Peer]: the exit's server */
        WgKey peer_public_key;
        bool has_preshared_key;
        WgKey preshared_key;
        char *endpoint;        /* host:port */
        char **allowed_ips;    /* includes 0.0.0.0/0 (or both halves): it carries the internet */
        uint16_t persistent_keepalive;
} WgQuickConfig;

void wg_quick_done(WgQuickConfig *c);

/* -EINVAL with a message naming the line and the key (never echoing a key's
 * value) in buf; -E2BIG when the text is over WG_QUICK_TEXT_MAX. */
int wg_quick_parse(const char *text, WgQuickConfig *ret, char *buf, size_t size);
