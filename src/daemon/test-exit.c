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

#include "exit.h"
#include "exit-strays.h"
#include "keys.h"
#include "macro.h"

static const char wg_file[] =
        "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress = 10.2.0.2/32\n"
        "DNS = 10.2.0.1\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
        "AllowedIPs = 0.0.0.0/0\nEndpoint = 198.51.100.20:51820\n";

static const char ovpn_file[] =
        "client\nremote 198.51.100.7 1194\ndhcp-option DNS 10.8.0.1\n<ca>\nA\n</ca>\n<cert>\nC\n</cert>\n<key>\nK\n</key>\n";

/* Stored and read back: the same exit, for each type. */
static Exit *round_trip(Exit *e) {
        _cleanup_(freep) char *text = NULL;
        char why[256] = "";
        Exit *back = NULL;

        assert_int_equal(exit_to_json(e, &text), 0);
        if (exit_from_json(text, &back, why, sizeof why) < 0)
                fail_msg("%s: %s", text, why);
        assert_string_equal(back->name, e->name);
        assert_int_equal(back->type, e->type);
        assert_int_equal(back->number, e->number);
        assert_string_equal(back->test_target, e->test_target);
        return back;
}

static void test_types_round_trip(void **state) {
        char why[256] = "";
        uint32_t dns[4], addr;
        uint8_t prefix;

        _cleanup_(exit_freep) Exit *wg = NULL;
        assert_int_equal(exit_new("vpn", EXIT_TYPE_WIREGUARD, 1, &wg), 0);
        assert_int_equal(exit_set_config(wg, wg_file, why, sizeof why), 0);
        _cleanup_(exit_freep) Exit *wg2 = round_trip(wg);
        assert_string_equal(wg2->config_text, wg_file);
        assert_int_equal(exit_dns_servers(wg2, dns, 4), 1);
        assert_int_equal(dns[0], 0x0a020001);
        assert_int_equal(exit_tunnel_address(wg2, &addr, &prefix), 0);
        assert_int_equal(addr, 0x0a020002);

        _cleanup_(exit_freep) Exit *ovpn = NULL;
        assert_int_equal(exit_new("work", EXIT_TYPE_OPENVPN, 2, &ovpn), 0);
        assert_int_equal(exit_set_config(ovpn, ovpn_file, why, sizeof why), 0);
        _cleanup_(exit_freep) Exit *ovpn2 = round_trip(ovpn);
        assert_string_equal(ovpn2->ovpn.remote, "198.51.100.7 1194");
        assert_int_equal(exit_dns_servers(ovpn2, dns, 4), 1);
        assert_int_equal(exit_tunnel_address(ovpn2, &addr, &prefix), -ENOENT); /* the server assigns it */

        _cleanup_(exit_freep) Exit *cell = NULL;
        assert_int_equal(exit_new("alice", EXIT_TYPE_CELL, 3, &cell), 0);
        memset(cell->cell_private_key, 0x42, WG_KEY_LEN);
        _cleanup_(exit_freep) Exit *cell2 = round_trip(cell);
        assert_memory_equal(cell2->cell_private_key, cell->cell_private_key, WG_KEY_LEN);
        assert_null(cell2->config_text);

        _cleanup_(exit_freep) Exit *tor = NULL;
        assert_int_equal(exit_new("tor", EXIT_TYPE_TOR, 4, &tor), 0);
        _cleanup_(exit_freep) Exit *tor2 = round_trip(tor);
        assert_int_equal(exit_tcp_port(tor2), 9046);
        assert_int_equal(exit_dns_port(tor2), 9047);
        assert_int_equal(exit_tcp_port(wg2), 0);

        /* a proxy: its URL (credentials and all) and resolvers survive; the defaults when none are given */
        _cleanup_(exit_freep) Exit *px = NULL;
        assert_int_equal(exit_new("px", EXIT_TYPE_PROXY, 5, &px), 0);
        assert_int_equal(exit_set_proxy(px, "socks5://me:pa%40ss@192.0.2.10:1080", NULL, why, sizeof why), 0);
        assert_int_equal(exit_dns_servers(px, dns, 4), 2);
        assert_int_equal(dns[0], 0x01010101);
        char *resolvers[] = { (char *) "192.0.2.53", NULL };
        assert_int_equal(exit_set_proxy(px, "http://192.0.2.10:3128/", resolvers, why, sizeof why), 0);
        _cleanup_(exit_freep) Exit *px2 = round_trip(px);
        assert_string_equal(px2->proxy_text, "http://192.0.2.10:3128/");
        assert_int_equal(px2->proxy.kind, PROXY_HTTP);
        assert_int_equal(px2->proxy.port, 3128);
        assert_int_equal(exit_dns_servers(px2, dns, 4), 1);
        assert_int_equal(dns[0], 0xc0000235);
        assert_int_equal(exit_tcp_port(px2), 9048);
        assert_int_equal(exit_dns_port(px2), 9049);
        /* refused: e unchanged, and the password is in no message */
        char *bad[] = { (char *) "dns.example", NULL };
        assert_int_equal(exit_set_proxy(px, "socks5://me:hunter2@192.0.2.10:1080", bad, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "DnsServers"));
        assert_int_equal(exit_set_proxy(px, "socks5://me:hunter2@proxy.example:1080", NULL, why, sizeof why), -EINVAL);
        assert_null(strstr(why, "hunter2"));
        assert_string_equal(px->proxy_text, "http://192.0.2.10:3128/");
}

static void test_refusals(void **state) {
        static const struct {
                const char *json, *words;
        } cases[] = {
                { "{\"schema\":2,\"name\":\"vpn\",\"type\":\"wireguard\",\"number\":1,\"created\":0,\"config\":\"\","
                  "\"test_target\":\"1.1.1.1:443\"}", "schema" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"socks\",\"number\":1,\"created\":0,"
                  "\"test_target\":\"1.1.1.1:443\"}", "type" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"sshuttle\",\"number\":1,\"created\":0,"
                  "\"test_target\":\"1.1.1.1:443\"}", "target, ssh_key and host_key" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"wireguard\",\"number\":65,\"created\":0,\"config\":\"\","
                  "\"test_target\":\"1.1.1.1:443\"}", "number" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"tor\",\"number\":1,\"created\":0,\"config\":\"x\","
                  "\"test_target\":\"1.1.1.1:443\"}", "no a config" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"cell\",\"number\":1,\"created\":0,"
                  "\"test_target\":\"1.1.1.1:443\"}", "private_key" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"proxy\",\"number\":1,\"created\":0,"
                  "\"test_target\":\"1.1.1.1:443\"}", "dns_servers" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"proxy\",\"number\":1,\"created\":0,"
                  "\"proxy\":\"socks5://10.0.0.1:1080\",\"dns_servers\":[],\"test_target\":\"1.1.1.1:443\"}",
                  "DnsServers" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"tor\",\"number\":1,\"created\":0,"
                  "\"proxy\":\"socks5://10.0.0.1:1080\",\"dns_servers\":[\"1.1.1.1\"],\"test_target\":\"1.1.1.1:443\"}",
                  "only to one" },
                { "{\"schema\":1,\"name\":\"vpn\",\"type\":\"tor\",\"number\":1,\"created\":0,"
                  "\"test_target\":\"example.com:443\"}", "TestTarget" },
                { "{\"schema\":1,\"name\":\"../x\",\"type\":\"tor\",\"number\":1,\"created\":0,"
                  "\"test_target\":\"1.1.1.1:443\"}", "name" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char why[256] = "";
                Exit *e = NULL;
                assert_int_equal(exit_from_json(cases[i].json, &e, why, sizeof why), -EINVAL);
                if (!strstr(why, cases[i].words))
                        fail_msg("%s: '%s' does not say '%s'", cases[i].json, why, cases[i].words);
        }
}

static void test_settings_refused_leave_it_unchanged(void **state) {
        char why[256] = "";
        _cleanup_(exit_freep) Exit *e = NULL;

        assert_int_equal(exit_new("vpn", EXIT_TYPE_WIREGUARD, 1, &e), 0);
        assert_int_equal(exit_set_config(e, wg_file, why, sizeof why), 0);
        char *named = strdup(wg_file);
        assert_non_null(named);
        char *at = strstr(named, "198.51.100.20");
        memcpy(at, "vpn.example.c", 13); /* a name where the address was */
        assert_int_equal(exit_set_config(e, named, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "Endpoint"));
        assert_null(strstr(why, "yAnz5TF")); /* never a key in a message */
        assert_string_equal(e->config_text, wg_file);
        free(named);
        assert_int_equal(exit_set_test_target(e, "[::1]:443", why, sizeof why), -EINVAL);
        assert_string_equal(e->test_target, EXIT_DEFAULT_TEST_TARGET);
}

static void test_stray_unit_names(void **state) {
        char name[16];

        assert_true(exit_strays_unit_exit_name("pic-exit-vpn.service", name, sizeof name));
        assert_string_equal(name, "vpn");
        assert_true(exit_strays_unit_exit_name("pic-exit-a-b_c.service", name, sizeof name));
        assert_string_equal(name, "a-b_c");
        assert_false(exit_strays_unit_exit_name("pic-exit-.service", name, sizeof name));
        assert_false(exit_strays_unit_exit_name("pic-exit-vpn.socket", name, sizeof name));
        assert_false(exit_strays_unit_exit_name("pic-dns.service", name, sizeof name));
        assert_false(exit_strays_unit_exit_name("pic-celld.service", name, sizeof name));
        assert_false(exit_strays_unit_exit_name("pic-exit-a-name-far-too-long.service", name, sizeof name));
}

static void test_state(void **state) {
        _cleanup_(exit_freep) Exit *e = NULL;
        uint64_t now = 1800000000000000ULL;

        assert_int_equal(exit_new("vpn", EXIT_TYPE_WIREGUARD, 1, &e), 0);
        e->runner = EXIT_RUNNER_STOPPED;
        assert_int_equal(exit_state(e, now), EXIT_DOWN);
        e->runner = EXIT_RUNNER_RUNNING;
        assert_int_equal(exit_state(e, now), EXIT_STARTING); /* no handshake yet */
        e->latest_handshake_usec = now - 1000000;
        assert_int_equal(exit_state(e, now), EXIT_UP);
        e->latest_handshake_usec = now - EXIT_FRESH_USEC;
        assert_int_equal(exit_state(e, now), EXIT_DOWN);   /* stale */
        e->runner = EXIT_RUNNER_FAILED;
        assert_int_equal(exit_state(e, now), EXIT_FAILED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_types_round_trip),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_settings_refused_leave_it_unchanged),
                cmocka_unit_test(test_stray_unit_names),
                cmocka_unit_test(test_state),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
