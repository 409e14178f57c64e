/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Encodes @text as a QR code (level M) and renders it as an SVG document with a
 * 4-module quiet zone. Returns 0 and a malloc'd string, -ERANGE when it does
 * not fit, or another negative errno. */
int qr_svg_render(const char *text, char **ret, size_t *ret_size);
