/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what pic-celld reads back from disk and from WireGuard, and what an
 * admin hands it: the cell's and a peer's state files, wireguard-go's UAPI "get" reply,
 * the kernel's generic netlink GET_DEVICE reply, an exit's wg-quick file, the gateway's
 * strict JSON reading of a request body, an exit's state file, an OpenVPN client file,
 * what OpenVPN's management socket says (one line) and what a proxy answers an exit's
 * tunnel handshake (SOCKS5 or HTTP CONNECT).
 *
 * Input: byte 0 picks the parser (mod 10), the rest is the file, the reply text, or the
 * netlink message (its nlmsg_len set to the bytes given, as a socket read would bound it).
 * For the proxy's answer, byte 1 picks SOCKS5 or HTTP (bit 0), credentials (bit 1) and
 * the size of the pieces it arrives in (the rest); the answer follows.
 *
 * PIC_FUZZ_SEEDS=DIR: writes a valid input of each kind to DIR and exits. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cell.h"
#include "exit.h"
#include "ovpn-mgmt.h"
#include "ovpn.h"
#include "json-strict.h"
#include "keys.h"
#include "peer.h"
#include "proxy-handshake.h"
#include "state.h"
#include "wg/wg-genl.h"
#include "wg/wg-uapi.h"
#include "wg-quick.h"

enum { KIND_CELL, KIND_PEER, KIND_UAPI, KIND_GENL, KIND_WG_QUICK, KIND_JSON_BODY, KIND_EXIT, KIND_OVPN, KIND_OVPN_MGMT,
       KIND_PROXY_REPLY, _KIND_MAX };
static const char *const kind_names[_KIND_MAX] = { "cell", "peer", "uapi", "genl", "wg-quick", "json-body", "exit", "ovpn",
                                                   "ovpn-mgmt", "proxy-reply" };

/* A handshake fed the proxy's answer in pieces, our requests taken as sent after each;
 * whatever it says, it never takes more than it was given nor names the credentials. */
static void fuzz_proxy_reply(const uint8_t *data, size_t size) {
        ProxyUrl u = { .address = 0xc000020a, .port = 1080 };
        ProxyHandshake *h = malloc(sizeof *h);

        if (size < 1 || !h) {
                free(h);
                return;
        }
        u.kind = data[0] & 1 ? PROXY_HTTP : PROXY_SOCKS5;
        if (data[0] & 2) {
                u.has_credentials = true;
                strcpy(u.user, "fuzzuser");
                strcpy(u.password, "fuzzsecret");
        }
        size_t piece = (data[0] >> 2) + 1;
        data++, size--;
        proxy_handshake_start(h, &u, 0x01010101, 53);
        for (;;) {
                size_t out, used;
                (void) proxy_handshake_output(h, &out);
                proxy_handshake_advance(h, out);
                size_t n = size < piece ? size : piece;
                int r = proxy_handshake_feed(h, data, n, &used);
                if (used > n || memchr(h->message, 0, sizeof h->message) == NULL || strstr(h->message, "fuzzuser") ||
                    strstr(h->message, "fuzzsecret"))
                        abort();
                data += used, size -= used;
                if (r != 0 || size == 0)
                        break;
                if (used == 0) /* 0 taken and not done: it would spin */
                        abort();
        }
        proxy_handshake_wipe(h);
        free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char why[256];

        if (size < 1 || size > 65536)
                return 0;
        unsigned kind = data[0] % _KIND_MAX;
        data++, size--;
        if (kind == KIND_GENL) {
                /* aligned, and as long as the header says (a read never gives less) */
                struct nlmsghdr *nlh = calloc(1, size < sizeof *nlh ? sizeof *nlh : size);
                if (!nlh)
                        return 0;
                memcpy(nlh, data, size);
                nlh->nlmsg_len = (uint32_t) size;
                WgDevice *d = calloc(1, sizeof *d);
                if (d)
                        (void) wg_genl_parse_device_message(nlh, d);
                wg_device_free(d);
                free(nlh);
                return 0;
        }
        if (kind == KIND_PROXY_REPLY) { /* raw bytes, as they come off the socket */
                fuzz_proxy_reply(data, size);
                return 0;
        }
        if (kind == KIND_JSON_BODY) { /* the raw bytes, NULs and all, as a request body arrives */
                cJSON *o = json_parse_strict((const char *) data, size, why, sizeof why);
                cJSON_Delete(o);
                return 0;
        }
        char *text = strndup((const char *) data, size);
        if (!text)
                return 0;
        if (kind == KIND_CELL) {
                Cell c = {};
                if (cell_from_json(text, &c, why, sizeof why) >= 0)
                        cell_done(&c);
        } else if (kind == KIND_PEER) {
                Peer *p = NULL;
                if (peer_from_json(text, &p, why, sizeof why) >= 0)
                        peer_free(p);
        } else if (kind == KIND_OVPN) {
                OvpnConfig c = {};
                if (ovpn_parse(text, &c, why, sizeof why) >= 0)
                        ovpn_done(&c);
        } else if (kind == KIND_OVPN_MGMT) {
                OvpnStatus st = {};
                for (char *line = text, *next; line; line = next) { /* the reader hands it line by line */
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        (void) ovpn_mgmt_line(line, &st);
                }
        } else if (kind == KIND_EXIT) {
                Exit *e = NULL;
                if (exit_from_json(text, &e, why, sizeof why) >= 0)
                        exit_free(e);
        } else if (kind == KIND_WG_QUICK) {
                WgQuickConfig q;
                if (wg_quick_parse(text, &q, why, sizeof why) >= 0)
                        wg_quick_done(&q);
        } else {
                WgDevice *d = calloc(1, sizeof *d);
                if (d)
                        (void) wg_uapi_parse_get(text, d);
                wg_device_free(d);
        }
        free(text);
        return 0;
}

/* --- seeds --- */

static void write_seed(const char *dir, unsigned kind, const void *body, size_t len) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-valid", dir, kind_names[kind]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        uint8_t head = (uint8_t) kind;
        if (fd < 0 || write(fd, &head, 1) != 1 || write(fd, body, len) != (ssize_t) len) {
                perror(path);
                exit(1);
        }
        close(fd);
}

static void make_seeds(const char *dir) {
        char name[] = "home", domain[] = "home.lan", endpoint[] = "vpn.home.lan:51820";
        char *servers[] = { "192.0.2.53", NULL };
        Cell c = { .setup_complete = true, .name = name, .domain = domain, .endpoint = endpoint,
                   .vpn_address = { .addr = 0x0a3c0001, .prefix = 24 }, .listen_port = 51820, .dns_servers = servers,
                   .pending_listen_port = true, .pending_listen_port_value = 51999 };
        memset(c.private_key, 0x42, WG_KEY_LEN);
        key_public_from_private(c.public_key, c.private_key);
        char *text = NULL;
        if (cell_to_json(&c, &text) < 0)
                exit(1);
        write_seed(dir, KIND_CELL, text, strlen(text));
        free(text);

        Peer *p = NULL;
        char *services[] = { "dns", "web", NULL }, *networks[] = { "internet", NULL };
        if (peer_new(&p, "laptop") < 0)
                exit(1);
        memset(p->private_key, 0x43, WG_KEY_LEN);
        key_public_from_private(p->public_key, p->private_key);
        p->has_private_key = p->has_preshared_key = true;
        p->address = 0x0a3c0002;
        char **own_services = p->service_access, **own_networks = p->network_access;
        p->service_access = services;
        p->network_access = networks;
        p->persistent_keepalive = 25;
        p->enabled = true;
        if (peer_to_json(p, &text) < 0)
                exit(1);
        p->service_access = own_services; /* the peer frees its own */
        p->network_access = own_networks;
        peer_free(p);
        write_seed(dir, KIND_PEER, text, strlen(text));
        free(text);

        static const char uapi[] =
                "private_key=4242424242424242424242424242424242424242424242424242424242424242\n"
                "listen_port=51820\nfwmark=0\n"
                "public_key=4343434343434343434343434343434343434343434343434343434343434343\n"
                "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
                "endpoint=192.0.2.7:51820\nlast_handshake_time_sec=1800000000\nlast_handshake_time_nsec=5\n"
                "tx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\nallowed_ip=10.60.0.2/32\n"
                "allowed_ip=fd00::2/128\nprotocol_version=1\nerrno=0\n\n";
        write_seed(dir, KIND_UAPI, uapi, sizeof uapi - 1);

        static const char wg_quick[] =
                "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
                "Address = 10.2.0.2/32, fd00:2::2/128\nDNS = 10.2.0.1\nMTU = 1420\n\n[Peer]\n"
                "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
                "PresharedKey = FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=\nAllowedIPs = 0.0.0.0/0, ::/0\n"
                "Endpoint = nl-ams.vpn.example:51820\nPersistentKeepalive = 25\n";
        write_seed(dir, KIND_WG_QUICK, wg_quick, sizeof wg_quick - 1);

        static const char ovpn_file[] =
                "client\ndev tun\nproto udp\nremote 198.51.100.7 1194\nnobind\npersist-key\nremote-cert-tls server\n"
                "dhcp-option DNS 10.8.0.1\n<ca>\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n</ca>\n"
                "<cert>\nC\n</cert>\n<key>\nK\n</key>\n";
        write_seed(dir, KIND_OVPN, ovpn_file, sizeof ovpn_file - 1);
        static const char mgmt[] = ">INFO:OpenVPN Management Interface Version 5\n"
                                   ">STATE:1800000001,CONNECTED,SUCCESS,10.8.0.6,198.51.100.7,1194,,\n"
                                   ">BYTECOUNT:1234,5678\nEND\n";
        write_seed(dir, KIND_OVPN_MGMT, mgmt, sizeof mgmt - 1);
        /* SOCKS5 with credentials, in pieces of 3: method 2, credentials taken, a name as bound address */
        static const uint8_t socks[] = { 0x0a, 5, 2, 1, 0, 5, 0, 0, 3, 4, 'p', 'r', 'o', 'x', 0x9c, 0x40, 'D' };
        write_seed(dir, KIND_PROXY_REPLY, socks, sizeof socks);

        static const char exit_quick[] =
                "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress = 10.2.0.2/32\n"
                "DNS = 10.2.0.1\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
                "AllowedIPs = 0.0.0.0/0\nEndpoint = 198.51.100.20:51820\n";
        Exit *e = NULL;
        char why[256];
        if (exit_new("vpn", EXIT_TYPE_WIREGUARD, 3, &e) < 0 || exit_set_config(e, exit_quick, why, sizeof why) < 0 ||
            exit_to_json(e, &text) < 0)
                exit(1);
        write_seed(dir, KIND_EXIT, text, strlen(text));
        free(text);
        exit_free(e);

        static const char body[] = "{\"name\":\"laptop\",\"service_access\":[\"dns\",\"web\"],"
                                   "\"persistent_keepalive\":25,\"x\":{\"y\":[1,2.5,true,null,\"caf\u00e9\"]}}";
        write_seed(dir, KIND_JSON_BODY, body, sizeof body - 1);

        /* a SET message carries the attributes a GET reply does: built, then relabelled */
        WgDevice *d = calloc(1, sizeof *d);
        if (!d)
                exit(1);
        *d = (WgDevice) { .name = "picwg0", .flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT,
                          .listen_port = 51820 };
        memset(d->private_key, 0x42, WG_KEY_LEN);
        WgPeer *w = wg_device_append_peer(d);
        if (!w)
                exit(1);
        memset(w->public_key, 0x43, WG_KEY_LEN);
        w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PERSISTENT_KEEPALIVE;
        w->persistent_keepalive = 25;
        struct in_addr addr = { .s_addr = htonl(0x0a3c0002) };
        if (!wg_peer_append_allowed_ip(w, AF_INET, &addr, 32))
                exit(1);
        WgGenlBatch *b = NULL;
        if (wg_genl_build_set(d, 0x20, 1, 65536, &b) < 0)
                exit(1);
        const struct nlmsghdr *nlh = wg_genl_batch_message(b, 0);
        struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
        if (!copy)
                exit(1);
        memcpy(copy, nlh, nlh->nlmsg_len);
        ((struct genlmsghdr *) (copy + 1))->cmd = WG_CMD_GET_DEVICE;
        write_seed(dir, KIND_GENL, copy, copy->nlmsg_len);
        free(copy);
        wg_genl_batch_free(b);
        wg_device_free(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *dir = getenv("PIC_FUZZ_SEEDS");
        if (dir) {
                make_seeds(dir);
                exit(0);
        }
        return 0;
}
