/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus-api.h"
#include "bus-dict.h"
#include "cell-bus.h"
#include "cell-identity.h"
#include "invite-bus.h"
#include "invites.h"
#include "keys.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "polkit.h"
#include "signing-key-file.h"

#define INVITE_LIFETIME_MIN_SEC 60

static uint64_t now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec;
}

int invite_bus_open_store(Manager *m) {
        int r = invite_store_open(&m->invites, m->state_fd, now_sec());
        if (r < 0)
                return log_error_errno(r, "Failed to open the invites directory: %m");
        r = signing_key_file_load(m->state_fd, &m->signing_key);
        if (r >= 0)
                m->has_signing_key = true;
        else if (r != -ENOENT)
                return r;
        return 0;
}

typedef struct InviteOptions {
        uint32_t lifetime;
        bool has_lifetime;
        const char *pairing;
        bool has_pairing;
} InviteOptions;

static int read_options(sd_bus_message *message, InviteOptions *o, sd_bus_error *error) {
        const BusDictField fields[] = {
                { "Lifetime", 'u', &o->lifetime, &o->has_lifetime },
                { "PairingAddress", 's', &o->pairing, &o->has_pairing },
        };
        int r = bus_read_dict(message, fields, ELEMENTSOF(fields), error);
        if (r < 0)
                return r;
        if (!o->has_lifetime)
                o->lifetime = INVITE_LIFETIME_DEFAULT_SEC;
        if (o->lifetime < INVITE_LIFETIME_MIN_SEC || o->lifetime > INVITE_LIFETIME_MAX_SEC)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Lifetime: %u seconds is outside %u seconds to 7 days (%llu seconds).",
                                         o->lifetime, INVITE_LIFETIME_MIN_SEC, INVITE_LIFETIME_MAX_SEC);
        if (o->has_pairing && endpoint_validate(o->pairing) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "PairingAddress: '%.*s' is not host:port (where this cell's gateway takes "
                                         "pairing requests).", utf8_prefix_len(o->pairing, 64), o->pairing);
        return 0;
}

/* A fresh id and secret for the cell as it is now; the secret only in inv (the caller wipes it). */
static void new_invite(const CellIdentity *cell, uint32_t lifetime, Invite *inv, InviteRecord *rec) {
        uint64_t now = now_sec();

        *inv = (Invite) { .cell = *cell, .expires = now + lifetime };
        randombytes_buf(inv->id, sizeof inv->id);
        randombytes_buf(inv->secret, sizeof inv->secret);
        *rec = (InviteRecord) { .created = now, .expires = inv->expires };
        invite_id_to_text(inv->id, rec->id);
        invite_pairing_key(inv->secret, rec->pairing_key);
}

static int method_create_invite(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        InviteOptions o = {};
        OwnIdentity me;
        int r;

        r = read_options(message, &o, error);
        if (r < 0)
                return r;
        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        if (!m->cell.endpoint)
                return sd_bus_error_set(error, PIC_ERROR_SETUP_REQUIRED,
                                        "The cell has no Endpoint: another cell could not reach it. Set one first "
                                        "(picctl configure --endpoint HOST:PORT).");
        invite_store_sweep(&m->invites, now_sec());
        if (m->invites.n >= INVITES_MAX)
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "%d invites are open already: revoke some first (picctl link invites).",
                                         INVITES_MAX);
        r = cell_bus_authorize_change(m, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = own_signing_key(m);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to make the cell's signing key: %s.",
                                         strerror(-r));
        if (own_identity(m, o.has_pairing ? o.pairing : NULL, &me) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "PairingAddress: the Endpoint's host is too long to add a port to; give one.");

        Invite inv;
        InviteRecord rec;
        _cleanup_(erase_and_freep) char *text = NULL;
        new_invite(&me.cell, o.lifetime, &inv, &rec);
        if (o.has_pairing)
                snprintf(rec.pairing, sizeof rec.pairing, "%s", o.pairing); /* the answer to it says the same */
        r = invite_encode(&inv, &m->signing_key, &text);
        sodium_memzero(inv.secret, sizeof inv.secret);
        if (r >= 0)
                r = invite_store_add(&m->invites, &rec);
        sodium_memzero(rec.pairing_key, sizeof rec.pairing_key);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the invite: %s.", strerror(-r));
        log_info("Created invite %s (expires in %u s).", rec.id, o.lifetime);
        return sd_bus_reply_method_return(message, "st", text, inv.expires);
}

static int method_list_invites(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        invite_store_sweep(&m->invites, now_sec());
        int r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(stt)");
        for (size_t i = 0; r >= 0 && i < m->invites.n; i++)
                r = sd_bus_message_append(reply, "(stt)", m->invites.records[i].id, m->invites.records[i].created,
                                          m->invites.records[i].expires);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_revoke_invite(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint8_t raw[INVITE_ID_LEN];
        const char *id;

        int r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        if (invite_id_from_text(id, raw) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'%.*s' is not an invite id (22 characters of base64url, as ListInvites "
                                         "shows them).", utf8_prefix_len(id, 32), id);
        r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = invite_store_remove(&m->invites, id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                         "No open invite %s: it was used, revoked or has expired.", id);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to revoke invite %s: %s.", id, strerror(-r));
        log_info("Revoked invite %s.", id);
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable invite_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CreateInvite", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("s", invite, "t", expires),
                                method_create_invite, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListInvites", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(stt)", invites), method_list_invites,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RevokeInvite", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_revoke_invite,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int invite_bus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, invite_vtable, m);
}
