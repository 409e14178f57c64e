/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "nft/firewall.h"
#include "wg/wg.h"

/* The desired state: what WireGuard and the firewall should hold, gathered
 * from every kind of object the cell has (peers now; cell links, exits and
 * DNS records next). Each kind is one Contributor; the reconcilers compare the
 * whole with what the kernel holds and change the difference, so adding a kind
 * touches no reconciler. */

typedef struct FirewallPeerList {
        FirewallPeer *items;
        size_t n, allocated;
} FirewallPeerList;

int firewall_peer_list_push(FirewallPeerList *l, FirewallPeer p);
void firewall_peer_list_done(FirewallPeerList *l);

typedef struct Contributor {
        const char *kind;
        /* Appends this kind's peers of the cell's WireGuard device. */
        int (*wireguard)(Manager *m, WgDevice *d);
        /* Appends this kind's firewall entries (strings stay owned by the kind). */
        int (*firewall)(Manager *m, FirewallPeerList *l);
} Contributor;

/* The cell's device: its key, its port and every kind's peers. */
int desired_wireguard(Manager *m, WgDevice **ret);
int desired_firewall(Manager *m, FirewallPeerList *ret);
