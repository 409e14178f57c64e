/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Moves the daemon into the network namespace /run/netns/NAME. */
int sandbox_enter_netns(const char *name);
/* Makes run_dir appear at /run/wireguard for this process and its children
 * only (a private mount namespace), so the wireguard-go the daemon starts
 * puts its UAPI socket there and not into the host's /run/wireguard. When
 * the host has no /run/wireguard, the namespace gets a private /run: call it
 * after connecting to the bus. */
int sandbox_bind_wireguard_run_dir(const char *run_dir);
