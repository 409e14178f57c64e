/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "wg-diff.h"

static WgPeer *add_peer(WgDevice *d, uint8_t key_byte, const char *ip, uint16_t keepalive) {
        WgPeer *p = wg_device_append_peer(d);
        struct in_addr a;

        assert_non_null(p);
        memset(p->public_key, key_byte, WG_KEY_LEN);
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE;
        p->persistent_keepalive = keepalive;
        assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
        assert_non_null(wg_peer_append_allowed_ip(p, AF_INET, &a, 32));
        return p;
}

static const WgPeer *find(const WgDevice *d, uint8_t key_byte) {
        for (const WgPeer *p = d->peers; p; p = p->next)
                if (p->public_key[0] == key_byte)
                        return p;
        return NULL;
}

static void test_diff(void **state) {
        _cleanup_(wg_device_freep) WgDevice *want = calloc(1, sizeof *want), *have = calloc(1, sizeof *have),
                                            *change = NULL;
        assert_non_null(want);
        assert_non_null(have);

        want->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
        memset(want->private_key, 7, WG_KEY_LEN);
        want->listen_port = 51820;
        add_peer(want, 1, "10.0.0.2", 0);  /* right already */
        add_peer(want, 2, "10.0.0.3", 25); /* keepalive differs */
        add_peer(want, 3, "10.0.0.4", 0);  /* missing */
        add_peer(want, 5, "10.9.0.2", 0);  /* another kind's peer, already right */

        have->flags = WG_DEVICE_HAS_PRIVATE_KEY;
        memset(have->private_key, 7, WG_KEY_LEN);
        have->listen_port = 51821;
        add_peer(have, 1, "10.0.0.2", 0);
        add_peer(have, 2, "10.0.0.3", 0);
        add_peer(have, 4, "10.0.0.9", 0); /* nobody's: a stranger */
        add_peer(have, 5, "10.9.0.2", 0);

        assert_int_equal(wg_device_diff(want, have, &change), 0);
        assert_false(change->flags & WG_DEVICE_HAS_PRIVATE_KEY);
        assert_true(change->flags & WG_DEVICE_HAS_LISTEN_PORT);
        assert_int_equal(change->listen_port, 51820);
        assert_int_equal(wg_device_count_peers(change), 3);
        assert_null(find(change, 1));
        assert_null(find(change, 5));
        assert_int_equal(find(change, 2)->persistent_keepalive, 25);
        assert_true(find(change, 2)->flags & WG_PEER_REPLACE_ALLOWEDIPS);
        assert_non_null(find(change, 3));
        assert_true(find(change, 4)->flags & WG_PEER_REMOVE_ME);

        /* applied, nothing is left to do */
        wg_device_free(change);
        change = NULL;
        assert_int_equal(wg_device_diff(want, want, &change), 0);
        assert_int_equal(change->flags, 0);
        assert_null(change->peers);

        /* the same key wanted twice is a conflict, not a silent pick */
        wg_device_free(change);
        change = NULL;
        add_peer(want, 3, "10.0.0.5", 0);
        assert_int_equal(wg_device_diff(want, have, &change), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
