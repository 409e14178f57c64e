/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cell-identity.h"
#include "ddns-update.h"
#include "keys.h"
#include "manager.h"
#include "signing-key-file.h"

int own_signing_key(Manager *m) {
        if (m->has_signing_key)
                return 0;
        int r = signing_key_file_load_or_create(m->state_fd, &m->signing_key);
        if (r < 0)
                return r;
        m->has_signing_key = true;
        return 0;
}

int own_identity(Manager *m, const char *pairing, OwnIdentity *ret) {
        Cidr4 net = { .addr = cidr4_network(&m->cell.vpn_address), .prefix = m->cell.vpn_address.prefix };

        if (!m->cell.setup_complete || !m->cell.endpoint || !m->has_signing_key)
                return -EINVAL;
        *ret = (OwnIdentity) {};
        if (pairing)
                snprintf(ret->pairing, sizeof ret->pairing, "%s", pairing);
        else {
                const char *colon = strrchr(m->cell.endpoint, ':');
                if (!colon || (size_t) snprintf(ret->pairing, sizeof ret->pairing, "%.*s:%s",
                                                (int) (colon - m->cell.endpoint), m->cell.endpoint,
                                                PAIRING_PORT_DEFAULT) >= sizeof ret->pairing)
                        return -EINVAL;
        }
        const char *address = ddns_endpoint_address(m, m->cell.endpoint);
        if (address)
                snprintf(ret->endpoint, sizeof ret->endpoint, "%s%s", address, strrchr(m->cell.endpoint, ':'));
        else
                snprintf(ret->endpoint, sizeof ret->endpoint, "%s", m->cell.endpoint);
        key_to_base64(m->cell.public_key, ret->wg);
        ret->cell = (CellIdentity) {
                .name = m->cell.name,
                .domain = m->cell.domain,
                .vpn_subnet = cidr4_format(&net, ret->subnet),
                .dns_address = ipv4_format(m->cell.vpn_address.addr, ret->dns),
                .endpoint = ret->endpoint,
                .pairing = ret->pairing,
                .wg_public_key = ret->wg,
                .signing_key = m->signing_key.public,
        };
        return 0;
}
