/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A link with another cell (src/link/PROTOCOL.md): who it is, as it told us
 * at pairing, and the counters of the signed messages between us. Stored as
 * STATE/links/<name>.json (0600). Model code: no bus, no kernel here. */

#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"
#include "identity.h"
#include "macro.h"
#include "wg/wg.h"

typedef struct Manager Manager;

typedef struct Link {
        Manager *manager;
        char *object_path;
        CellIdentity remote;   /* remote.name names the link */
        WgKey wg_key;          /* remote.wg_public_key, decoded */
        Cidr4 subnet;          /* remote.vpn_subnet, parsed */
        uint64_t created_usec;
        uint64_t tx_counter;   /* the last message counter this cell used towards it */
        uint64_t rx_counter;   /* the last one accepted from it */
        bool confirmed;        /* a handshake was seen: the other side has the link too */
        char **shared;         /* this cell's services the linked cell's subnet may reach */
        char **remote_shared;  /* what the linked cell says it shares with this one (its last message) */
        bool push_pending;     /* the linked cell has not been told what is shared with it (stored) */
        bool identity_pending; /* nor this cell's new identity, after an address, domain or endpoint change (stored) */
        char *own_pairing;     /* the pairing address this cell gave it; NULL: its Endpoint's host, default port */

        /* exits: this cell's uplink offered to it (link-exit.c) … (stored) */
        bool exit_offered;
        bool has_exit_client_key;
        WgKey exit_client_key;        /* its exit tunnel's key, once it sent it */
        uint32_t exit_client_address; /* that tunnel's address in this cell's subnet; 0: none yet */
        bool exit_pending;            /* it is to be told about the offer ("exit" message) */
        /* … and its uplink offered to this cell (exit-cell.c) (stored) */
        bool remote_exit_offered;
        uint32_t remote_exit_address; /* this cell's tunnel address in its subnet; 0: not told yet */
        bool exit_key_pending;        /* it is to be told this cell's exit tunnel key ("exit-key") */

        /* telling it (link-push.c): not stored but push_pending */
        struct sd_event_source *push_timer;
        struct HttpRequest *push_request;
        unsigned push_failures;
        int push_type;         /* LinkMessageType of the message in flight or last tried */
        uint64_t last_push_usec;
        char *last_push_error;
        bool refused;          /* the last message was answered "UnknownCell": it dropped its side */
        uint64_t refused_messages; /* messages naming its key that were refused, since start */

        /* read from WireGuard on a timer */
        uint64_t latest_handshake_usec, rx_bytes, tx_bytes;
        WgEndpoint seen_endpoint;  /* where its packets last came from (an exit through it goes there) */
        const char *announced_state; /* link_state() as last announced (it changes with time too) */
} Link;

Link *link_free(Link *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Link *, link_free);
/* A new link to the cell @remote describes (copied). */
int link_new(const CellIdentity *remote, Link **ret);

/* "refused" while the linked cell says it has no link with this one (its
 * answer to the last message), else "connected" after a handshake within the
 * last 3 minutes, else "pairing" until the first one, then "unreachable". */
const char *link_state(const Link *l, uint64_t now_usec);

int link_to_json(const Link *l, char **ret);
/* -EINVAL with a message in buf when the text is not a link. */
int link_from_json(const char *text, Link **ret, char *buf, size_t size);

/* The link as a peer of the cell's WireGuard device: its key, its subnet,
 * its endpoint when that is an address (a name is left to the other side,
 * which reaches us and so sets the endpoint by roaming). */
int link_to_wg(const Link *l, WgDevice *d);
