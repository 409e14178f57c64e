/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"
#include "names.h"
#include "wg/wg.h"

#define CELL_DEFAULT_LISTEN_PORT 51820
#define CELL_ENDPOINT_MAX ENDPOINT_MAX

/* The cell's own settings. VpnAddress and ListenPort changes wait in the
 * pending_* fields until Apply(). */
typedef struct Cell {
        bool setup_complete;
        char *name;
        char *domain;
        char *endpoint; /* "host:port" peers use, may be NULL */
        Cidr4 vpn_address;
        uint16_t listen_port;
        WgKey private_key;
        WgKey public_key;
        char public_key_b64[WG_KEY_B64_LEN];
        char *admin_password_hash; /* crypto_pwhash string, NULL: no admin login yet */
        char **dns_servers;        /* upstream resolvers (dns_server_check), NULL: none */

        bool pending_vpn_address, pending_listen_port;
        Cidr4 pending_vpn_address_value;
        uint16_t pending_listen_port_value;
} Cell;

/* What Setup/Configure were given; NULL / false = not given. */
typedef struct CellSettings {
        const char *name, *domain, *vpn_address, *endpoint, *admin_password;
        const char *setup_code; /* Setup only (setup-code.h) */
        uint16_t listen_port;
        bool has_listen_port;
        char **dns_servers; /* owned: cell_settings_done() */
        bool has_dns_servers;
        /* parsed */
        Cidr4 vpn;
} CellSettings;

void cell_done(Cell *c);
/* Validates settings; on error writes a message naming the field into
 * error_buf and returns -EINVAL. */
int cell_settings_validate(CellSettings *s, char *error_buf, size_t size);
void cell_settings_done(CellSettings *s);
/* DnsServers, checked entry by entry as they are read (bus-dict.h). */
int cell_dns_servers_validate(char *const *l, char *buf, size_t size);
/* Copies c, keys included (for a change that may have to be undone). */
int cell_copy(const Cell *c, Cell *ret);
