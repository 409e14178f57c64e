/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <string.h>

#include "keys.h"
#include "test-kind.h"

int test_static_peer_parse(const char *arg, TestStaticPeer *ret) {
        const char *at = strchr(arg, '@');
        char key[WG_KEY_B64_LEN];

        if (!at || (size_t) (at - arg) >= sizeof key)
                return -EINVAL;
        snprintf(key, sizeof key, "%.*s", (int) (at - arg), arg);
        if (key_from_base64(key, ret->public_key) < 0 || ipv4_parse(at + 1, &ret->address) < 0)
                return -EINVAL;
        return 0;
}

static int contribute_wireguard(Manager *m, WgDevice *d) {
        for (size_t i = 0; i < m->config.n_test_static_peers; i++) {
                const TestStaticPeer *s = &m->config.test_static_peers[i];
                WgPeer *w = wg_device_append_peer(d);
                struct in_addr a = { .s_addr = htonl(s->address) };

                if (!w || !wg_peer_append_allowed_ip(w, AF_INET, &a, 32))
                        return -ENOMEM;
                memcpy(w->public_key, s->public_key, WG_KEY_LEN);
                w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                           WG_PEER_HAS_PRESHARED_KEY;
        }
        return 0;
}

static int contribute_firewall(Manager *m, FirewallPeerList *l) {
        static char *internet[] = { "internet", NULL };
        int r;

        for (size_t i = 0; i < m->config.n_test_static_peers; i++)
                if ((r = firewall_peer_list_push(l, (FirewallPeer) { .address = m->config.test_static_peers[i].address,
                                                                     .networks = internet })) < 0)
                        return r;
        return 0;
}

const Contributor test_kind_contributor = {
        .kind = "test",
        .wireguard = contribute_wireguard,
        .firewall = contribute_firewall,
};
