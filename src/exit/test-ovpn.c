/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "ovpn.h"
#include "ovpn-mgmt.h"

#define BLOCKS "<ca>\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n</ca>\n" \
               "<cert>\nCERT\n</cert>\n<key>\nKEY\n</key>\n"

static const char provider_file[] =
        "# from a provider\r\n"
        "client\n"
        "dev tun\n"
        "proto udp\n"
        "remote 198.51.100.7 1194\n"
        "remote vpn2.example.net 443 tcp\n"
        "resolv-retry infinite\n"
        "nobind\n"
        "persist-key\n"
        "persist-tun\n"
        "remote-cert-tls server\n"
        "cipher AES-256-GCM\n"
        "data-ciphers AES-256-GCM:CHACHA20-POLY1305\n"
        "redirect-gateway def1\n"
        "dhcp-option DNS 10.8.0.1\n"
        "dhcp-option DOMAIN vpn.example\n"
        "verb 3\n"
        BLOCKS;

static void test_provider_file(void **state) {
        OvpnConfig c = {};
        char why[256] = "";

        assert_int_equal(ovpn_parse(provider_file, &c, why, sizeof why), 0);
        assert_string_equal(c.remote, "198.51.100.7 1194");
        assert_string_equal(c.dns[0], "10.8.0.1");
        assert_null(c.dns[1]);
        /* PIC's own: no device, no redirect, no DNS option in what OpenVPN reads */
        assert_null(strstr(c.text, "dev "));
        assert_null(strstr(c.text, "redirect-gateway"));
        assert_null(strstr(c.text, "dhcp-option"));
        assert_non_null(strstr(c.text, "remote vpn2.example.net 443 tcp\n"));
        assert_non_null(strstr(c.text, "<key>\nKEY\n</key>\n"));
        ovpn_done(&c);
}

static void test_refusals(void **state) {
        static const struct {
                const char *line, *words;
        } cases[] = {
                { "script-security 2\n", "runs a program" },
                { "up /etc/openvpn/update-resolv-conf\n", "runs a program" },
                { "plugin /usr/lib/x.so\n", "runs a program" },
                { "management 127.0.0.1 7505\n", "management" },
                { "ca /etc/ssl/ca.pem\n", "inline" },
                { "log /var/log/x\n", "files of the cell's" },
                { "route 10.0.0.0 255.0.0.0\n", "PIC's to decide" },
                { "comp-lzo yes\n", "compression" },
                { "server 10.8.0.0 255.255.255.0\n", "server's" },
                { "dev tap\n", "tun device" },
                { "remote 1.2.3.4 99999\n", "not a port" },
                { "cipher \"AES\"\n", "quotes" },
                { "--client\n", "leading '--'" },
                { "frobnicate\n", "not a directive" },
                { "<dh>\nX\n</dh>\n", "not an inline block" },
                { "dhcp-option DNS vpn.example\n", "IPv4 address" },
                { "verb 3\x01\n", "not text" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char text[4096], why[256] = "";
                OvpnConfig c = {};
                snprintf(text, sizeof text, "client\nremote 198.51.100.7 1194\n%s" BLOCKS, cases[i].line);
                assert_int_equal(ovpn_parse(text, &c, why, sizeof why), -EINVAL);
                if (!strstr(why, cases[i].words))
                        fail_msg("%s: '%s' does not say '%s'", cases[i].line, why, cases[i].words);
                assert_non_null(strstr(why, "line 3"));
        }
}

static void test_whole_file_refusals(void **state) {
        char why[256] = "";
        OvpnConfig c = {};

        assert_int_equal(ovpn_parse("client\n" BLOCKS, &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "remote"));
        assert_int_equal(ovpn_parse("client\nremote 1.2.3.4\n<ca>\nX\n</ca>\n", &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "<cert>"));
        assert_int_equal(ovpn_parse("client\nremote 1.2.3.4\n<ca>\nX\n", &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "not closed"));
        assert_int_equal(ovpn_parse("client\nremote 1.2.3.4\n" BLOCKS "<ca>\nY\n</ca>\n", &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "twice"));

        char *big = malloc(OVPN_TEXT_MAX + 2);
        assert_non_null(big);
        memset(big, '#', OVPN_TEXT_MAX + 1);
        big[OVPN_TEXT_MAX + 1] = 0;
        assert_int_equal(ovpn_parse(big, &c, why, sizeof why), -E2BIG);
        free(big);
}

static void test_management_lines(void **state) {
        OvpnStatus st = {};

        assert_int_equal(ovpn_mgmt_line(">INFO:OpenVPN Management Interface Version 5", &st), 0);
        assert_int_equal(ovpn_mgmt_line(">STATE:1800000000,CONNECTING,,,,,,", &st), 1);
        assert_false(ovpn_status_connected(&st));
        assert_int_equal(ovpn_mgmt_line(">STATE:1800000001,CONNECTED,SUCCESS,10.8.0.6,198.51.100.7,1194,,", &st), 1);
        assert_true(ovpn_status_connected(&st));
        assert_string_equal(st.local_address, "10.8.0.6");
        /* the answer to "state": the same, without the prefix; unchanged is 0 */
        assert_int_equal(ovpn_mgmt_line("1800000001,CONNECTED,SUCCESS,10.8.0.6,198.51.100.7,1194,,", &st), 0);
        assert_int_equal(ovpn_mgmt_line(">BYTECOUNT:1234,5678", &st), 1);
        assert_int_equal(st.rx_bytes, 1234);
        assert_int_equal(st.tx_bytes, 5678);
        assert_int_equal(ovpn_mgmt_line(">STATE:1800000002,RECONNECTING,ping-restart,,,,,", &st), 1);
        assert_false(ovpn_status_connected(&st));
        assert_string_equal(st.local_address, "");

        static const char *const bad[] = { ">STATE:x,CONNECTED", ">STATE:1,connected", ">STATE:1,CONNECTED,S,10.8.0.999",
                                           ">BYTECOUNT:1", ">BYTECOUNT:-1,2", ">BYTECOUNT:99999999999999999999,1" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                OvpnStatus before = st;
                assert_int_equal(ovpn_mgmt_line(bad[i], &st), -EINVAL);
                assert_memory_equal(&before, &st, sizeof st);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_management_lines),
                cmocka_unit_test(test_provider_file),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_whole_file_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
