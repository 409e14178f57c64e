/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "wg.h"

/* wireguard-go's text protocol on RUN_DIR/IFNAME.sock ("set=1" / "get=1"). */

/* Formats the body of a set=1 request (without the "set=1" line and the final
 * blank line). */
int wg_uapi_format_set(const WgDevice *dev, char **ret, size_t *ret_size);
/* Parses a get=1 reply (key=value lines up to and including "errno=N") into
 * dev. Returns the reply's errno as a negative value when it is not 0. */
int wg_uapi_parse_get(const char *text, WgDevice *dev);

int wg_uapi_socket_path(const char *run_dir, const char *ifname, char *buf, size_t size);
/* Connects to the device's socket; -ENOENT / -ECONNREFUSED when nobody serves it. */
int wg_uapi_connect(const char *run_dir, const char *ifname);
int wg_uapi_set_device(const char *run_dir, const WgDevice *dev);
int wg_uapi_get_device(const char *run_dir, const char *ifname, WgDevice **ret);
