/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-api.h"
#include "bus-dict.h"
#include "cell-bus.h"
#include "cell-firewall.h"
#include "cell-identity.h"
#include "failure-injection.h"
#include "http-client.h"
#include "invites.h"
#include "json-util.h"
#include "keys.h"
#include "link-bus.h"
#include "link-pairing.h"
#include "exit-cell.h"
#include "link-exit.h"
#include "link-push.h"
#include "link-wg.h"
#include "log.h"
#include "manager.h"
#include "pairing.h"
#include "polkit.h"
#include "strv.h"
#include "time-util.h"

#define PAIRING_PATH "/cell/v1/pair"
#define PAIRING_TIMEOUT_USEC (8ULL * 1000000ULL) /* under the gateway's 10 s bus timeout */
#define PAIRING_ANSWER_MAX 8192

typedef struct PairingCall {
        Manager *manager;
        sd_bus_message *message; /* the AddLink call, answered once the other cell has */
        Invite invite;           /* what it was given; the secret is wiped once the request is made */
        char invite_id[INVITE_ID_TEXT_LEN];
        char own_pairing[ENDPOINT_MAX + 1]; /* the PairingAddress option; empty: none */
        HttpRequest *request;
        struct PairingCall *prev, *next;
} PairingCall;

static void pairing_call_free(PairingCall *c) {
        Manager *m = c->manager;
        http_request_cancel(c->request);
        sd_bus_message_unref(c->message);
        invite_done(&c->invite);
        if (c->prev)
                c->prev->next = c->next;
        else
                m->pairings = c->next;
        if (c->next)
                c->next->prev = c->prev;
        free(c);
}

void link_pairing_abandon(Manager *m) {
        while (m->pairings)
                pairing_call_free(m->pairings);
        m->http = http_client_free(m->http);
}

static uint64_t now_sec(void) {
        return now_usec(CLOCK_REALTIME) / 1000000ULL;
}

/* 0 when the cell remote describes may be linked; else a Conflict naming what
 * collides. *ret_same: this cell's link with that very cell (same name, same
 * signing key), which pairing again replaces; it collides with nothing. */
int link_check_conflicts(Manager *m, const CellIdentity *remote, Link **ret_same, sd_bus_error *error) {
        char own[CIDR4_STRLEN];
        Cidr4 subnet;
        WgKey wg;
        Link *l, *same = hashmap_get(m->links_by_name, remote->name);

        if (cidr4_parse(remote->vpn_subnet, true, &subnet) < 0 || key_from_base64(remote->wg_public_key, wg) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The other cell's identity is malformed.");
        if (m->has_signing_key && memcmp(remote->signing_key.bytes, m->signing_key.public.bytes, SIGNING_PUBLIC_LEN) == 0)
                return sd_bus_error_set(error, PIC_ERROR_CONFLICT, "This is this cell's own invite.");
        if (same && memcmp(same->remote.signing_key.bytes, remote->signing_key.bytes, SIGNING_PUBLIC_LEN) != 0)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "This cell is linked with another cell named %s already (its signing key "
                                         "differs): remove that link first.", remote->name);
        if (cidr4_overlaps(&subnet, &m->cell.vpn_address))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "Cell %s's VPN subnet %s overlaps this cell's own (%s): one of the two must "
                                         "change its address first.", remote->name, remote->vpn_subnet,
                                         cidr4_format(&m->cell.vpn_address, own));
        if (m->cell.pending_vpn_address && cidr4_overlaps(&subnet, &m->cell.pending_vpn_address_value))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "Cell %s's VPN subnet %s overlaps the address this cell is to move to (%s, "
                                         "pending): change or discard that first.", remote->name, remote->vpn_subnet,
                                         cidr4_format(&m->cell.pending_vpn_address_value, own));
        if (streq(remote->domain, m->cell.domain))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "Cell %s uses this cell's own domain %s.",
                                         remote->name, remote->domain);
        if (memcmp(wg, m->cell.public_key, WG_KEY_LEN) == 0 || hashmap_get(m->peers_by_key, remote->wg_public_key))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "Cell %s's WireGuard key is one this cell already uses.", remote->name);
        HASHMAP_FOREACH(l, m->links_by_name) {
                if (l == same)
                        continue;
                if (memcmp(l->remote.signing_key.bytes, remote->signing_key.bytes, SIGNING_PUBLIC_LEN) == 0)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "This cell is linked with that cell already, as %s.", l->remote.name);
                if (cidr4_overlaps(&subnet, &l->subnet))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "Cell %s's VPN subnet %s overlaps that of linked cell %s (%s).",
                                                 remote->name, remote->vpn_subnet, l->remote.name, l->remote.vpn_subnet);
                if (streq(l->remote.domain, remote->domain))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "Cell %s uses domain %s, as linked cell %s does.", remote->name,
                                                 remote->domain, l->remote.name);
                if (memcmp(l->wg_key, wg, WG_KEY_LEN) == 0)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "Cell %s's WireGuard key is linked cell %s's.", remote->name, l->remote.name);
        }
        if (ret_same)
                *ret_same = same;
        return 0;
}

int link_check_own_change(Manager *m, const char *name, const char *domain, const Cidr4 *vpn, sd_bus_error *error) {
        char a[CIDR4_STRLEN];
        Link *l;

        HASHMAP_FOREACH(l, m->links_by_name) {
                if (name && !streq(name, m->cell.name))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "Name: linked cells (%s among them) know this cell as %s; remove the "
                                                 "links to rename it, then pair again.", l->remote.name, m->cell.name);
                if (domain && streq(domain, l->remote.domain))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "Domain: linked cell %s uses %s.",
                                                 l->remote.name, domain);
                if (vpn && cidr4_overlaps(vpn, &l->subnet))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "VpnAddress: %s overlaps linked cell %s's subnet %s.",
                                                 cidr4_format(vpn, a), l->remote.name, l->remote.vpn_subnet);
                /* its exit tunnel's address is in this cell's subnet, and it was told that address */
                if (vpn && l->exit_client_address && !cidr4_contains(vpn, l->exit_client_address))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "VpnAddress: cell %s uses this cell as its exit, with tunnel address "
                                                 "%s; withdraw the offer (Link.OfferExit false) before moving.",
                                                 l->remote.name, ipv4_format(l->exit_client_address, a));
        }
        return 0;
}

int link_add(Manager *m, const LinkAddition *a, Link **ret, sd_bus_error *error) {
        _cleanup_(link_freep) Link *l = NULL;
        const CellIdentity *remote = a->remote;
        Link *same = a->same;
        /* a moved cell's endpoint goes to WireGuard at once (link_wg_set_endpoint) */
        bool endpoint_moved = a->moved && !streq_ptr(same->remote.endpoint, remote->endpoint);

        int r = link_new(remote, &l);
        if (r >= 0) {
                l->created_usec = a->moved ? same->created_usec : now_usec(CLOCK_REALTIME);
                l->confirmed = a->moved && same->confirmed;
                if (a->moved && memcmp(l->wg_key, same->wg_key, WG_KEY_LEN) == 0) {
                        /* the same WireGuard peer: its handshake still counts (State stays connected) */
                        l->latest_handshake_usec = same->latest_handshake_usec;
                        l->rx_bytes = same->rx_bytes;
                        l->tx_bytes = same->tx_bytes;
                }
                l->rx_counter = a->rx_counter;
                /* never count down towards the other cell: it refuses what it saw before */
                l->tx_counter = same ? same->tx_counter : 0;
                /* what this cell shares with it is its admin's decision: pairing again keeps it */
                if (same && same->shared && !(l->shared = strv_copy(same->shared)))
                        r = -ENOMEM;
                if (same && same->remote_shared && !(l->remote_shared = strv_copy(same->remote_shared)))
                        r = -ENOMEM;
                if (a->own_pairing && !(l->own_pairing = strdup(a->own_pairing)))
                        r = -ENOMEM;
                l->push_pending = same && same->push_pending;
                l->identity_pending = same && same->identity_pending;
                if (same)
                        link_exit_carry_over(same, l, a->moved);
        }
        if (r >= 0)
                r = link_bus_store(m, l); /* over same's file, if any: one atomic replace */
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the link to %s: %s.", remote->name,
                                         strerror(-r));
        if (same) {
                hashmap_remove(m->links_by_name, same->remote.name);
                (void) sd_bus_emit_object_removed(m->bus, same->object_path);
                link_push_cancel(same);
                link_free(same);
        }
        r = link_bus_add(m, l);
        if (r < 0)
                return r;
        Link *added = TAKE_PTR(l);
        (void) sd_bus_emit_object_added(m->bus, added->object_path);
        r = manager_reconcile(m);
        if (r < 0 && r != -EINPROGRESS)
                log_warning_errno(r, "WireGuard does not have the link to %s yet (%m); it is retried.", remote->name);
        if (r >= 0 && endpoint_moved && (r = link_wg_set_endpoint(m, added)) < 0)
                log_warning_errno(r, "WireGuard still reaches cell %s at its old endpoint (%m) until it roams.",
                                  remote->name);
        if (link_bus_sync_dns(m) < 0)
                log_warning("DNS: the forward to %s for %s was refused.", remote->dns_address, remote->domain);
        if (same || (added->shared && added->shared[0]))
                (void) cell_firewall_rebuild(m); /* its subnet may have changed: the shares follow */
        (void) link_push_pending(m, added); /* to where it is now */
        exit_cell_sync(m, added); /* an exit through it follows it too */
        log_info("%s cell %s (%s, %s).", a->moved ? "Followed" : same ? "Paired again with" : "Linked with",
                 remote->name, remote->domain, remote->vpn_subnet);
        *ret = added;
        return 0;
}

static int invite_error(sd_bus_error *error, int r, const char *why) {
        if (r == -EBADMSG)
                return sd_bus_error_set(error, PIC_ERROR_FORGED, why);
        if (r == -EINVAL)
                return sd_bus_error_set(error, PIC_ERROR_INVALID_INVITE, why);
        return r;
}

/* --- the answer to AddLink, when the other cell has spoken --- */

/* A refusal from the other cell: its own error name when it is one of ours. */
static void reply_refused(PairingCall *c, long status, const char *body) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_Parse(body);
        const cJSON *name = cJSON_GetObjectItem(o, "error"), *message = cJSON_GetObjectItem(o, "message");

        if (cJSON_IsString(name) && cJSON_IsString(message) &&
            (strncmp(name->valuestring, "org.pic.Cell1.Error.", 20) == 0 ||
             streq(name->valuestring, SD_BUS_ERROR_ACCESS_DENIED)) &&
            strlen(name->valuestring) < 64 && strlen(message->valuestring) < 512) {
                (void) sd_bus_reply_method_errorf(c->message, name->valuestring, "Cell %s refused: %s",
                                                  c->invite.cell.name, message->valuestring);
                return;
        }
        (void) sd_bus_reply_method_errorf(c->message, PIC_ERROR_UNREACHABLE,
                                          "Cell %s's gateway at %s answered HTTP %ld, not a pairing answer.",
                                          c->invite.cell.name, c->invite.cell.pairing, status);
}

static void on_answer(HttpRequest *req, int error, long status, const char *body, size_t size, void *userdata) {
        PairingCall *c = userdata;
        Manager *m = c->manager;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(pairing_message_done) PairingMessage answer = {};
        char why[256];
        Link *l;

        c->request = NULL;
        if (error < 0) {
                (void) sd_bus_reply_method_errorf(c->message, PIC_ERROR_UNREACHABLE,
                                                  "Cell %s's gateway at %s did not answer: %s.", c->invite.cell.name,
                                                  c->invite.cell.pairing, strerror(-error));
                goto done;
        }
        if (status != 200 || strlen(body) != size) {
                reply_refused(c, status, body);
                goto done;
        }
        int r = pairing_answer_decode(body, &c->invite.cell.signing_key, c->invite_id, &m->signing_key.public, &answer,
                                      why, sizeof why);
        if (r >= 0 && !streq(answer.cell.name, c->invite.cell.name)) {
                snprintf(why, sizeof why, "The pairing answer comes from a cell named %s.", answer.cell.name);
                r = -EBADMSG;
        }
        if (r < 0) {
                (void) sd_bus_reply_method_errorf(c->message, PIC_ERROR_FORGED, "Cell %s's answer is refused: %s",
                                                  c->invite.cell.name, why);
                goto done;
        }
        /* things may have changed here while the other cell answered */
        LinkAddition a = { &answer.cell, answer.counter, NULL, c->own_pairing[0] ? c->own_pairing : NULL };
        if (link_check_conflicts(m, &answer.cell, &a.same, &e) < 0 || link_add(m, &a, &l, &e) < 0) {
                if (!sd_bus_error_is_set(&e))
                        (void) sd_bus_error_set_errno(&e, -ENOMEM);
                (void) sd_bus_reply_method_error(c->message, &e);
                goto done;
        }
        (void) sd_bus_reply_method_return(c->message, "o", l->object_path);
done:
        pairing_call_free(c);
}

static int method_add_link(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(invite_done) Invite invite = {};
        const char *text, *pairing = NULL;
        bool has_pairing = false;
        char why[256];
        int r;

        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        const BusDictField fields[] = { { "PairingAddress", 's', &pairing, &has_pairing } };
        r = bus_read_dict(message, fields, ELEMENTSOF(fields), error);
        if (r < 0)
                return r;
        if (has_pairing && endpoint_validate(pairing) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "PairingAddress: '%.*s' is not host:port.", utf8_prefix_len(pairing, 64),
                                         pairing);
        r = invite_decode(text, &invite, why, sizeof why);
        if (r < 0)
                return invite_error(error, r, why);
        if (invite.expires <= now_sec())
                return sd_bus_error_setf(error, PIC_ERROR_INVITE_EXPIRED,
                                         "The invite from cell %s has expired: ask for a new one.", invite.cell.name);
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        if (!m->cell.endpoint)
                return sd_bus_error_set(error, PIC_ERROR_SETUP_REQUIRED,
                                        "The cell has no Endpoint: the other cell could not reach it. Set one first.");
        r = link_check_conflicts(m, &invite.cell, NULL, error);
        if (r < 0)
                return r;
        for (PairingCall *c = m->pairings; c; c = c->next)
                if (streq(c->invite.cell.name, invite.cell.name))
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT, "Pairing with cell %s is under way already.",
                                                 invite.cell.name);
        r = cell_bus_authorize_change(m, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        OwnIdentity me;
        r = own_signing_key(m);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to make the cell's signing key: %s.", strerror(-r));
        if (own_identity(m, pairing, &me) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "PairingAddress: the Endpoint's host is too long to add a port to; give one.");
        if (!m->http && (r = http_client_new(m->event, &m->http)) < 0)
                return r;

        PairingCall *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (PairingCall) { .manager = m, .message = sd_bus_message_ref(message), .invite = invite,
                             .next = m->pairings };
        invite = (Invite) {}; /* c owns it now */
        if (m->pairings)
                m->pairings->prev = c;
        m->pairings = c;
        invite_id_to_text(c->invite.id, c->invite_id);
        if (pairing)
                snprintf(c->own_pairing, sizeof c->own_pairing, "%s", pairing);

        PairingMessage request = { .cell = me.cell, .counter = 0 };
        uint8_t key[INVITE_PAIRING_KEY_LEN];
        _cleanup_(freep) char *body = NULL;
        snprintf(request.invite_id, sizeof request.invite_id, "%s", c->invite_id);
        invite_pairing_key(c->invite.secret, key);
        sodium_memzero(c->invite.secret, sizeof c->invite.secret);
        r = pairing_request_encode(&request, &m->signing_key, key, &body);
        sodium_memzero(key, sizeof key);
        if (r >= 0)
                r = http_post(m->http, c->invite.cell.pairing, PAIRING_PATH, body, PAIRING_TIMEOUT_USEC,
                              PAIRING_ANSWER_MAX, on_answer, c, &c->request);
        if (r < 0) {
                pairing_call_free(c);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to send the pairing request: %s.", strerror(-r));
        }
        log_info("Pairing with cell %s at %s.", c->invite.cell.name, c->invite.cell.pairing);
        return 1; /* answered in on_answer */
}

/* --- another cell's request, through the gateway --- */

typedef struct Lookup {
        Manager *manager;
        uint64_t now;
} Lookup;

static const uint8_t *lookup_pairing_key(const char *invite_id, void *userdata) {
        Lookup *l = userdata;
        const InviteRecord *rec = invite_store_find(&l->manager->invites, invite_id);
        return rec && rec->expires > l->now ? rec->pairing_key : NULL;
}

static int method_accept_pairing(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(pairing_message_done) PairingMessage request = {};
        _cleanup_(freep) char *answer_text = NULL;
        InviteRecord used;
        const char *text;
        char why[256];
        OwnIdentity me;
        Link *l;
        int r;

        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        if (strnlen(text, PAIRING_TEXT_MAX + 1) > PAIRING_TEXT_MAX)
                return sd_bus_error_setf(error, PIC_ERROR_INVALID_INVITE,
                                         "A pairing request is at most %d characters.", PAIRING_TEXT_MAX);
        r = polkit_verify_async(m->polkit, message, ACTION_PEER_SYNC, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        log_debug("AcceptPairing on %s: setup %d, signing key %d, %zu invites.", strempty(m->cell.name),
                  m->cell.setup_complete, m->has_signing_key, m->invites.n);
        if (!m->cell.setup_complete || !m->has_signing_key)
                return sd_bus_error_set(error, PIC_ERROR_INVITE_UNKNOWN, "This cell has handed out no invite.");

        Lookup lookup = { m, now_sec() };
        r = pairing_request_decode(text, lookup_pairing_key, &lookup, &request, why, sizeof why);
        if (r == -ENOENT)
                return sd_bus_error_set(error, PIC_ERROR_INVITE_UNKNOWN, why);
        if (r < 0)
                return invite_error(error, r, why);
        Link *same = NULL;
        r = link_check_conflicts(m, &request.cell, &same, error);
        if (r < 0)
                return r;
        /* the answer gives the pairing address the invite gave (copied: consuming drops the record) */
        const InviteRecord *rec = invite_store_find(&m->invites, request.invite_id);
        char pairing[ENDPOINT_MAX + 1] = "";
        if (rec)
                snprintf(pairing, sizeof pairing, "%s", rec->pairing);
        const char *own_pairing = pairing[0] ? pairing : NULL;
        if (own_identity(m, own_pairing, &me) < 0)
                return sd_bus_error_set(error, PIC_ERROR_FAILED, "This cell has no Endpoint to link with.");

        /* used up, durably, before anything answers: a crash can never make it usable twice */
        r = invite_store_consume(&m->invites, request.invite_id, lookup.now, &used);
        sodium_memzero(&used, sizeof used);
        if (r == -ENOENT)
                return sd_bus_error_set(error, PIC_ERROR_INVITE_UNKNOWN, "The invite was used, revoked or has expired.");
        if (r == -ETIME)
                return sd_bus_error_set(error, PIC_ERROR_INVITE_EXPIRED, "The invite has expired.");
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to use up the invite: %s.", strerror(-r));

        r = link_add(m, &(LinkAddition) { &request.cell, request.counter, same, own_pairing }, &l, error);
        if (r < 0)
                return r;
        PairingMessage answer = { .cell = me.cell, .counter = 0 };
        snprintf(answer.invite_id, sizeof answer.invite_id, "%s", request.invite_id);
        signing_fingerprint(&request.cell.signing_key, answer.peer);
        r = pairing_answer_encode(&answer, &m->signing_key, &answer_text);
        if (r < 0)
                return r;
        if (failure_injected(m, "pairing-crash"))
                (void) raise(SIGKILL); /* tests: a crash after the link is stored, before the answer */
        return sd_bus_reply_method_return(message, "s", answer_text);
}

static const sd_bus_vtable pairing_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AddLink", SD_BUS_ARGS("s", invite, "a{sv}", options), SD_BUS_RESULT("o", link),
                                method_add_link, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("AcceptPairing", SD_BUS_ARGS("s", request), SD_BUS_RESULT("s", answer),
                                method_accept_pairing, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int link_pairing_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, pairing_vtable, m);
}
