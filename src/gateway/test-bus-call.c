/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bus-call.h"
#include "qr-svg.h"

static void test_error_mapping(void **state) {
        static const struct {
                const char *name;
                unsigned status;
                const char *code;
        } cases[] = {
                { "org.freedesktop.DBus.Error.InvalidArgs", 400, "invalid" },
                { "org.pic.Cell1.Error.Conflict", 409, "conflict" },
                { "org.pic.Cell1.Error.SetupRequired", 428, "setup_required" },
                { "org.freedesktop.DBus.Error.AccessDenied", 403, "forbidden" },
                { "org.freedesktop.DBus.Error.UnknownObject", 404, "not_found" },
                { "org.freedesktop.DBus.Error.UnknownMethod", 404, "not_found" },
                { "org.pic.Cell1.Error.Failed", 500, "failed" },
                { "org.freedesktop.DBus.Error.NoReply", 504, "timeout" },
                { "org.freedesktop.DBus.Error.Timeout", 504, "timeout" },
                { "org.example.Whatever", 500, "failed" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(cases[i].name, "x");
                const char *code;
                assert_int_equal(bus_error_to_http(&e, &code), cases[i].status);
                assert_string_equal(code, cases[i].code);
        }
}

static void test_error_field(void **state) {
        assert_string_equal(bus_error_field("VpnAddress must be in RFC 1918 space.", cell_fields), "vpn_address");
        assert_string_equal(bus_error_field("ListenPort must be 1-65535.", cell_fields), "listen_port");
        assert_string_equal(bus_error_field("Address 10.0.0.9 is taken by PublicKey x", peer_fields), "address");
        /* whole words only: "PublicKeys" names nothing, "Name" inside "Hostname" neither */
        assert_null(bus_error_field("Hostname PublicKeys", cell_fields));
        assert_null(bus_error_field(NULL, cell_fields));
}

static void test_camel_to_snake(void **state) {
        char buf[64];
        camel_to_snake("VpnAddress", buf, sizeof buf);
        assert_string_equal(buf, "vpn_address");
        camel_to_snake("ListenPort", buf, sizeof buf);
        assert_string_equal(buf, "listen_port");
        camel_to_snake("x", buf, sizeof buf);
        assert_string_equal(buf, "x");
}

static void test_qr_svg(void **state) {
        _cleanup_(freep) char *svg = NULL;
        size_t size;
        assert_int_equal(qr_svg_render("[Interface]\nPrivateKey = abc\n", &svg, &size), 0);
        assert_int_equal(strlen(svg), size);
        assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_non_null(strstr(svg, "<path fill=\"#000\" d=\"M"));
        assert_non_null(strstr(svg, "</svg>"));

        _cleanup_(freep) char *big = malloc(8000), *none = NULL;
        memset(big, 'x', 7999);
        big[7999] = 0;
        assert_int_equal(qr_svg_render(big, &none, &size), -ERANGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_mapping),
                cmocka_unit_test(test_error_field),
                cmocka_unit_test(test_camel_to_snake),
                cmocka_unit_test(test_qr_svg),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
