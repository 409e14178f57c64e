/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An OpenVPN client configuration (.ovpn) as an exit of type "openvpn" takes
 * it, read strictly: only the directives a client needs to reach its server
 * (an allow-list), certificates and keys inline (<ca>…</ca>), never a file
 * path. What would run something (script-security, up, down, plugin, …),
 * write or read files of the cell's, open a management port, or take the
 * device or routing out of PIC's hands is refused by name. PIC runs OpenVPN
 * with its own device, management socket and --route-noexec on top. Model
 * code: no bus, no kernel. */

#include <stdbool.h>
#include <stddef.h>

#define OVPN_TEXT_MAX (64 * 1024) /* inline certificates and keys make it larger than a wg-quick file */
#define OVPN_DNS_MAX 4

typedef struct OvpnConfig {
        char *text;      /* the directives kept, one per line, inline blocks as given: what the unit reads */
        char *remote;    /* the first remote, "host port", for display */
        char **dns;      /* "dhcp-option DNS a.b.c.d" lines: where its peers' DNS goes */
} OvpnConfig;

void ovpn_done(OvpnConfig *c);

/* -EINVAL with a message naming the line and the directive (never quoting an
 * inline block) in buf; -E2BIG when the text is over OVPN_TEXT_MAX. */
int ovpn_parse(const char *text, OvpnConfig *ret, char *buf, size_t size);
