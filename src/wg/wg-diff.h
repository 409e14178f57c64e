/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "wg.h"

/* What to set on a device that holds `have` so that it holds `want`: the
 * private key and listen port when they differ (and want has them), every
 * wanted peer that is missing or differs (preshared key, keepalive, allowed
 * IPs), and the removal of every peer that is not wanted. Peers already right
 * are left out, so their sessions survive. The result may be empty (no flags,
 * no peers): nothing to do. */
int wg_device_diff(const WgDevice *want, const WgDevice *have, WgDevice **ret);
