/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Links as WireGuard peers of the cell's device (desired.h), and their
 * handshakes and counters back from it. */

#include "desired.h"

extern const Contributor link_contributor;
/* Takes the links' statistics from the device as read; announces changes. */
void link_wg_refresh_stats(Manager *m, const WgDevice *d);
