/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1 /* unshare(), asprintf() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test-skip.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "keys.h"
#include "macro.h"
#include "wg-uapi.h"

#define WIREGUARD_GO "/usr/bin/wireguard-go"
#define RUN_DIR "/run/wireguard"

/* 32 copies of a two-digit hex byte: one key. */
#define X8(s) s s s s s s s s
#define HEX32(b) X8(b b b b)

/* ---- building devices ---- */

static WgDevice *device_new(void) {
        WgDevice *d = calloc(1, sizeof(WgDevice));
        if (!d)
                abort();
        return d;
}

static void add_ip(WgPeer *p, int family, const char *s, uint8_t cidr) {
        struct in6_addr a;
        assert_int_equal(inet_pton(family, s, &a), 1);
        assert_non_null(wg_peer_append_allowed_ip(p, family, &a, cidr));
}

static void set_endpoint4(WgPeer *p, const char *ip, uint16_t port) {
        p->endpoint.addr4 = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(port) };
        assert_int_equal(inet_pton(AF_INET, ip, &p->endpoint.addr4.sin_addr), 1);
        p->flags |= WG_PEER_HAS_ENDPOINT;
}

static void set_endpoint6(WgPeer *p, const char *ip, uint16_t port) {
        p->endpoint.addr6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        assert_int_equal(inet_pton(AF_INET6, ip, &p->endpoint.addr6.sin6_addr), 1);
        p->flags |= WG_PEER_HAS_ENDPOINT;
}

static const char *ip_str(const WgAllowedIp *a, char buf[static INET6_ADDRSTRLEN + 4]) {
        char ip[INET6_ADDRSTRLEN];
        assert_non_null(inet_ntop(a->family, &a->ip6, ip, sizeof ip));
        snprintf(buf, INET6_ADDRSTRLEN + 4, "%s/%u", ip, a->cidr);
        return buf;
}

static const char *endpoint_str(const WgEndpoint *e, char buf[static 80]) {
        char ip[INET6_ADDRSTRLEN];
        if (e->addr.sa_family == AF_INET)
                snprintf(buf, 80, "%s:%u", inet_ntop(AF_INET, &e->addr4.sin_addr, ip, sizeof ip),
                         ntohs(e->addr4.sin_port));
        else if (e->addr.sa_family == AF_INET6)
                snprintf(buf, 80, "[%s%%%u]:%u", inet_ntop(AF_INET6, &e->addr6.sin6_addr, ip, sizeof ip),
                         e->addr6.sin6_scope_id, ntohs(e->addr6.sin6_port));
        else
                snprintf(buf, 80, "none");
        return buf;
}

/* The peer's allowed IPs as "a/n a/n ..." in list order. */
static const char *allowed_ips_str(const WgPeer *p, char *buf, size_t size) {
        char one[INET6_ADDRSTRLEN + 4];
        buf[0] = 0;
        for (const WgAllowedIp *a = p->allowed_ips; a; a = a->next) {
                if (buf[0])
                        strncat(buf, " ", size - strlen(buf) - 1);
                strncat(buf, ip_str(a, one), size - strlen(buf) - 1);
        }
        return buf;
}

/* ---- formatting set=1 ---- */

static void test_format_set(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        _cleanup_(freep) char *text = NULL;
        size_t size = 0;
        WgPeer *p;

        d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK |
                   WG_DEVICE_REPLACE_PEERS;
        memset(d->private_key, 0xab, WG_KEY_LEN);
        d->listen_port = 51820;
        d->fwmark = 0xca6c;

        /* a peer to drop: nothing else about it is sent */
        p = wg_device_append_peer(d);
        memset(p->public_key, 0x01, WG_KEY_LEN);
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME | WG_PEER_HAS_PERSISTENT_KEEPALIVE;
        p->persistent_keepalive = 99;
        add_ip(p, AF_INET, "10.9.9.9", 32);

        /* everything set */
        p = wg_device_append_peer(d);
        memset(p->public_key, 0xcd, WG_KEY_LEN);
        memset(p->preshared_key, 0xef, WG_KEY_LEN);
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                   WG_PEER_REPLACE_ALLOWEDIPS;
        set_endpoint4(p, "192.0.2.1", 51820);
        p->persistent_keepalive = 25;
        add_ip(p, AF_INET, "10.0.0.2", 32);
        add_ip(p, AF_INET6, "fd00::2", 128);

        /* a v6 endpoint, allowed IPs added to what it has, keepalive untouched */
        p = wg_device_append_peer(d);
        memset(p->public_key, 0x9f, WG_KEY_LEN);
        p->flags = WG_PEER_HAS_PUBLIC_KEY;
        set_endpoint6(p, "2001:db8::1", 51821);
        add_ip(p, AF_INET, "10.1.0.0", 16);

        /* keepalive explicitly off, a zero preshared key (= none), no allowed IPs */
        p = wg_device_append_peer(d);
        memset(p->public_key, 0x00, WG_KEY_LEN);
        p->public_key[31] = 0x7a;
        p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                   WG_PEER_REPLACE_ALLOWEDIPS;

        static const char expected[] =
                "private_key=" HEX32("ab") "\n"
                "listen_port=51820\n"
                "fwmark=51820\n"
                "replace_peers=true\n"
                "public_key=" HEX32("01") "\n"
                "remove=true\n"
                "public_key=" HEX32("cd") "\n"
                "preshared_key=" HEX32("ef") "\n"
                "endpoint=192.0.2.1:51820\n"
                "persistent_keepalive_interval=25\n"
                "replace_allowed_ips=true\n"
                "allowed_ip=10.0.0.2/32\n"
                "allowed_ip=fd00::2/128\n"
                "public_key=" HEX32("9f") "\n"
                "endpoint=[2001:db8::1]:51821\n"
                "allowed_ip=10.1.0.0/16\n"
                "public_key=" X8("0000000") "000000" "7a\n" /* 31 zero bytes, then 0x7a */
                "preshared_key=" HEX32("00") "\n"
                "persistent_keepalive_interval=0\n"
                "replace_allowed_ips=true\n";

        assert_int_equal(wg_uapi_format_set(d, &text, &size), 0);
        assert_string_equal(text, expected);
        assert_int_equal(size, strlen(expected));
}

static void test_format_set_partial(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        _cleanup_(freep) char *text = NULL;
        size_t size = 1;

        /* Nothing flagged: nothing sent, even when the fields hold values. */
        memset(d->private_key, 0x11, WG_KEY_LEN);
        d->listen_port = 1;
        d->fwmark = 2;
        assert_int_equal(wg_uapi_format_set(d, &text, &size), 0);
        assert_string_equal(text, "");
        assert_int_equal(size, 0);
        free(text);
        text = NULL;

        /* fwmark 0 is sent (it clears the mark); a link-local endpoint keeps its scope. */
        d->flags = WG_DEVICE_HAS_FWMARK;
        d->fwmark = 0;
        WgPeer *p = wg_device_append_peer(d);
        memset(p->public_key, 0x22, WG_KEY_LEN);
        set_endpoint6(p, "fe80::1", 7);
        p->endpoint.addr6.sin6_scope_id = 3;
        assert_int_equal(wg_uapi_format_set(d, &text, &size), 0);
        assert_string_equal(text, "fwmark=0\n"
                                  "public_key=" HEX32("22") "\n"
                                  "endpoint=[fe80::1%3]:7\n");
}

/* ---- parsing get=1 ---- */

/* As wireguard-go v0.0.2022 answers get=1: no device public key, peers as
 * public_key blocks, errno last, a blank line. */
static const char realistic_reply[] =
        "private_key=" HEX32("a8") "\n"
        "listen_port=51820\n"
        "fwmark=4660\n"
        "public_key=" HEX32("cd") "\n"
        "preshared_key=" HEX32("ef") "\n"
        "protocol_version=1\n"
        "endpoint=192.0.2.1:51820\n"
        "last_handshake_time_sec=1700000000\n"
        "last_handshake_time_nsec=123456789\n"
        "tx_bytes=1234\n"
        "rx_bytes=5678\n"
        "persistent_keepalive_interval=25\n"
        "allowed_ip=10.0.0.2/32\n"
        "allowed_ip=fd00::2/128\n"
        "public_key=" HEX32("9f") "\n"
        "preshared_key=" HEX32("00") "\n"
        "protocol_version=1\n"
        "endpoint=[2001:db8::1]:51821\n"
        "last_handshake_time_sec=0\n"
        "last_handshake_time_nsec=0\n"
        "tx_bytes=0\n"
        "rx_bytes=0\n"
        "persistent_keepalive_interval=0\n"
        "allowed_ip=10.1.0.0/16\n"
        "public_key=" HEX32("42") "\n"
        "preshared_key=" HEX32("00") "\n"
        "protocol_version=1\n"
        "last_handshake_time_sec=18446744073\n"
        "last_handshake_time_nsec=999999999\n"
        "tx_bytes=18446744073709551615\n"
        "rx_bytes=1\n"
        "persistent_keepalive_interval=65535\n"
        "errno=0\n"
        "\n";

static void test_parse_get(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        char buf[256];
        WgKey k, pub;

        assert_int_equal(wg_uapi_parse_get(realistic_reply, d), 0);

        memset(k, 0xa8, WG_KEY_LEN);
        assert_memory_equal(d->private_key, k, WG_KEY_LEN);
        key_public_from_private(pub, k);
        assert_memory_equal(d->public_key, pub, WG_KEY_LEN);
        assert_int_equal(d->flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY | WG_DEVICE_HAS_LISTEN_PORT |
                                           WG_DEVICE_HAS_FWMARK);
        assert_int_equal(d->listen_port, 51820);
        assert_int_equal(d->fwmark, 4660);
        assert_int_equal(wg_device_count_peers(d), 3);

        const WgPeer *p = d->peers;
        memset(k, 0xcd, WG_KEY_LEN);
        assert_memory_equal(p->public_key, k, WG_KEY_LEN);
        memset(k, 0xef, WG_KEY_LEN);
        assert_memory_equal(p->preshared_key, k, WG_KEY_LEN);
        assert_int_equal(p->flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_ENDPOINT |
                                           WG_PEER_HAS_PERSISTENT_KEEPALIVE);
        assert_string_equal(endpoint_str(&p->endpoint, buf), "192.0.2.1:51820");
        assert_int_equal(p->last_handshake_usec, UINT64_C(1700000000123456));
        assert_int_equal(p->tx_bytes, 1234);
        assert_int_equal(p->rx_bytes, 5678);
        assert_int_equal(p->persistent_keepalive, 25);
        assert_string_equal(allowed_ips_str(p, buf, sizeof buf), "10.0.0.2/32 fd00::2/128");

        p = p->next;
        memset(k, 0x9f, WG_KEY_LEN);
        assert_memory_equal(p->public_key, k, WG_KEY_LEN);
        assert_true(key_is_zero(p->preshared_key));
        assert_false(p->flags & WG_PEER_HAS_PRESHARED_KEY); /* all zero = none */
        assert_true(p->flags & WG_PEER_HAS_ENDPOINT);
        assert_string_equal(endpoint_str(&p->endpoint, buf), "[2001:db8::1%0]:51821");
        assert_int_equal(p->last_handshake_usec, 0);
        assert_int_equal(p->tx_bytes, 0);
        assert_int_equal(p->rx_bytes, 0);
        assert_int_equal(p->persistent_keepalive, 0);
        assert_string_equal(allowed_ips_str(p, buf, sizeof buf), "10.1.0.0/16");

        p = p->next;
        assert_false(p->flags & WG_PEER_HAS_ENDPOINT);
        assert_int_equal(p->endpoint.addr.sa_family, AF_UNSPEC);
        assert_int_equal(p->last_handshake_usec, UINT64_C(18446744073999999));
        assert_int_equal(p->tx_bytes, UINT64_MAX);
        assert_int_equal(p->rx_bytes, 1);
        assert_int_equal(p->persistent_keepalive, 65535);
        assert_null(p->allowed_ips);
        assert_null(p->next);
}

static void test_parse_get_empty_device(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();

        /* A fresh wireguard-go device has no key and no port yet. */
        assert_int_equal(wg_uapi_parse_get("errno=0\n\n", d), 0);
        assert_int_equal(d->flags, 0);
        assert_null(d->peers);

        /* Keys this code does not know, before and inside a peer, are ignored. */
        assert_int_equal(wg_uapi_parse_get("listen_port=1\n"
                                           "some_future_key=x\n"
                                           "public_key=" HEX32("01") "\n"
                                           "protocol_version=1\n"
                                           "another_future_key=\n"
                                           "errno=0\n",
                                           d),
                         0);
        assert_int_equal(d->listen_port, 1);
        assert_int_equal(wg_device_count_peers(d), 1);
}

static void test_parse_get_errno(void **state) {
        static const struct {
                const char *text;
                int r;
        } cases[] = {
                { "errno=0\n\n", 0 },
                { "errno=-22\n\n", -EINVAL }, /* how wireguard-go sends them */
                { "errno=22\n\n", -EINVAL },
                { "errno=-5\n\n", -EIO },
                { "errno=-71\n\n", -EPROTO },
                { "errno=1\n\n", -EPERM },
                { "errno=-99999999\n\n", -4095 }, /* clamped into the errno range */
                { "errno=99999999999999999999\n\n", -EBADMSG },
                { "errno=\n\n", -EBADMSG },
                { "errno=x\n\n", -EBADMSG },
                { "errno=--22\n\n", -EBADMSG },
                { "errno=+22\n\n", -EBADMSG },
                { "errno= 22\n\n", -EBADMSG },
                { "errno=-\n\n", -EBADMSG },
                { "listen_port=5\nerrno=-22\n\n", -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(wg_device_freep) WgDevice *d = device_new();
                int r = wg_uapi_parse_get(cases[i].text, d);
                if (r != cases[i].r)
                        fail_msg("'%s': got %d, wanted %d", cases[i].text, r, cases[i].r);
        }
}

static void test_parse_get_cut_short(void **state) {
        /* Every proper prefix of a good reply that lacks its errno line is -EBADMSG. */
        size_t n = strlen(realistic_reply);
        const char *errno_line = strstr(realistic_reply, "errno=0");
        assert_non_null(errno_line);
        for (size_t len = 0; len < n; len++) {
                _cleanup_(wg_device_freep) WgDevice *d = device_new();
                _cleanup_(freep) char *cut = strndup(realistic_reply, len);
                int r = wg_uapi_parse_get(cut, d);
                if (len < (size_t) (errno_line - realistic_reply) + strlen("errno=0"))
                        assert_int_equal(r, -EBADMSG);
                else
                        assert_int_equal(r, 0);
        }

        /* A blank line before errno ends the reply early. */
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        assert_int_equal(wg_uapi_parse_get("listen_port=1\n\nerrno=0\n\n", d), -EBADMSG);
}

static void test_parse_get_malformed(void **state) {
        static const char *const device_lines[] = {
                "private_key=abcd",
                "private_key=" HEX32("zz"),
                "private_key=",
                "listen_port=abc",
                "listen_port=65536",
                "listen_port=-1",
                "listen_port=",
                "listen_port= 1",
                "listen_port=+1",
                "listen_port=1x",
                "fwmark=4294967296",
                "fwmark=-1",
                "no equals sign",
                "",
        };
        static const char *const peer_lines[] = {
                "endpoint=1.2.3.4",
                "endpoint=1.2.3.4:",
                "endpoint=1.2.3.4:65536",
                "endpoint=1.2.3.4:-1",
                "endpoint=1.2.3.4: 1",
                "endpoint=1.2.3.4:x",
                "endpoint=1.2.3:1",
                "endpoint=host.example:1",
                "endpoint=[::1:1",
                "endpoint=::1:1",
                "endpoint=[::1]",
                "endpoint=[]:1",
                "endpoint=[zz::1]:1",
                "endpoint=[fe80::1%]:1",
                "endpoint=[fe80::1%nosuchif-pic0]:1",
                "endpoint=[fe80::1%99999999999]:1",
                "endpoint=",
                "endpoint=" X8("11111111") X8("11111111") ":1",
                "allowed_ip=10.0.0.1",
                "allowed_ip=10.0.0.1/33",
                "allowed_ip=10.0.0.1/",
                "allowed_ip=10.0.0.1/-1",
                "allowed_ip=10.0.0.1/ 8",
                "allowed_ip=10.0.0.1/+8",
                "allowed_ip=10.0.0.1/8x",
                "allowed_ip=fd00::1/129",
                "allowed_ip=10.0.0/8",
                "allowed_ip=/8",
                "allowed_ip=" X8("11111111") X8("11111111") "/8",
                "preshared_key=abc",
                "persistent_keepalive_interval=65536",
                "persistent_keepalive_interval=x",
                "tx_bytes=-1",
                "tx_bytes=18446744073709551616",
                "rx_bytes=1.5",
                "rx_bytes=",
                "last_handshake_time_sec=-1",
                "last_handshake_time_nsec=x",
                "public_key=" HEX32("0"),
                "public_key=",
        };
        char text[1024];

        for (size_t i = 0; i < ELEMENTSOF(device_lines); i++) {
                _cleanup_(wg_device_freep) WgDevice *d = device_new();
                snprintf(text, sizeof text, "listen_port=1\n%s\nerrno=0\n\n", device_lines[i]);
                /* an empty line ends the reply before errno: cut short */
                if (wg_uapi_parse_get(text, d) != -EBADMSG)
                        fail_msg("'%s' accepted", device_lines[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(peer_lines); i++) {
                _cleanup_(wg_device_freep) WgDevice *d = device_new();
                snprintf(text, sizeof text, "public_key=" HEX32("01") "\n%s\nerrno=0\n\n", peer_lines[i]);
                if (wg_uapi_parse_get(text, d) != -EBADMSG)
                        fail_msg("'%s' accepted", peer_lines[i]);
        }

        /* A line longer than any the protocol sends. */
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        char long_line[600];
        memset(long_line, 'a', sizeof long_line - 1);
        long_line[sizeof long_line - 1] = 0;
        memcpy(long_line, "x=", 2);
        snprintf(text, sizeof text, "%s\nerrno=0\n\n", long_line);
        assert_int_equal(wg_uapi_parse_get(text, d), -EBADMSG);
}

static void test_parse_get_scoped_endpoint(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        char buf[80];

        /* wireguard-go prints link-local endpoints with their zone. */
        assert_int_equal(wg_uapi_parse_get("public_key=" HEX32("01") "\n"
                                           "endpoint=[fe80::1%lo]:51820\n"
                                           "public_key=" HEX32("02") "\n"
                                           "endpoint=[fe80::2%7]:1\n"
                                           "errno=0\n\n",
                                           d),
                         0);
        assert_string_equal(endpoint_str(&d->peers->endpoint, buf), "[fe80::1%1]:51820");
        assert_string_equal(endpoint_str(&d->peers->next->endpoint, buf), "[fe80::2%7]:1");
}

/* What wg_uapi_format_set() writes, read back by wg_uapi_parse_get(), is the
 * same device (the set-only keys like replace_* are ignored by the parser). */
static void test_format_parse_round_trip(void **state) {
        _cleanup_(wg_device_freep) WgDevice *d = device_new(), *back = device_new();
        _cleanup_(freep) char *text = NULL, *reply = NULL;
        size_t size;
        char a[256], b[256];

        d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK;
        assert_int_equal(key_generate_private(d->private_key), 0);
        d->listen_port = 4242;
        d->fwmark = 7;
        for (unsigned i = 0; i < 20; i++) {
                WgPeer *p = wg_device_append_peer(d);
                key_generate_symmetric(p->public_key);
                p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
                p->persistent_keepalive = (uint16_t) i;
                if (i % 2) {
                        key_generate_symmetric(p->preshared_key);
                        p->flags |= WG_PEER_HAS_PRESHARED_KEY;
                }
                if (i % 3 == 0)
                        set_endpoint4(p, "198.51.100.7", (uint16_t) (1000 + i));
                else if (i % 3 == 1)
                        set_endpoint6(p, "2001:db8::7", (uint16_t) (2000 + i));
                struct in_addr ip4 = { htonl(0x0a000000U + i) };
                assert_non_null(wg_peer_append_allowed_ip(p, AF_INET, &ip4, 32));
                add_ip(p, AF_INET6, "fd00:1::", 64);
        }
        assert_int_equal(wg_uapi_format_set(d, &text, &size), 0);
        assert_true(asprintf(&reply, "%serrno=0\n\n", text) > 0);
        assert_int_equal(wg_uapi_parse_get(reply, back), 0);

        assert_memory_equal(back->private_key, d->private_key, WG_KEY_LEN);
        assert_int_equal(back->listen_port, 4242);
        assert_int_equal(back->fwmark, 7);
        assert_int_equal(wg_device_count_peers(back), 20);
        for (const WgPeer *p = d->peers, *q = back->peers; p; p = p->next, q = q->next) {
                assert_memory_equal(p->public_key, q->public_key, WG_KEY_LEN);
                assert_memory_equal(p->preshared_key, q->preshared_key, WG_KEY_LEN);
                assert_int_equal(p->flags & ~WG_PEER_REPLACE_ALLOWEDIPS, q->flags);
                assert_int_equal(p->persistent_keepalive, q->persistent_keepalive);
                assert_string_equal(endpoint_str(&p->endpoint, a), endpoint_str(&q->endpoint, b));
                assert_string_equal(allowed_ips_str(p, a, sizeof a), allowed_ips_str(q, b, sizeof b));
        }
}

/* ---- against a real wireguard-go, in namespaces of our own ---- */

static pid_t wg_go_pid = 0;

static void stop_wireguard_go(void) {
        if (wg_go_pid <= 0)
                return;
        (void) kill(wg_go_pid, SIGTERM);
        for (int i = 0; i < 300; i++) {
                if (waitpid(wg_go_pid, NULL, WNOHANG) == wg_go_pid) {
                        wg_go_pid = 0;
                        return;
                }
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        (void) kill(wg_go_pid, SIGKILL);
        (void) waitpid(wg_go_pid, NULL, 0);
        wg_go_pid = 0;
}

static int teardown_live(void **state) {
        stop_wireguard_go();
        return 0;
}

static const WgPeer *find_peer(const WgDevice *d, const WgKey key) {
        for (const WgPeer *p = d->peers; p; p = p->next)
                if (memcmp(p->public_key, key, WG_KEY_LEN) == 0)
                        return p;
        return NULL;
}

/* Allowed IPs as a sorted list: wireguard-go returns them in trie order. */
static const char *allowed_ips_sorted(const WgPeer *p, char *buf, size_t size) {
        char items[16][INET6_ADDRSTRLEN + 4];
        size_t n = 0;
        for (const WgAllowedIp *a = p->allowed_ips; a; a = a->next) {
                assert_true(n < ELEMENTSOF(items));
                ip_str(a, items[n++]);
        }
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
                        char t[sizeof items[0]];
                        memcpy(t, items[j], sizeof t);
                        memcpy(items[j], items[j - 1], sizeof t);
                        memcpy(items[j - 1], t, sizeof t);
                }
        buf[0] = 0;
        for (size_t i = 0; i < n; i++) {
                if (i)
                        strncat(buf, " ", size - strlen(buf) - 1);
                strncat(buf, items[i], size - strlen(buf) - 1);
        }
        return buf;
}

static void assert_same_peer(const WgPeer *want, const WgPeer *got) {
        char a[256], b[256];
        assert_non_null(got);
        assert_memory_equal(want->public_key, got->public_key, WG_KEY_LEN);
        if (want->flags & WG_PEER_HAS_PRESHARED_KEY)
                assert_memory_equal(want->preshared_key, got->preshared_key, WG_KEY_LEN);
        else
                assert_true(key_is_zero(got->preshared_key));
        assert_int_equal(!!(want->flags & WG_PEER_HAS_ENDPOINT), !!(got->flags & WG_PEER_HAS_ENDPOINT));
        assert_string_equal(endpoint_str(&want->endpoint, a), endpoint_str(&got->endpoint, b));
        assert_int_equal(want->persistent_keepalive, got->persistent_keepalive);
        assert_string_equal(allowed_ips_sorted(want, a, sizeof a), allowed_ips_sorted(got, b, sizeof b));
        assert_int_equal(got->last_handshake_usec, 0);
        assert_int_equal(got->rx_bytes, 0);
        assert_int_equal(got->tx_bytes, 0);
}

/* Sends a raw request and returns wg_uapi_parse_get() of the reply. */
static int raw_request(const char *ifname, const char *request) {
        _cleanup_(closep) int fd = wg_uapi_connect(RUN_DIR, ifname);
        char reply[4096];
        size_t n = 0;

        assert_true(fd >= 0);
        assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t) strlen(request));
        while (n < 2 || reply[n - 1] != '\n' || reply[n - 2] != '\n') {
                ssize_t k = recv(fd, reply + n, sizeof reply - 1 - n, 0);
                assert_true(k > 0);
                n += (size_t) k;
                assert_true(n < sizeof reply - 1);
        }
        reply[n] = 0;
        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        return wg_uapi_parse_get(reply, d);
}

static void test_live_round_trip(void **state) {
        char ifname[16], sock[128];
        struct stat st;

        if (geteuid() != 0 || access(WIREGUARD_GO, X_OK) < 0)
                skip_here();
        /* Our own network and mount namespaces, and our own /run: nothing we
         * do here can touch the host's interfaces or /run/wireguard. */
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                skip_here();
        assert_int_equal(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
        assert_int_equal(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0);
        if (access("/dev/net/tun", R_OK | W_OK) < 0)
                skip_here();

        snprintf(ifname, sizeof ifname, "picut%u", (unsigned) getpid() % 10000000U);
        assert_int_equal(wg_uapi_socket_path(RUN_DIR, ifname, sock, sizeof sock), 0);
        assert_int_equal(wg_uapi_connect(RUN_DIR, ifname), -ENOENT);

        wg_go_pid = fork();
        assert_true(wg_go_pid >= 0);
        if (wg_go_pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        (void) dup2(null, STDOUT_FILENO);
                char *argv[] = { (char *) WIREGUARD_GO, (char *) "-f", ifname, NULL };
                /* WG_PROCESS_FOREGROUND=1 only silences its "use the kernel module" banner. */
                char *envp[] = { (char *) "LOG_LEVEL=error", (char *) "WG_PROCESS_FOREGROUND=1",
                                 (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
                execve(argv[0], argv, envp);
                _exit(127);
        }

        /* Wait for the socket (or for wireguard-go to give up). */
        for (int i = 0;; i++) {
                if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
                        break;
                int status;
                if (waitpid(wg_go_pid, &status, WNOHANG) == wg_go_pid) {
                        wg_go_pid = 0;
                        fail_msg("wireguard-go exited (status %d) before its socket appeared", status);
                }
                if (i > 500)
                        fail_msg("%s did not appear within 5 s", sock);
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }

        /* A fresh device: no key, no port, no peers. */
        _cleanup_(wg_device_freep) WgDevice *fresh = NULL;
        assert_int_equal(wg_uapi_get_device(RUN_DIR, ifname, &fresh), 0);
        assert_string_equal(fresh->name, ifname);
        assert_false(fresh->flags & WG_DEVICE_HAS_PRIVATE_KEY);
        assert_null(fresh->peers);

        _cleanup_(wg_device_freep) WgDevice *d = device_new();
        snprintf(d->name, sizeof d->name, "%s", ifname);
        d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK |
                   WG_DEVICE_REPLACE_PEERS;
        assert_int_equal(key_generate_private(d->private_key), 0);
        d->listen_port = 51820;
        d->fwmark = 0x1234;

        WgPeer *p1 = wg_device_append_peer(d);
        key_generate_symmetric(p1->public_key);
        key_generate_symmetric(p1->preshared_key);
        p1->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                    WG_PEER_REPLACE_ALLOWEDIPS;
        p1->persistent_keepalive = 25;
        set_endpoint4(p1, "192.0.2.1", 51820);
        add_ip(p1, AF_INET, "10.0.0.2", 32);
        add_ip(p1, AF_INET6, "fd00::2", 128);

        WgPeer *p2 = wg_device_append_peer(d);
        key_generate_symmetric(p2->public_key);
        p2->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS;
        set_endpoint6(p2, "2001:db8::1", 51821);
        add_ip(p2, AF_INET, "10.0.0.3", 32);
        add_ip(p2, AF_INET, "10.1.0.0", 16);

        WgPeer *p3 = wg_device_append_peer(d);
        key_generate_symmetric(p3->public_key);
        p3->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS;
        add_ip(p3, AF_INET, "10.0.0.4", 32);

        assert_int_equal(wg_uapi_set_device(RUN_DIR, d), 0);

        _cleanup_(wg_device_freep) WgDevice *got = NULL;
        assert_int_equal(wg_uapi_get_device(RUN_DIR, ifname, &got), 0);
        WgKey pub;
        key_public_from_private(pub, d->private_key);
        assert_memory_equal(got->private_key, d->private_key, WG_KEY_LEN);
        assert_memory_equal(got->public_key, pub, WG_KEY_LEN);
        assert_int_equal(got->listen_port, 51820);
        assert_int_equal(got->fwmark, 0x1234);
        assert_int_equal(wg_device_count_peers(got), 3);
        assert_same_peer(p1, find_peer(got, p1->public_key));
        assert_same_peer(p2, find_peer(got, p2->public_key));
        assert_same_peer(p3, find_peer(got, p3->public_key));

        /* A partial update: drop one peer, move another's allowed IPs. */
        _cleanup_(wg_device_freep) WgDevice *u = device_new();
        snprintf(u->name, sizeof u->name, "%s", ifname);
        WgPeer *r2 = wg_device_append_peer(u);
        memcpy(r2->public_key, p2->public_key, WG_KEY_LEN);
        r2->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME;
        WgPeer *r3 = wg_device_append_peer(u);
        memcpy(r3->public_key, p3->public_key, WG_KEY_LEN);
        r3->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS;
        add_ip(r3, AF_INET, "10.0.0.44", 32);
        assert_int_equal(wg_uapi_set_device(RUN_DIR, u), 0);

        wg_device_free(got);
        got = NULL;
        assert_int_equal(wg_uapi_get_device(RUN_DIR, ifname, &got), 0);
        assert_int_equal(got->listen_port, 51820);
        assert_int_equal(wg_device_count_peers(got), 2);
        assert_null(find_peer(got, p2->public_key));
        assert_same_peer(p1, find_peer(got, p1->public_key));
        assert_same_peer(r3, find_peer(got, p3->public_key));

        /* wireguard-go's own refusals come back as negative errno values. */
        assert_int_equal(raw_request(ifname, "set=1\nlisten_port=notaport\n\n"), -EINVAL);
        assert_int_equal(raw_request(ifname, "set=1\nno_such_key=1\n\n"), -EINVAL);
        assert_int_equal(raw_request(ifname, "get=1\n\n"), 0);

        stop_wireguard_go();
        assert_int_equal(wg_uapi_connect(RUN_DIR, ifname) < 0, true);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_set),
                cmocka_unit_test(test_format_set_partial),
                cmocka_unit_test(test_parse_get),
                cmocka_unit_test(test_parse_get_empty_device),
                cmocka_unit_test(test_parse_get_errno),
                cmocka_unit_test(test_parse_get_cut_short),
                cmocka_unit_test(test_parse_get_malformed),
                cmocka_unit_test(test_parse_get_scoped_endpoint),
                cmocka_unit_test(test_format_parse_round_trip),
                /* last: it moves this process into namespaces of its own */
                cmocka_unit_test_teardown(test_live_round_trip, teardown_live),
        };
        return tests_result(cmocka_run_group_tests(tests, NULL, NULL));
}
