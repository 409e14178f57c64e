/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-fields.h"
#include "json-util.h"
#include "keys.h"
#include "link.h"
#include "names.h"
#include "strv.h"

#define LINK_KEEPALIVE_SEC 25           /* keeps NAT mappings open and handshakes fresh */

static void copy_identity_strings(const CellIdentity *from, CellIdentity *to, bool *ok) {
        char *const *src[] = { &from->name, &from->domain, &from->vpn_subnet, &from->dns_address, &from->endpoint,
                               &from->pairing, &from->wg_public_key };
        char **dst[] = { &to->name, &to->domain, &to->vpn_subnet, &to->dns_address, &to->endpoint, &to->pairing,
                         &to->wg_public_key };
        *ok = true;
        for (size_t i = 0; i < ELEMENTSOF(src); i++) {
                *dst[i] = strdup(*src[i]);
                if (!*dst[i])
                        *ok = false;
        }
        to->signing_key = from->signing_key;
}

Link *link_free(Link *l) {
        if (!l)
                return NULL;
        cell_identity_done(&l->remote);
        strv_free(l->shared);
        strv_free(l->remote_shared);
        free(l->last_push_error);
        free(l->own_pairing);
        free(l->object_path);
        free(l);
        return NULL;
}

int link_new(const CellIdentity *remote, Link **ret) {
        _cleanup_(link_freep) Link *l = calloc(1, sizeof *l);
        bool ok;

        if (!l)
                return -ENOMEM;
        copy_identity_strings(remote, &l->remote, &ok);
        if (!ok)
                return -ENOMEM;
        /* the identity was checked when it was read: these cannot fail */
        if (key_from_base64(l->remote.wg_public_key, l->wg_key) < 0 ||
            cidr4_parse(l->remote.vpn_subnet, true, &l->subnet) < 0)
                return -EINVAL;
        *ret = TAKE_PTR(l);
        return 0;
}

const char *link_state(const Link *l, uint64_t now_usec) {
        if (l->refused)
                return "refused";
        if (l->latest_handshake_usec == 0)
                return "pairing";
        if (wg_handshake_is_fresh(l->latest_handshake_usec, now_usec))
                return "connected";
        return "unreachable";
}

static bool add_strings(cJSON *o, const char *key, char **l) {
        cJSON *a = cJSON_AddArrayToObject(o, key);
        for (char **s = l; a && s && *s; s++)
                if (!cJSON_AddItemToArray(a, cJSON_CreateString(*s)))
                        return false;
        return a != NULL;
}

/* "exit": {"offered", "client_key", "client_address", "pending", "remote_offered", "remote_address",
 * "key_pending"}; addresses and the key "" when there is none. */
static int link_exit_to_json(const Link *l, cJSON *o) {
        char key[WG_KEY_B64_LEN] = "", client[CIDR4_STRLEN] = "", remote[CIDR4_STRLEN] = "";
        cJSON *e = cJSON_AddObjectToObject(o, "exit");

        if (l->has_exit_client_key)
                key_to_base64(l->exit_client_key, key);
        if (l->exit_client_address)
                ipv4_format(l->exit_client_address, client);
        if (l->remote_exit_address)
                ipv4_format(l->remote_exit_address, remote);
        if (!e || !cJSON_AddBoolToObject(e, "offered", l->exit_offered) || !cJSON_AddStringToObject(e, "client_key", key) ||
            !cJSON_AddStringToObject(e, "client_address", client) || !cJSON_AddBoolToObject(e, "pending", l->exit_pending) ||
            !cJSON_AddBoolToObject(e, "remote_offered", l->remote_exit_offered) ||
            !cJSON_AddStringToObject(e, "remote_address", remote) ||
            !cJSON_AddBoolToObject(e, "key_pending", l->exit_key_pending))
                return -ENOMEM;
        return 0;
}

static int link_exit_from_json(const cJSON *o, Link *l, char *buf, size_t size) {
        enum { E_OFFERED, E_KEY, E_CLIENT, E_PENDING, E_REMOTE_OFFERED, E_REMOTE, E_KEY_PENDING, _E_MAX };
        static const JsonField fields[_E_MAX] = {
                { "offered", JSON_BOOL }, { "client_key", JSON_STRING }, { "client_address", JSON_STRING },
                { "pending", JSON_BOOL }, { "remote_offered", JSON_BOOL }, { "remote_address", JSON_STRING },
                { "key_pending", JSON_BOOL },
        };
        const cJSON *f[_E_MAX];
        int r = json_collect_fields(o, fields, _E_MAX, f, "link: exit", buf, size);
        if (r < 0)
                return r;
        l->exit_offered = cJSON_IsTrue(f[E_OFFERED]);
        l->exit_pending = cJSON_IsTrue(f[E_PENDING]);
        l->remote_exit_offered = cJSON_IsTrue(f[E_REMOTE_OFFERED]);
        l->exit_key_pending = cJSON_IsTrue(f[E_KEY_PENDING]);
        l->has_exit_client_key = *f[E_KEY]->valuestring != 0;
        if (l->has_exit_client_key && key_from_base64(f[E_KEY]->valuestring, l->exit_client_key) < 0)
                return json_refuse(buf, size, "link: exit: client_key is not a key.");
        if (*f[E_CLIENT]->valuestring && ipv4_parse(f[E_CLIENT]->valuestring, &l->exit_client_address) < 0)
                return json_refuse(buf, size, "link: exit: client_address is not an address.");
        if (*f[E_REMOTE]->valuestring && ipv4_parse(f[E_REMOTE]->valuestring, &l->remote_exit_address) < 0)
                return json_refuse(buf, size, "link: exit: remote_address is not an address.");
        return 0;
}

int link_to_json(const Link *l, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        cJSON *cell = cell_identity_to_json(&l->remote);

        if (!o || !cell || !cJSON_AddItemToObject(o, "cell", cell)) {
                cJSON_Delete(cell);
                return -ENOMEM;
        }
        if (!cJSON_AddNumberToObject(o, "schema", 1) || !cJSON_AddNumberToObject(o, "created", (double) l->created_usec) ||
            !cJSON_AddNumberToObject(o, "tx_counter", (double) l->tx_counter) ||
            !cJSON_AddNumberToObject(o, "rx_counter", (double) l->rx_counter) ||
            !cJSON_AddBoolToObject(o, "confirmed", l->confirmed) ||
            !cJSON_AddBoolToObject(o, "push_pending", l->push_pending) ||
            !cJSON_AddBoolToObject(o, "identity_pending", l->identity_pending) ||
            (l->own_pairing && !cJSON_AddStringToObject(o, "own_pairing", l->own_pairing)))
                return -ENOMEM;
        if (link_exit_to_json(l, o) < 0)
                return -ENOMEM;
        if (!add_strings(o, "shared", l->shared) || !add_strings(o, "remote_shared", l->remote_shared))
                return -ENOMEM;
        *ret = cJSON_Print(o);
        return *ret ? 0 : -ENOMEM;
}

enum { F_SCHEMA, F_CELL, F_CREATED, F_TX, F_RX, F_CONFIRMED, F_SHARED, F_REMOTE_SHARED, F_PUSH_PENDING,
       F_IDENTITY_PENDING, F_OWN_PAIRING, F_EXIT, _F_MAX };
static const JsonField link_fields[_F_MAX] = {
        { "schema", JSON_COUNT }, { "cell", JSON_OBJECT }, { "created", JSON_COUNT },
        { "tx_counter", JSON_COUNT }, { "rx_counter", JSON_COUNT }, { "confirmed", JSON_BOOL },
        { "shared", JSON_STRINGS }, { "remote_shared", JSON_STRINGS }, { "push_pending", JSON_BOOL },
        { "identity_pending", JSON_BOOL, .optional = true }, { "own_pairing", JSON_STRING, .optional = true },
        { "exit", JSON_OBJECT, .optional = true },
};

int link_from_json(const char *text, Link **ret, char *buf, size_t size) {
        _cleanup_(cjson_deletep) cJSON *o = json_parse_exact(text, strlen(text));
        _cleanup_(cell_identity_done) CellIdentity remote = {};
        const cJSON *f[_F_MAX];

        int r = json_collect_fields(o, link_fields, _F_MAX, f, "link", buf, size);
        if (r < 0)
                return r;
        if (json_count(f[F_SCHEMA]) != 1)
                return json_refuse(buf, size, "link: schema %llu is not one this PIC knows.",
                                   (unsigned long long) json_count(f[F_SCHEMA]));
        r = cell_identity_from_json(f[F_CELL], "link: cell", &remote, buf, size);
        if (r < 0)
                return r;
        Link *l;
        r = link_new(&remote, &l);
        if (r < 0)
                return r;
        l->created_usec = json_count(f[F_CREATED]);
        l->tx_counter = json_count(f[F_TX]);
        l->rx_counter = json_count(f[F_RX]);
        l->confirmed = cJSON_IsTrue(f[F_CONFIRMED]);
        l->push_pending = cJSON_IsTrue(f[F_PUSH_PENDING]);
        l->identity_pending = f[F_IDENTITY_PENDING] && cJSON_IsTrue(f[F_IDENTITY_PENDING]);
        r = 0;
        if (f[F_OWN_PAIRING]) {
                if (endpoint_validate(f[F_OWN_PAIRING]->valuestring) < 0) {
                        link_free(l);
                        return json_refuse(buf, size, "link: own_pairing '%.*s' is not host:port.",
                                           utf8_prefix_len(f[F_OWN_PAIRING]->valuestring, 64),
                                           f[F_OWN_PAIRING]->valuestring);
                }
                l->own_pairing = strdup(f[F_OWN_PAIRING]->valuestring);
                if (!l->own_pairing)
                        r = -ENOMEM;
        }
        if (r >= 0 && f[F_EXIT])
                r = link_exit_from_json(f[F_EXIT], l, buf, size);
        if (r >= 0)
                r = json_strings(f[F_SHARED], &l->shared);
        if (r >= 0)
                r = json_strings(f[F_REMOTE_SHARED], &l->remote_shared);
        if (r < 0) {
                link_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

int link_to_wg(const Link *l, WgDevice *d) {
        WgPeer *w = wg_device_append_peer(d);
        if (!w)
                return -ENOMEM;
        memcpy(w->public_key, l->wg_key, WG_KEY_LEN);
        w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_PERSISTENT_KEEPALIVE |
                   WG_PEER_HAS_PRESHARED_KEY;
        w->persistent_keepalive = LINK_KEEPALIVE_SEC;
        if (wg_endpoint_parse(l->remote.endpoint, &w->endpoint) >= 0)
                w->flags |= WG_PEER_HAS_ENDPOINT;
        else
                w->endpoint = (WgEndpoint) {};
        struct in_addr a = { .s_addr = htonl(cidr4_network(&l->subnet)) };
        return wg_peer_append_allowed_ip(w, AF_INET, &a, l->subnet.prefix) ? 0 : -ENOMEM;
}
