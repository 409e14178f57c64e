/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <qrencode.h>

#include "macro.h"
#include "qr.h"

#define CONFIG \
        "[Interface]\n" \
        "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n" \
        "Address = 10.0.0.2/32\n" \
        "DNS = 10.0.0.1\n" \
        "\n" \
        "[Peer]\n" \
        "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n" \
        "Endpoint = cell.example.org:51820\n" \
        "AllowedIPs = 10.0.0.0/24\n"

/* Splits rendered output into lines of glyphs; each glyph is one UTF-8 character. */
static char ***split_glyphs(const char *s, size_t *ret_lines) {
        char ***lines = NULL;
        size_t n = 0;

        while (*s) {
                const char *eol = strchr(s, '\n');
                char **glyphs = NULL;
                size_t m = 0;

                assert_non_null(eol);
                for (const char *p = s; p < eol; ) {
                        size_t len = 1;

                        while (p + len < eol && (p[len] & 0xC0) == 0x80)
                                len++;
                        glyphs = realloc(glyphs, (m + 2) * sizeof(char *));
                        glyphs[m++] = strndup(p, len);
                        glyphs[m] = NULL;
                        p += len;
                }
                lines = realloc(lines, (n + 1) * sizeof(char **));
                lines[n++] = glyphs;
                s = eol + 1;
        }
        *ret_lines = n;
        return lines;
}

static void free_glyphs(char ***lines, size_t n) {
        for (size_t i = 0; i < n; i++) {
                for (char **g = lines[i]; g && *g; g++)
                        free(*g);
                free(lines[i]);
        }
        free(lines);
}

static size_t glyph_count(char **glyphs) {
        size_t n = 0;

        while (glyphs && glyphs[n])
                n++;
        return n;
}

static unsigned module_width(const char *text) {
        QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        unsigned w;

        assert_non_null(qr);
        w = (unsigned) qr->width;
        QRcode_free(qr);
        return w;
}

static void check_render(const char *text, unsigned quiet, QrInk ink) {
        const char *quiet_glyph = ink == QR_INK_LIGHT ? "█" : " ";
        _cleanup_(freep) char *out = NULL;
        unsigned total = module_width(text) + 2 * quiet;
        char ***lines;
        size_t n;

        assert_int_equal(qr_render_text(text, quiet, ink, &out), 0);
        lines = split_glyphs(out, &n);

        /* Two module rows per line, one module per column. */
        assert_int_equal(n, (total + 1) / 2);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(glyph_count(lines[i]), total);
                for (size_t j = 0; j < total; j++)
                        assert_true(streq(lines[i][j], "█") || streq(lines[i][j], "▀") ||
                                    streq(lines[i][j], "▄") || streq(lines[i][j], " "));
        }

        /* The quiet zone is light on every side: whole lines at the top... */
        for (size_t i = 0; i < quiet / 2; i++)
                for (size_t j = 0; j < total; j++)
                        assert_string_equal(lines[i][j], quiet_glyph);

        /* ...and whole columns left and right (QR sizes are odd, so the last
         * line holds a single module row drawn as an upper half or nothing). */
        for (size_t i = 0; i < n - 1; i++)
                for (size_t j = 0; j < quiet; j++) {
                        assert_string_equal(lines[i][j], quiet_glyph);
                        assert_string_equal(lines[i][total - 1 - j], quiet_glyph);
                }
        for (size_t j = 0; j < total; j++)
                assert_string_equal(lines[n - 1][j], ink == QR_INK_LIGHT ? "▀" : " ");

        /* The top-left finder pattern's corner module is dark. */
        if (quiet % 2 == 0) {
                const char *corner = lines[quiet / 2][quiet];
                /* Rows quiet and quiet+1 of the finder's left edge are both dark. */
                assert_string_equal(corner, ink == QR_INK_LIGHT ? " " : "█");
        }

        free_glyphs(lines, n);
}

static void test_render_short(void **state) {
        check_render("hello", 2, QR_INK_LIGHT);
        check_render("hello", 2, QR_INK_DARK);
}

static void test_render_config(void **state) {
        check_render(CONFIG, QR_QUIET_ZONE_DEFAULT, QR_INK_LIGHT);
        check_render(CONFIG, 4, QR_INK_LIGHT);
        check_render(CONFIG, 3, QR_INK_DARK);
}

static void test_config_fits_terminal(void **state) {
        /* A typical client config must fit an 80-column terminal. */
        assert_true(module_width(CONFIG) + 2 * QR_QUIET_ZONE_DEFAULT <= 80);
}

static void test_too_long(void **state) {
        _cleanup_(freep) char *big = malloc(4001);
        char *out = NULL;

        assert_non_null(big);
        memset(big, 'x', 4000);
        big[4000] = '\0';
        assert_int_equal(qr_render_text(big, 2, QR_INK_LIGHT, &out), -ERANGE);
        assert_null(out);
}

static void test_invalid(void **state) {
        char *out = NULL;

        assert_int_equal(qr_render_text(NULL, 2, QR_INK_LIGHT, &out), -EINVAL);
        assert_null(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_short),
                cmocka_unit_test(test_render_config),
                cmocka_unit_test(test_config_fits_terminal),
                cmocka_unit_test(test_too_long),
                cmocka_unit_test(test_invalid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
