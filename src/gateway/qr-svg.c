/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "qr-svg.h"

#define QUIET_ZONE 4

int qr_svg_render(const char *text, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        QRcode *qr;

        errno = 0;
        qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
        if (!qr)
                return errno == ERANGE || errno == EINVAL ? -ERANGE : (errno > 0 ? -errno : -ENOMEM);

        int w = qr->width, full = w + 2 * QUIET_ZONE;
        FILE *f = open_memstream(&buf, &size);
        if (!f) {
                QRcode_free(qr);
                return -ENOMEM;
        }
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                   "shape-rendering=\"crispEdges\">\n"
                   "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
                full, full, full * 8, full * 8, full, full);
        /* one horizontal run of dark modules per path segment */
        for (int y = 0; y < w; y++)
                for (int x = 0; x < w;) {
                        if (!(qr->data[y * w + x] & 1)) {
                                x++;
                                continue;
                        }
                        int run = 1;
                        while (x + run < w && (qr->data[y * w + x + run] & 1))
                                run++;
                        fprintf(f, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
                        x += run;
                }
        fputs("\"/>\n</svg>\n", f);
        QRcode_free(qr);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}
