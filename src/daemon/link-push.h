/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Telling a linked cell what this cell shares with it (a signed "shared"
 * message, src/link/message.h) and where this cell is after its address,
 * domain or endpoint changed ("identity"), to its gateway's POST
 * /cell/v1/message. The link's push_pending / identity_pending is stored
 * before anything is sent; a failed push is retried with backoff (1 s
 * doubling to 5 min, with jitter) and at start-up, each attempt a new message
 * with a newer counter (stored first). */

#include <stdbool.h>
#include <stdint.h>

typedef struct Manager Manager;
typedef struct Link Link;

/* Pushes what is pending for l (the caller stored the flag) at once, the
 * latest state, with the backoff started over. */
int link_push_pending(Manager *m, Link *l);
/* At start-up: pushes what is still pending. */
void link_push_resume(Manager *m);
/* Stores that l is to be told what is shared (shared) and/or where this cell
 * is (identity); on failure nothing changed. Announces PendingPush. */
int link_push_mark(Manager *m, Link *l, bool shared, bool identity);
/* Before this cell moves (address, domain, endpoint): every link is to be
 * told (stored first, so that a crash cannot lose it). */
int link_push_mark_identity(Manager *m);
/* After it moved: what is pending goes again now, the latest state (a push in
 * flight may carry the old one). */
void link_push_restart(Manager *m);
/* Tells the linked cell, once and on its own (l may be freed right after),
 * that this cell removed the link: it drops its side. */
int link_push_farewell(Manager *m, const Link *l);
/* Stops l's retries and its request in flight (before l is freed). */
void link_push_cancel(Link *l);
