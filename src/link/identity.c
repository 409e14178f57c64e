/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "identity.h"
#include "json-fields.h"
#include "keys.h"
#include "macro.h"
#include "names.h"

void cell_identity_done(CellIdentity *c) {
        free(c->name);
        free(c->domain);
        free(c->vpn_subnet);
        free(c->dns_address);
        free(c->endpoint);
        free(c->pairing);
        free(c->wg_public_key);
        *c = (CellIdentity) {};
}

cJSON *cell_identity_to_json(const CellIdentity *c) {
        char sign[SIGNING_PUBLIC_TEXT_LEN];
        cJSON *o = cJSON_CreateObject();

        signing_public_to_text(&c->signing_key, sign);
        if (!o || !cJSON_AddStringToObject(o, "name", c->name) || !cJSON_AddStringToObject(o, "domain", c->domain) ||
            !cJSON_AddStringToObject(o, "subnet", c->vpn_subnet) ||
            !cJSON_AddStringToObject(o, "dns", c->dns_address) ||
            !cJSON_AddStringToObject(o, "endpoint", c->endpoint) ||
            !cJSON_AddStringToObject(o, "pairing", c->pairing) ||
            !cJSON_AddStringToObject(o, "wg", c->wg_public_key) || !cJSON_AddStringToObject(o, "sign", sign)) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

enum { F_NAME, F_DOMAIN, F_SUBNET, F_DNS, F_ENDPOINT, F_PAIRING, F_WG, F_SIGN, _F_MAX };
static const JsonField identity_fields[_F_MAX] = {
        { "name", JSON_STRING },     { "domain", JSON_STRING },  { "subnet", JSON_STRING }, { "dns", JSON_STRING },
        { "endpoint", JSON_STRING }, { "pairing", JSON_STRING }, { "wg", JSON_STRING },     { "sign", JSON_STRING },
};

static int dup_field(const cJSON *item, char **ret) {
        *ret = strdup(item->valuestring);
        return *ret ? 0 : -ENOMEM;
}

int cell_identity_from_json(const cJSON *o, const char *what, CellIdentity *ret, char *buf, size_t size) {
        const cJSON *f[_F_MAX];
        CellIdentity c = {};
        Cidr4 subnet;
        uint32_t dns;
        WgKey wg;

        int r = json_collect_fields(o, identity_fields, _F_MAX, f, what, buf, size);
        if (r < 0)
                return r;
        if (!dns_label_is_valid(f[F_NAME]->valuestring))
                return json_refuse(buf, size, "%s: field 'name' is not a cell name (%s).", what, DNS_LABEL_DOC);
        if (!dns_domain_is_valid(f[F_DOMAIN]->valuestring))
                return json_refuse(buf, size, "%s: field 'domain' is not a domain name.", what);
        if (cidr4_parse(f[F_SUBNET]->valuestring, true, &subnet) < 0 || cidr4_network(&subnet) != subnet.addr ||
            subnet.prefix < 8 || subnet.prefix > 30)
                return json_refuse(buf, size, "%s: field 'subnet' is not an IPv4 network (a.b.c.0/8 to /30).", what);
        if (ipv4_parse(f[F_DNS]->valuestring, &dns) < 0 || !cidr4_is_host(&subnet, dns))
                return json_refuse(buf, size, "%s: field 'dns' is not an address inside the subnet.", what);
        if (endpoint_validate(f[F_ENDPOINT]->valuestring) < 0)
                return json_refuse(buf, size, "%s: field 'endpoint' is not host:port.", what);
        if (endpoint_validate(f[F_PAIRING]->valuestring) < 0)
                return json_refuse(buf, size, "%s: field 'pairing' is not host:port.", what);
        if (key_from_base64(f[F_WG]->valuestring, wg) < 0 || key_is_weak_public(wg))
                return json_refuse(buf, size, "%s: field 'wg' is not a usable WireGuard public key.", what);
        if (signing_public_from_text(f[F_SIGN]->valuestring, &c.signing_key) < 0)
                return json_refuse(buf, size, "%s: field 'sign' is not an Ed25519 public key.", what);

        if (dup_field(f[F_NAME], &c.name) < 0 || dup_field(f[F_DOMAIN], &c.domain) < 0 ||
            dup_field(f[F_SUBNET], &c.vpn_subnet) < 0 || dup_field(f[F_DNS], &c.dns_address) < 0 ||
            dup_field(f[F_ENDPOINT], &c.endpoint) < 0 || dup_field(f[F_PAIRING], &c.pairing) < 0 ||
            dup_field(f[F_WG], &c.wg_public_key) < 0) {
                cell_identity_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}
