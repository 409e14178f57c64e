/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which QR modules the terminal draws with its foreground colour. */
typedef enum QrInk {
        QR_INK_LIGHT, /* light text on a dark background, the usual terminal */
        QR_INK_DARK,  /* dark text on a light background */
} QrInk;

#define QR_QUIET_ZONE_DEFAULT 2U

/* Encodes @text as a QR code (error correction level M, 8-bit mode) and renders
 * it with the Unicode half blocks ▀ ▄ █ and space, two module rows per line,
 * surrounded by @quiet light modules. Each line ends in '\n'. Returns 0 and a
 * malloc'd string in *ret, -ERANGE if @text does not fit in a QR code, or
 * another negative errno. */
int qr_render_text(const char *text, unsigned quiet, QrInk ink, char **ret);
