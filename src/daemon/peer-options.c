/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sodium.h>

#include "bus-dict.h"
#include "bus-api.h"
#include "keys.h"
#include "nft/firewall.h"
#include "link-exit.h"
#include "peer-options.h"

void peer_options_done(PeerOptions *o) {
        strv_free(o->access);
        strv_free(o->networks);
        sodium_memzero(o, sizeof *o);
}

int peer_options_read(sd_bus_message *m, PeerOptions *o, bool with_name, sd_bus_error *error) {
        /* each entry is checked as it is read (known, not repeated), so a longer list
         * fails at its first bad entry; the limit is the backstop */
        size_t max_access = strv_length((char *const *) firewall_service_names());
        size_t max_networks = strv_length((char *const *) firewall_network_names());
        const BusDictField fields[] = {
                { "Name", 's', &o->name, &o->has_name }, /* only with_name: left out of the table otherwise */
                { "PublicKey", 's', &o->public_key, &o->has_pub },
                { "Address", 's', &o->address, &o->has_addr },
                { "ServiceAccess", 'a', &o->access, &o->has_access, max_access, peer_service_access_validate },
                { "NetworkAccess", 'a', &o->networks, &o->has_networks, max_networks, peer_network_access_validate },
                { "PersistentKeepalive", 'q', &o->keepalive, &o->has_keepalive },
                { "PresharedKey", 's', &o->psk_string, &o->has_psk_s },
                { "PresharedKey", 'b', &o->psk_generate, &o->has_psk_b },
                { "Exit", 's', &o->exit, &o->has_exit },
        };
        int r = bus_read_dict(m, fields + !with_name, ELEMENTSOF(fields) - !with_name, error);
        if (r < 0)
                return r;

        if (o->has_pub) {
                if (key_from_base64(o->public_key, o->key) < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "PublicKey must be a WireGuard key: 44 characters of base64 ending in '='.");
                if (key_is_weak_public(o->key))
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "PublicKey is a point of small order (such as all zeros), which no "
                                                "real device has: give the device's own public key.");
                key_to_base64(o->key, o->key_b64);
        }
        if (o->has_psk_s && key_from_base64(o->psk_string, o->psk) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "PresharedKey must be a WireGuard key (44 characters of base64), "
                                        "or a boolean (true: generate one).");
        if (o->has_addr && peer_address_parse(o->address, &o->addr) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, PEER_ADDRESS_ERROR);
        if (o->has_exit && !isempty(o->exit) && !peer_name_is_valid(o->exit))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Exit must be the name of one of the cell's exits, or \"\" for the cell's uplink.");
        return 0;
}

int peer_options_check(Manager *m, const PeerOptions *o, const Peer *self, sd_bus_error *error) {
        char a[CIDR4_STRLEN], net[CIDR4_STRLEN];

        if (o->has_addr) {
                Peer *other = hashmap_get(m->peers_by_address, &o->addr);
                if (!cidr4_is_host(&m->cell.vpn_address, o->addr))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Address %s is not a usable host address of the cell's subnet %s.",
                                                 ipv4_format(o->addr, a), cidr4_format(&m->cell.vpn_address, net));
                if (o->addr == m->cell.vpn_address.addr)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "Address %s is the cell's own address.",
                                                 ipv4_format(o->addr, a));
                if (other && other != self)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "Address %s is already used by peer '%s'.",
                                                 ipv4_format(o->addr, a), other->name);
                Link *l = link_exit_by_address(m, o->addr);
                if (l)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "Address %s is used by cell %s's exit tunnel.", ipv4_format(o->addr, a),
                                                 l->remote.name);
        }
        if (o->has_exit && !isempty(o->exit) && !hashmap_get(m->exits_by_name, o->exit))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Exit: the cell has no exit named '%s' (picctl exit list).", o->exit);
        if (o->has_pub) {
                Peer *other = hashmap_get(m->peers_by_key, o->key_b64);
                if (other && other != self)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "PublicKey is already used by peer '%s'.",
                                                 other->name);
                if (streq(o->key_b64, m->cell.public_key_b64))
                        return sd_bus_error_set(error, PIC_ERROR_CONFLICT, "PublicKey is the cell's own key.");
        }
        return 0;
}

int peer_options_apply(const PeerOptions *o, Peer *p) {
        int r;

        if (o->has_pub && !streq(o->key_b64, p->public_key_b64)) {
                peer_set_public_key(p, o->key);
                p->has_private_key = false; /* the device holds its own key now */
                key_wipe(p->private_key);
        }
        if (o->has_addr)
                p->address = o->addr;
        if (o->has_access && (r = peer_set_service_access(p, o->access)) < 0)
                return r;
        if (o->has_networks && (r = peer_set_network_access(p, o->networks)) < 0)
                return r;
        if (o->has_keepalive)
                p->persistent_keepalive = o->keepalive;
        if (o->has_exit)
                snprintf(p->exit, sizeof p->exit, "%s", o->exit);
        if (o->has_psk_s) {
                memcpy(p->preshared_key, o->psk, WG_KEY_LEN);
                p->has_preshared_key = true;
        } else if (o->has_psk_b) {
                p->has_preshared_key = o->psk_generate;
                if (o->psk_generate)
                        key_generate_symmetric(p->preshared_key);
                else
                        key_wipe(p->preshared_key);
        }
        return 0;
}
