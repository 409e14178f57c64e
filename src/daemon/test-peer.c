/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "bus-dict.h"
#include "keys.h"
#include "macro.h"
#include "nft/firewall.h"
#include "peer.h"

/* ---- names and the model ---- */

static void test_peer_new_names(void **state) {
        static const char *const good[] = {
                "laptop", "a", "7", "Phone-2", "work_pc", "a-_-b", "abcdefghijklmnopqrstuvwxyz012345", /* 32 */
        };
        static const char *const bad[] = {
                "", "-laptop", "_laptop", "lap top", "lap.top", "lap/top", "../x", "x\n", "l\xc3\xa4ptop",
                "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(peer_freep) Peer *p = NULL;
                assert_int_equal(peer_new(&p, good[i]), 0);
                assert_string_equal(p->name, good[i]);
                assert_true(p->enabled);
                assert_non_null(p->service_access);
                assert_null(p->service_access[0]);
                assert_false(p->has_private_key);
                assert_false(p->has_preshared_key);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Peer *p = NULL;
                assert_int_equal(peer_new(&p, bad[i]), -EINVAL);
                assert_null(p);
        }
        Peer *p = NULL;
        assert_int_equal(peer_new(&p, NULL), -EINVAL);
        assert_null(peer_free(NULL));
}

static void test_peer_keys_and_copy(void **state) {
        _cleanup_(peer_freep) Peer *p = NULL, *c = NULL;
        WgKey pub;

        assert_int_equal(peer_new(&p, "laptop"), 0);
        assert_int_equal(peer_generate_keys(p), 0);
        assert_true(p->has_private_key);
        key_public_from_private(pub, p->private_key);
        assert_memory_equal(pub, p->public_key, WG_KEY_LEN);
        char b64[WG_KEY_B64_LEN];
        key_to_base64(pub, b64);
        assert_string_equal(b64, p->public_key_b64);

        char *services[] = { "dns", "files", NULL };
        assert_int_equal(peer_set_service_access(p, services), 0);
        p->object_path = strdup("/org/pic/Cell1/peer/laptop");
        assert_int_equal(peer_copy(p, &c), 0);
        /* A deep copy: changing one leaves the other alone. */
        assert_ptr_not_equal(c->service_access, p->service_access);
        assert_ptr_not_equal(c->object_path, p->object_path);
        assert_string_equal(c->object_path, p->object_path);
        free(c->service_access[0]);
        c->service_access[0] = strdup("web");
        assert_string_equal(p->service_access[0], "dns");
        assert_memory_equal(c->private_key, p->private_key, WG_KEY_LEN);
}

/* ---- service access ---- */

static void test_service_access_validate(void **state) {
        char why[256];
        char *ok1[] = { "dns", NULL };
        char *ok2[] = { "dns", "web", "mail", "calendar", "files", "webdav", NULL };
        char *none[] = { NULL };

        assert_int_equal(peer_service_access_validate(ok1, why, sizeof why), 0);
        assert_int_equal(peer_service_access_validate(ok2, why, sizeof why), 0);
        assert_int_equal(peer_service_access_validate(none, why, sizeof why), 0);
        assert_int_equal(peer_service_access_validate(NULL, why, sizeof why), 0);

        /* Every service the firewall knows is valid, and documented. */
        for (const char *const *s = firewall_service_names(); *s; s++) {
                char *one[] = { (char *) *s, NULL };
                assert_int_equal(peer_service_access_validate(one, why, sizeof why), 0);
                assert_non_null(strstr(PEER_SERVICES_DOC, *s));
        }

        char *unknown[] = { "dns", "ssh", NULL };
        why[0] = 0;
        assert_int_equal(peer_service_access_validate(unknown, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "ServiceAccess"));
        assert_non_null(strstr(why, "'ssh'"));
        for (const char *const *s = firewall_service_names(); *s; s++)
                assert_non_null(strstr(why, *s));

        char *upper[] = { "DNS", NULL };
        assert_int_equal(peer_service_access_validate(upper, why, sizeof why), -EINVAL);
        char *empty[] = { "", NULL };
        assert_int_equal(peer_service_access_validate(empty, why, sizeof why), -EINVAL);

        char *twice[] = { "web", "dns", "web", NULL };
        why[0] = 0;
        assert_int_equal(peer_service_access_validate(twice, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "'web'"));
        assert_non_null(strstr(why, "twice"));

        /* A tiny buffer is still a terminated string. */
        char small[8];
        assert_int_equal(peer_service_access_validate(unknown, small, sizeof small), -EINVAL);
        assert_int_equal(strlen(small), sizeof small - 1);
}

/* ---- addresses ---- */

static void test_address_parse(void **state) {
        uint32_t a = 0;

        assert_int_equal(peer_address_parse("10.0.0.5", &a), 0);
        assert_int_equal(a, 0x0a000005);
        a = 0;
        assert_int_equal(peer_address_parse("10.0.0.5/32", &a), 0);
        assert_int_equal(a, 0x0a000005);
        assert_int_equal(peer_address_parse("192.168.100.254", &a), 0);
        assert_int_equal(a, 0xc0a864fe);

        static const char *const bad[] = {
                "10.0.0.5/24", "10.0.0.5/31", "10.0.0.5/0", "x", "", "10.0.0", "10.0.0.256", "10.0.0.05",
                " 10.0.0.5", "10.0.0.5 ", "10.0.0.5/", "10.0.0.5/032", "fd00::5", "10.0.0.5/32/32",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                a = 0x12345678;
                if (peer_address_parse(bad[i], &a) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i]);
                assert_int_equal(a, 0x12345678);
        }
}

/* ---- the WireGuard side ---- */

static void test_peer_to_wg(void **state) {
        _cleanup_(peer_freep) Peer *plain = NULL, *keyed = NULL;
        _cleanup_(wg_device_freep) WgDevice *d = calloc(1, sizeof(WgDevice));
        const WgPeerFlags flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS |
                                  WG_PEER_HAS_PERSISTENT_KEEPALIVE | WG_PEER_HAS_PRESHARED_KEY;

        assert_non_null(d);
        assert_int_equal(peer_new(&plain, "plain"), 0);
        assert_int_equal(peer_generate_keys(plain), 0);
        plain->address = 0x0a000002;

        assert_int_equal(peer_new(&keyed, "keyed"), 0);
        assert_int_equal(peer_generate_keys(keyed), 0);
        key_generate_symmetric(keyed->preshared_key);
        keyed->has_preshared_key = true;
        keyed->persistent_keepalive = 25;
        keyed->address = 0xac10fffe; /* 172.16.255.254 */

        assert_int_equal(peer_to_wg(plain, d), 0);
        assert_int_equal(peer_to_wg(keyed, d), 0);
        assert_int_equal(wg_device_count_peers(d), 2);

        const WgPeer *w = d->peers;
        assert_int_equal(w->flags, flags);
        assert_false(w->flags & WG_PEER_HAS_ENDPOINT);
        assert_false(w->flags & WG_PEER_REMOVE_ME);
        assert_memory_equal(w->public_key, plain->public_key, WG_KEY_LEN);
        assert_true(key_is_zero(w->preshared_key)); /* "no preshared key", set explicitly */
        assert_int_equal(w->persistent_keepalive, 0);
        assert_non_null(w->allowed_ips);
        assert_null(w->allowed_ips->next);
        assert_int_equal(w->allowed_ips->family, AF_INET);
        assert_int_equal(w->allowed_ips->cidr, 32);
        assert_int_equal(ntohl(w->allowed_ips->ip4.s_addr), 0x0a000002);

        w = w->next;
        assert_non_null(w);
        assert_int_equal(w->flags, flags);
        assert_memory_equal(w->public_key, keyed->public_key, WG_KEY_LEN);
        assert_memory_equal(w->preshared_key, keyed->preshared_key, WG_KEY_LEN);
        assert_int_equal(w->persistent_keepalive, 25);
        char buf[INET_ADDRSTRLEN];
        assert_string_equal(inet_ntop(AF_INET, &w->allowed_ips->ip4, buf, sizeof buf), "172.16.255.254");
        assert_int_equal(w->allowed_ips->cidr, 32);
        assert_null(w->allowed_ips->next);
        assert_null(w->next);
}

/* ---- the client's wg-quick configuration ---- */

typedef struct ConfigLine {
        char section[16];
        char key[32];
        char value[128];
} ConfigLine;

typedef struct Config {
        ConfigLine lines[32];
        size_t n;
        size_t n_interface, n_peer;
} Config;

static char *strip(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t l = strlen(s);
        while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
                s[--l] = 0;
        return s;
}

static bool key_known(const char *section, const char *key) {
        static const char *const interface_keys[] = { "PrivateKey", "Address", "DNS", "ListenPort", "MTU", NULL };
        static const char *const peer_keys[] = { "PublicKey", "PresharedKey", "Endpoint", "AllowedIPs",
                                                 "PersistentKeepalive", NULL };
        for (const char *const *k = streq(section, "Interface") ? interface_keys : peer_keys; *k; k++)
                if (streq(*k, key))
                        return true;
        return false;
}

/* Reads a config the way wg(8)/wg-quick do: '#' starts a comment, sections
 * in brackets, every other non-empty line "Key = Value" inside a section,
 * no key twice in a section. */
static void config_parse(const char *text, Config *c) {
        _cleanup_(freep) char *copy = strdup(text);
        char *save = NULL, section[16] = "";

        *c = (Config) {};
        assert_non_null(copy);
        assert_true(text[strlen(text) - 1] == '\n');
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *hash = strchr(line, '#');
                if (hash)
                        *hash = 0;
                line = strip(line);
                if (!*line)
                        continue;
                if (line[0] == '[') {
                        assert_true(streq(line, "[Interface]") || streq(line, "[Peer]"));
                        snprintf(section, sizeof section, "%.*s", (int) strlen(line) - 2, line + 1);
                        if (streq(section, "Interface"))
                                c->n_interface++;
                        else
                                c->n_peer++;
                        continue;
                }
                if (!section[0])
                        fail_msg("'%s' is outside any section", line);
                char *eq = strchr(line, '=');
                if (!eq)
                        fail_msg("'%s' is not Key = Value", line);
                *eq = 0;
                char *key = strip(line), *value = strip(eq + 1);
                if (!key_known(section, key))
                        fail_msg("[%s] has no key '%s'", section, key);
                assert_true(*value);
                for (size_t i = 0; i < c->n; i++)
                        if (streq(c->lines[i].section, section) && streq(c->lines[i].key, key))
                                fail_msg("[%s] %s given twice", section, key);
                assert_true(c->n < ELEMENTSOF(c->lines));
                ConfigLine *l = &c->lines[c->n++];
                snprintf(l->section, sizeof l->section, "%s", section);
                snprintf(l->key, sizeof l->key, "%s", key);
                snprintf(l->value, sizeof l->value, "%s", value);
        }
        assert_int_equal(c->n_interface, 1);
        assert_int_equal(c->n_peer, 1);
}

static const char *config_get(const Config *c, const char *section, const char *key) {
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->lines[i].section, section) && streq(c->lines[i].key, key))
                        return c->lines[i].value;
        return NULL;
}

static void make_cell(Cell *c, const char *vpn, const char *endpoint) {
        *c = (Cell) { .setup_complete = true, .name = strdup("home"), .domain = strdup("home.lan"),
                      .endpoint = endpoint ? strdup(endpoint) : NULL, .listen_port = 51820 };
        assert_int_equal(cidr4_parse(vpn, true, &c->vpn_address), 0);
        assert_int_equal(key_generate_private(c->private_key), 0);
        key_public_from_private(c->public_key, c->private_key);
        key_to_base64(c->public_key, c->public_key_b64);
}

static void test_peer_connected(void **state) {
        _cleanup_(peer_freep) Peer *p = NULL;
        const uint64_t s = 1000000ULL, now = 1700000000ULL * s;

        assert_int_equal(peer_new(&p, "laptop"), 0);
        p->enabled = true;
        assert_false(peer_is_connected(p, now)); /* never */
        p->latest_handshake_usec = now - 5 * s;
        assert_true(peer_is_connected(p, now));
        p->latest_handshake_usec = now - 180 * s + 1;
        assert_true(peer_is_connected(p, now));
        p->latest_handshake_usec = now - 180 * s; /* REJECT_AFTER_TIME: the session is over */
        assert_false(peer_is_connected(p, now));
        p->latest_handshake_usec = now + 2 * s; /* the clock stepped back: still the last handshake */
        assert_true(peer_is_connected(p, now));
        p->enabled = false;
        assert_false(peer_is_connected(p, now));
}

static void test_client_config_full(void **state) {
        _cleanup_(peer_freep) Peer *p = NULL;
        _cleanup_(freep) char *text = NULL;
        char b64[WG_KEY_B64_LEN];
        Cell cell;
        Config c;

        make_cell(&cell, "10.0.0.1/24", "cell.example.org:51820");
        assert_int_equal(peer_new(&p, "laptop"), 0);
        assert_int_equal(peer_generate_keys(p), 0);
        key_generate_symmetric(p->preshared_key);
        p->has_preshared_key = true;
        p->persistent_keepalive = 25;
        p->address = 0x0a000005;
        char *dns_only[] = { "dns", NULL };
        assert_int_equal(peer_set_service_access(p, dns_only), 0);

        assert_int_equal(peer_client_config(p, &cell, NULL, &text), 0);
        config_parse(text, &c);
        key_to_base64(p->private_key, b64);
        assert_string_equal(config_get(&c, "Interface", "PrivateKey"), b64);
        assert_string_equal(config_get(&c, "Interface", "Address"), "10.0.0.5/32");
        assert_string_equal(config_get(&c, "Interface", "DNS"), "10.0.0.1");
        assert_string_equal(config_get(&c, "Peer", "PublicKey"), cell.public_key_b64);
        key_to_base64(p->preshared_key, b64);
        assert_string_equal(config_get(&c, "Peer", "PresharedKey"), b64);
        assert_string_equal(config_get(&c, "Peer", "Endpoint"), "cell.example.org:51820");
        assert_string_equal(config_get(&c, "Peer", "AllowedIPs"), "10.0.0.0/24");
        assert_string_equal(config_get(&c, "Peer", "PersistentKeepalive"), "25");
        assert_int_equal(c.n, 8);
        /* it says what the cell lets it reach */
        assert_non_null(strstr(text, "# Through the cell this device may reach: services dns; networks internet.\n"));
        assert_non_null(strstr(text, "AllowedIPs = 0.0.0.0/0."));

        /* The [Interface] comes first, so a reader never mixes the two up. */
        assert_true(strstr(text, "[Interface]") < strstr(text, "[Peer]"));
        assert_true(strstr(text, "PrivateKey") < strstr(text, "[Peer]"));
        cell_done(&cell);
}

static void test_client_config_minimal(void **state) {
        _cleanup_(peer_freep) Peer *p = NULL;
        _cleanup_(freep) char *text = NULL;
        Cell cell;
        Config c;
        WgKey pub;

        /* The device made its own key; the cell has no endpoint yet. */
        make_cell(&cell, "172.20.5.9/16", NULL);
        assert_int_equal(peer_new(&p, "phone"), 0);
        key_generate_symmetric(pub);
        peer_set_public_key(p, pub);
        p->address = 0xac140a0b; /* 172.20.10.11 */

        assert_int_equal(peer_client_config(p, &cell, NULL, &text), 0);
        config_parse(text, &c);
        assert_null(config_get(&c, "Interface", "PrivateKey"));
        assert_null(config_get(&c, "Peer", "PresharedKey"));
        assert_null(config_get(&c, "Peer", "Endpoint"));
        assert_null(config_get(&c, "Peer", "PersistentKeepalive"));
        assert_string_equal(config_get(&c, "Interface", "Address"), "172.20.10.11/32");
        /* no "dns" grant: no DNS line, which the firewall would answer with silence */
        assert_null(config_get(&c, "Interface", "DNS"));
        assert_string_equal(config_get(&c, "Peer", "PublicKey"), cell.public_key_b64);
        assert_string_equal(config_get(&c, "Peer", "AllowedIPs"), "172.20.0.0/16");
        assert_int_equal(c.n, 3);

        /* An empty endpoint string is "none" too. */
        cell.endpoint = strdup("");
        free(text);
        text = NULL;
        assert_int_equal(peer_client_config(p, &cell, NULL, &text), 0);
        config_parse(text, &c);
        assert_null(config_get(&c, "Peer", "Endpoint"));
        cell_done(&cell);
}

static void test_client_config_subnets(void **state) {
        static const struct {
                const char *vpn, *allowed;
        } cases[] = {
                { "10.0.0.1/24", "10.0.0.0/24" },
                { "10.0.0.200/25", "10.0.0.128/25" },
                { "192.168.7.1/30", "192.168.7.0/30" },
                { "10.1.2.3/8", "10.0.0.0/8" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(peer_freep) Peer *p = NULL;
                _cleanup_(freep) char *text = NULL;
                Cell cell;
                Config c;

                make_cell(&cell, cases[i].vpn, "[fd00::1]:51820");
                assert_int_equal(peer_new(&p, "x"), 0);
                assert_int_equal(peer_generate_keys(p), 0);
                p->address = cell.vpn_address.addr + 1;
                assert_int_equal(peer_client_config(p, &cell, NULL, &text), 0);
                config_parse(text, &c);
                assert_string_equal(config_get(&c, "Peer", "AllowedIPs"), cases[i].allowed);
                assert_string_equal(config_get(&c, "Peer", "Endpoint"), "[fd00::1]:51820");
                cell_done(&cell);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_peer_new_names),
                cmocka_unit_test(test_peer_keys_and_copy),
                cmocka_unit_test(test_service_access_validate),
                cmocka_unit_test(test_address_parse),
                cmocka_unit_test(test_peer_to_wg),
                cmocka_unit_test(test_peer_connected),
                cmocka_unit_test(test_client_config_full),
                cmocka_unit_test(test_client_config_minimal),
                cmocka_unit_test(test_client_config_subnets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
