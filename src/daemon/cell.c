/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "keys.h"
#include "macro.h"
#include "names.h"

void cell_done(Cell *c) {
        free(c->name);
        free(c->domain);
        free(c->endpoint);
        key_wipe(c->private_key);
        *c = (Cell) {};
}

int cell_copy(const Cell *c, Cell *ret) {
        *ret = *c;
        ret->name = c->name ? strdup(c->name) : NULL;
        ret->domain = c->domain ? strdup(c->domain) : NULL;
        ret->endpoint = c->endpoint ? strdup(c->endpoint) : NULL;
        if ((c->name && !ret->name) || (c->domain && !ret->domain) || (c->endpoint && !ret->endpoint)) {
                cell_done(ret);
                return -ENOMEM;
        }
        return 0;
}

static bool host_char_ok(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '.';
}

/* "host:port" or "[v6]:port"; the host is a DNS name or an address. */
int endpoint_validate(const char *s) {
        if (strlen(s) > CELL_ENDPOINT_MAX)
                return -EINVAL;
        const char *colon = strrchr(s, ':');
        if (!colon || colon == s || !colon[1])
                return -EINVAL;
        char *end;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (*end || port == 0 || port > 65535 || colon[1] == '0' || colon[1] == '+' || colon[1] == '-')
                return -EINVAL;
        if (s[0] == '[') {
                if (colon[-1] != ']' || colon - s < 4)
                        return -EINVAL;
                for (const char *p = s + 1; p < colon - 1; p++)
                        if (!strchr("0123456789abcdefABCDEF:.", *p))
                                return -EINVAL;
                return 0;
        }
        for (const char *p = s; p < colon; p++)
                if (!host_char_ok(*p))
                        return -EINVAL;
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
