/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "bus-api.h"
#include "cell-firewall.h"
#include "keys.h"
#include "link-bus.h"
#include "link-exit.h"
#include "link-push.h"
#include "log.h"
#include "manager.h"
#include "polkit.h"

static char *exit_client_networks[] = { (char *) "internet", NULL };
static char *exit_client_services[] = { (char *) "dns", NULL }; /* its peers resolve through this cell */

void link_exit_carry_over(const Link *from, Link *to, bool moved) {
        to->exit_offered = from->exit_offered;
        to->has_exit_client_key = from->has_exit_client_key;
        memcpy(to->exit_client_key, from->exit_client_key, WG_KEY_LEN);
        to->exit_client_address = from->exit_client_address;
        to->remote_exit_offered = from->remote_exit_offered;
        to->remote_exit_address = from->remote_exit_address;
        /* paired again: the other side may have lost what it was told */
        to->exit_pending = from->exit_pending || (!moved && from->exit_offered);
        to->exit_key_pending = from->exit_key_pending || (!moved && from->remote_exit_offered);
}

static bool serves_tunnel(const Link *l) {
        return l->exit_offered && l->has_exit_client_key && l->exit_client_address != 0;
}

int link_exit_wg_contribute(Manager *m, WgDevice *d) {
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name) {
                if (!serves_tunnel(l))
                        continue;
                WgPeer *w = wg_device_append_peer(d);
                if (!w)
                        return -ENOMEM;
                memcpy(w->public_key, l->exit_client_key, WG_KEY_LEN);
                w->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS | WG_PEER_HAS_PRESHARED_KEY;
                struct in_addr a = { .s_addr = htonl(l->exit_client_address) };
                if (!wg_peer_append_allowed_ip(w, AF_INET, &a, 32))
                        return -ENOMEM;
        }
        return 0;
}

int link_exit_firewall_contribute(Manager *m, FirewallPeerList *list) {
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name) {
                if (!serves_tunnel(l))
                        continue;
                int r = firewall_peer_list_push(list, (FirewallPeer) { .address = l->exit_client_address,
                                                                       .services = exit_client_services,
                                                                       .networks = exit_client_networks });
                if (r < 0)
                        return r;
        }
        return 0;
}

Link *link_exit_by_address(Manager *m, uint32_t addr) {
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name)
                if (l->exit_offered && l->exit_client_address == addr)
                        return l;
        return NULL;
}

static bool address_is_taken(uint32_t addr, void *userdata) {
        Manager *m = userdata;
        return addr == m->cell.vpn_address.addr || hashmap_get(m->peers_by_address, &addr) ||
               link_exit_by_address(m, addr);
}

/* The kernel side follows what the links say: WireGuard peers, then the firewall. */
static void apply(Manager *m, Link *l) {
        int r = manager_reconcile(m);
        if (r < 0 && r != -EINPROGRESS)
                log_warning_errno(r, "WireGuard does not carry cell %s's exit tunnel yet (%m); it is retried.",
                                  l->remote.name);
        (void) cell_firewall_rebuild(m);
}

int link_exit_receive_key(Manager *m, Link *l, const LinkMessage *msg, sd_bus_error *error) {
        WgKey key;
        uint32_t addr = l->exit_client_address;

        if (key_from_base64(msg->exit_key, key) < 0) /* checked by the decoder */
                return -EINVAL;
        if (!l->exit_offered)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "This cell does not offer its exit to cell %s.",
                                         l->remote.name);
        if (!addr && manager_allocate_address(m, 0, address_is_taken, m, &addr) < 0)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "This cell's subnet has no free address left for cell %s's exit tunnel.",
                                         l->remote.name);
        Link old = *l;
        memcpy(l->exit_client_key, key, WG_KEY_LEN);
        l->has_exit_client_key = true;
        l->exit_client_address = addr;
        l->exit_pending = true; /* told its address, with the counter of this store */
        l->rx_counter = msg->counter;
        int r = link_bus_store(m, l);
        if (r < 0) {
                memcpy(l->exit_client_key, old.exit_client_key, WG_KEY_LEN);
                l->has_exit_client_key = old.has_exit_client_key;
                l->exit_client_address = old.exit_client_address;
                l->exit_pending = old.exit_pending;
                l->rx_counter = old.rx_counter;
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store cell %s's exit tunnel: %s.",
                                         l->remote.name, strerror(-r));
        }
        apply(m, l);
        (void) link_push_pending(m, l);
        return 0;
}

int link_exit_method_offer(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Link *l = userdata;
        Manager *m = l->manager;
        int offer;

        int r = sd_bus_message_read(message, "b", &offer);
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (l->exit_offered == !!offer)
                return sd_bus_reply_method_return(message, NULL);

        Link old = *l;
        l->exit_offered = offer;
        l->exit_pending = true;
        if (!offer) { /* its tunnel goes; an offer later starts from a new key */
                l->has_exit_client_key = false;
                l->exit_client_address = 0;
        }
        r = link_bus_store(m, l);
        if (r < 0) {
                l->exit_offered = old.exit_offered;
                l->exit_pending = old.exit_pending;
                l->has_exit_client_key = old.has_exit_client_key;
                l->exit_client_address = old.exit_client_address;
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the offer to %s: %s.", l->remote.name,
                                         strerror(-r));
        }
        if (!offer)
                key_wipe(l->exit_client_key);
        apply(m, l);
        log_info("%s this cell's uplink %s cell %s as its exit.", offer ? "Offered" : "Withdrew",
                 offer ? "to" : "from", l->remote.name);
        char *changed[] = { "ExitOffered", "PendingPush", NULL };
        link_bus_emit_changed(l, changed);
        (void) link_push_pending(m, l);
        return sd_bus_reply_method_return(message, NULL);
}
