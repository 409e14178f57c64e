/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The listener other cells reach (src/link/PROTOCOL.md): it serves only
 * POST /cell/v1/pair, handing the request to Manager.AcceptPairing; the admin
 * API and the web UI are never reachable there. Pairing is rare, so it runs in
 * a thread of its own with its own bus connection, one request at a time, with
 * small limits on everything. */

#include <stdint.h>

typedef struct PairingListener PairingListener;

/* listen: "ADDR:PORT" or "[V6]:PORT", numeric; or, when listen is NULL, the
 * listening socket fd (from systemd). */
int pairing_listener_start(const char *listen, int fd, uint64_t bus_timeout_usec, PairingListener **ret);
PairingListener *pairing_listener_stop(PairingListener *p);
