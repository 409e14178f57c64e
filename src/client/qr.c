/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <qrencode.h>
#include <stdbool.h>

#include "macro.h"
#include "qr.h"

static void qrcode_freep(QRcode **qr) {
        if (*qr)
                QRcode_free(*qr);
}

/* Whether the module at (x, y) of the code plus its quiet zone is dark. */
static bool module_is_dark(const QRcode *qr, unsigned quiet, unsigned x, unsigned y) {
        unsigned w = (unsigned) qr->width;

        if (x < quiet || y < quiet || x >= quiet + w || y >= quiet + w)
                return false;
        return qr->data[(y - quiet) * w + (x - quiet)] & 1;
}

/* Whether the terminal should put ink at (x, y); below the last row it never does. */
static bool module_has_ink(const QRcode *qr, unsigned quiet, QrInk ink, unsigned x, unsigned y) {
        unsigned total = (unsigned) qr->width + 2 * quiet;

        if (y >= total)
                return false;
        return module_is_dark(qr, quiet, x, y) == (ink == QR_INK_DARK);
}

int qr_render_text(const char *text, unsigned quiet, QrInk ink, char **ret) {
        _cleanup_(qrcode_freep) QRcode *qr = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        unsigned total;

        if (!text || !ret || quiet > 16)
                return -EINVAL;

        errno = 0;
        qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (!qr)
                return errno > 0 ? -errno : -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        total = (unsigned) qr->width + 2 * quiet;
        for (unsigned y = 0; y < total; y += 2) {
                for (unsigned x = 0; x < total; x++) {
                        bool top = module_has_ink(qr, quiet, ink, x, y);
                        bool bottom = module_has_ink(qr, quiet, ink, x, y + 1);

                        fputs(top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ", f);
                }
                fputc('\n', f);
        }

        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(buf);
        return 0;
}
