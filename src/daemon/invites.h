/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The invites this cell has handed out and not yet seen used: one small
 * 0600 file each in STATE/invites/<id>.json, holding what checking a pairing
 * request needs (the key derived from the invite's secret, never the secret
 * itself) and when it expires. Consuming one removes its file durably before
 * anything else happens, so no crash can make an invite usable twice.
 * Model code: no bus here. */

#include <stddef.h>
#include <stdint.h>

#include "invite.h"
#include "names.h"

#define INVITES_MAX 256              /* open at once; a cell needs a handful */
#define INVITE_PAIRING_KEY_LEN 32

typedef struct InviteRecord {
        char id[INVITE_ID_TEXT_LEN];
        uint64_t created, expires;   /* seconds since the epoch */
        uint8_t pairing_key[INVITE_PAIRING_KEY_LEN];
        char pairing[ENDPOINT_MAX + 1]; /* the PairingAddress the invite gave; empty: the Endpoint's host */
} InviteRecord;

typedef struct InviteStore {
        int dir_fd;
        InviteRecord *records;
        size_t n, allocated;
} InviteStore;

/* Opens (creating) STATE/invites, loads every record, drops expired ones and
 * stale temp files. A file that does not parse is logged and left alone. */
int invite_store_open(InviteStore *s, int state_fd, uint64_t now);
void invite_store_close(InviteStore *s);

/* Removes expired records (and their files). */
void invite_store_sweep(InviteStore *s, uint64_t now);
/* Stores r durably; -E2BIG when INVITES_MAX are open. */
int invite_store_add(InviteStore *s, const InviteRecord *r);
/* -ENOENT when no such invite is open. */
int invite_store_remove(InviteStore *s, const char *id);
/* Takes the invite for a pairing: its file is gone (durably) before this
 * returns 0 and *ret holds the record. -ENOENT: unknown, used or revoked;
 * -ETIME: expired (removed too). */
int invite_store_consume(InviteStore *s, const char *id, uint64_t now, InviteRecord *ret);
const InviteRecord *invite_store_find(const InviteStore *s, const char *id);

/* The key a pairing request is authenticated with, derived from the invite's secret. */
void invite_pairing_key(const uint8_t secret[static INVITE_SECRET_LEN], uint8_t key[static INVITE_PAIRING_KEY_LEN]);
