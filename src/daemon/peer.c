/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-dict.h"
#include "keys.h"
#include "macro.h"
#include "nft/firewall.h"
#include "peer.h"


Peer *peer_free(Peer *p) {
        if (!p)
                return NULL;
        free(p->object_path);
        free(p->login_password_hash);
        strv_free(p->service_access);
        strv_free(p->network_access);
        sodium_memzero(p, sizeof *p); /* keys */
        free(p);
        return NULL;
}

bool peer_is_connected(const Peer *p, uint64_t now_usec) {
        return p->enabled && wg_handshake_is_fresh(p->latest_handshake_usec, now_usec);
}

int peer_new(Peer **ret, const char *name) {
        if (!peer_name_is_valid(name))
                return -EINVAL;
        Peer *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        snprintf(p->name, sizeof p->name, "%s", name);
        p->enabled = true;
        p->service_access = calloc(1, sizeof(char *));
        p->network_access = calloc(2, sizeof(char *));
        if (!p->service_access || !p->network_access || !(p->network_access[0] = strdup(PEER_DEFAULT_NETWORK)))
                return peer_free(p), -ENOMEM;
        *ret = p;
        return 0;
}

int peer_copy(const Peer *p, Peer **ret) {
        Peer *c = malloc(sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = *p;
        c->changes = (Changes) {};
        c->changed_next = NULL;
        c->changed_queued = false;
        c->object_path = p->object_path ? strdup(p->object_path) : NULL;
        c->service_access = strv_copy(p->service_access);
        c->network_access = strv_copy(p->network_access);
        c->login_password_hash = p->login_password_hash ? strdup(p->login_password_hash) : NULL;
        if ((p->object_path && !c->object_path) || !c->service_access || !c->network_access ||
            (p->login_password_hash && !c->login_password_hash)) {
                peer_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void peer_set_public_key(Peer *p, const WgKey key) {
        memcpy(p->public_key, key, WG_KEY_LEN);
        key_to_base64(p->public_key, p->public_key_b64);
}

int peer_generate_keys(Peer *p) {
        WgKey pub;
        int r = key_generate_private(p->private_key);
        if (r < 0)
                return r;
        key_public_from_private(pub, p->private_key);
        peer_set_public_key(p, pub);
        p->has_private_key = true;
        return 0;
}

/* Each entry known and listed once; the message names the setting and the entry. */
static int grant_list_validate(char *const *l, const char *setting, bool (*known)(const char *), const char *what,
                               const char *doc, char *buf, size_t size) {
        for (char *const *i = l; i && *i; i++) {
                if (!known(*i)) {
                        snprintf(buf, size, "%s: unknown %s '%.*s'; valid %ss: %s.", setting, what,
                                 utf8_prefix_len(*i, 32), *i, what, doc);
                        return -EINVAL;
                }
                for (char *const *j = l; j < i; j++)
                        if (streq(*i, *j)) {
                                snprintf(buf, size, "%s: '%s' is listed twice.", setting, *i);
                                return -EINVAL;
                        }
        }
        return 0;
}

int peer_service_access_validate(char *const *services, char *buf, size_t size) {
        return grant_list_validate(services, "ServiceAccess", firewall_service_known, "service", PEER_SERVICES_DOC,
                                   buf, size);
}

static bool network_known(const char *name) {
        return firewall_network_class(name) != 0;
}

int peer_network_access_validate(char *const *networks, char *buf, size_t size) {
        return grant_list_validate(networks, "NetworkAccess", network_known, "network", PEER_NETWORKS_DOC, buf, size);
}

static int replace_strv(char ***target, char *const *l) {
        char **c = strv_copy(l);
        if (!c)
                return -ENOMEM;
        strv_free(*target);
        *target = c;
        return 0;
}

int peer_set_service_access(Peer *p, char *const *services) {
        return replace_strv(&p->service_access, services);
}

int peer_set_network_access(Peer *p, char *const *networks) {
        return replace_strv(&p->network_access, networks);
}

int peer_address_parse(const char *s, uint32_t *ret) {
        Cidr4 c;
        if (cidr4_parse(s, false, &c) < 0 || c.prefix != 32)
                return -EINVAL;
        *ret = c.addr;
        return 0;
}

int peer_to_wg(const Peer *p, WgDevice *d) {
        WgPeer *w = wg_device_append_peer(d);
        if (!w)
                return -ENOMEM;
        memcpy(w->public_key, p->public_key, WG_KEY_LEN);
        w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                   WG_PEER_HAS_PRESHARED_KEY;
        /* An all-zero preshared key is how WireGuard is told "none". */
        if (p->has_preshared_key)
                memcpy(w->preshared_key, p->preshared_key, WG_KEY_LEN);
        w->persistent_keepalive = p->persistent_keepalive;
        struct in_addr a = { .s_addr = htonl(p->address) };
        return wg_peer_append_allowed_ip(w, AF_INET, &a, 32) ? 0 : -ENOMEM;
}

int peer_client_config(const Peer *p, const Cell *cell, char *const *linked_subnets, char **ret) {
        char *buf = NULL, addr[CIDR4_STRLEN], net[CIDR4_STRLEN], dns[CIDR4_STRLEN];
        char key[WG_KEY_B64_LEN];
        size_t size;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        Cidr4 subnet = { .addr = cidr4_network(&cell->vpn_address), .prefix = cell->vpn_address.prefix };
        fprintf(f, "# %s on cell %s.%s\n[Interface]\n", p->name, strempty(cell->name), strempty(cell->domain));
        if (p->has_private_key) {
                key_to_base64(p->private_key, key);
                fprintf(f, "PrivateKey = %s\n", key);
        } else
                fputs("# PrivateKey = (the key this device generated; the cell never saw it)\n", f);
        fprintf(f, "Address = %s/32\n", ipv4_format(p->address, addr));
        /* Only with the "dns" grant: a DNS line the firewall then drops would cut the
         * device off from every name, not just the cell's. */
        if (strv_contains(p->service_access, "dns"))
                fprintf(f, "DNS = %s\n", ipv4_format(cell->vpn_address.addr, dns));
        else
                fputs("# DNS: the cell's resolver needs the \"dns\" grant; this device keeps its own.\n", f);
        fprintf(f, "\n[Peer]\nPublicKey = %s\n", cell->public_key_b64);
        if (p->has_preshared_key) {
                key_to_base64(p->preshared_key, key);
                fprintf(f, "PresharedKey = %s\n", key);
        }
        if (!isempty(cell->endpoint))
                fprintf(f, "Endpoint = %s\n", cell->endpoint);
        else
                fputs("# Endpoint = (not set: set the cell's Endpoint with Configure)\n", f);
        /* what the cell's firewall lets this device reach, so the file tells the truth about it */
        _cleanup_(freep) char *services = strv_join(p->service_access, ", "), *networks = strv_join(p->network_access, ", ");
        if (!services || !networks) {
                fclose(f);
                free(buf);
                return -ENOMEM;
        }
        fprintf(f, "# Through the cell this device may reach: services %s; networks %s.\n",
                isempty(services) ? "none" : services, isempty(networks) ? "none" : networks);
        if (!isempty(p->exit)) {
                /* everything, IPv6 too: what bypassed the tunnel would bypass the exit */
                fprintf(f, "# Its internet leaves through the cell's exit %s, and only through it.\n", p->exit);
                fputs("AllowedIPs = 0.0.0.0/0, ::/0\n", f);
        } else {
                if (strv_contains(p->network_access, "internet"))
                        fputs("# To send all its traffic through the cell, use AllowedIPs = 0.0.0.0/0.\n", f);
                fprintf(f, "AllowedIPs = %s", cidr4_format(&subnet, net));
                /* linked cells are reached through this cell, with the "peers" grant (forwarding out of the tunnel) */
                if (strv_contains(p->network_access, "peers"))
                        for (char *const *l = linked_subnets; l && *l; l++)
                                fprintf(f, ", %s", *l);
                fputc('\n', f);
        }
        if (p->persistent_keepalive > 0)
                fprintf(f, "PersistentKeepalive = %u\n", p->persistent_keepalive);
        sodium_memzero(key, sizeof key);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
