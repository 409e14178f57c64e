/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "dnsmasq.h"
#include "keys.h"
#include "macro.h"
#include "names.h"
#include "password.h"
#include "strv.h"

void cell_done(Cell *c) {
        free(c->name);
        free(c->domain);
        free(c->endpoint);
        free(c->admin_password_hash);
        strv_free(c->dns_servers);
        key_wipe(c->private_key);
        *c = (Cell) {};
}

int cell_copy(const Cell *c, Cell *ret) {
        *ret = *c;
        ret->name = c->name ? strdup(c->name) : NULL;
        ret->domain = c->domain ? strdup(c->domain) : NULL;
        ret->endpoint = c->endpoint ? strdup(c->endpoint) : NULL;
        ret->admin_password_hash = c->admin_password_hash ? strdup(c->admin_password_hash) : NULL;
        ret->dns_servers = c->dns_servers ? strv_copy(c->dns_servers) : NULL;
        if ((c->name && !ret->name) || (c->domain && !ret->domain) || (c->endpoint && !ret->endpoint) ||
            (c->admin_password_hash && !ret->admin_password_hash) || (c->dns_servers && !ret->dns_servers)) {
                cell_done(ret);
                return -ENOMEM;
        }
        return 0;
}

void cell_settings_done(CellSettings *s) {
        s->dns_servers = strv_free(s->dns_servers);
}

int cell_dns_servers_validate(char *const *l, char *buf, size_t size) {
        size_t n = strv_length(l);

        if (n == 0)
                return 0;
        if (dns_server_check(l[n - 1]) < 0) {
                snprintf(buf, size, "DnsServers: '%.*s' is not an IPv4 or IPv6 address (optionally with #port).",
                         utf8_prefix_len(l[n - 1], 64), l[n - 1]);
                return -EINVAL;
        }
        for (size_t i = 0; i + 1 < n; i++)
                if (streq(l[i], l[n - 1])) {
                        snprintf(buf, size, "DnsServers: '%s' is given twice.", l[i]);
                        return -EINVAL;
                }
        return 0;
}

int cell_settings_validate(CellSettings *s, char *buf, size_t size) {
        if (s->name && !dns_label_is_valid(s->name)) {
                snprintf(buf, size, "Name must be a DNS label: %s.", DNS_LABEL_DOC);
                return -EINVAL;
        }
        if (s->domain && !dns_domain_is_valid(s->domain)) {
                snprintf(buf, size, "Domain must be a DNS name of labels of %s, at most 253 characters.", DNS_LABEL_DOC);
                return -EINVAL;
        }
        if (s->vpn_address) {
                if (cidr4_parse(s->vpn_address, true, &s->vpn) < 0) {
                        snprintf(buf, size, "VpnAddress must be an IPv4 address with a prefix length, like 10.0.0.1/24.");
                        return -EINVAL;
                }
                if (!cidr4_is_rfc1918(&s->vpn)) {
                        snprintf(buf, size, "VpnAddress must lie in private (RFC 1918) space: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.");
                        return -EINVAL;
                }
                if (s->vpn.prefix > 30 || !cidr4_is_host(&s->vpn, s->vpn.addr)) {
                        snprintf(buf, size, "VpnAddress must be a host address of a subnet of /30 or larger, not its network or broadcast address.");
                        return -EINVAL;
                }
        }
        if (s->admin_password && password_check_quality(s->admin_password) < 0) {
                snprintf(buf, size, "AdminPassword must be %d-%d characters without control characters.", PASSWORD_MIN,
                         PASSWORD_MAX);
                return -EINVAL;
        }
        if (s->has_listen_port && s->listen_port == 0) {
                snprintf(buf, size, "ListenPort must be between 1 and 65535.");
                return -EINVAL;
        }
        if (s->endpoint && s->endpoint[0] && endpoint_validate(s->endpoint) < 0) {
                snprintf(buf, size, "Endpoint must be host:port or [IPv6]:port with a port from 1 to 65535.");
                return -EINVAL;
        }
        return 0;
}
