/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Telling a linked cell what this cell shares with it: a signed "shared"
 * message (src/link/message.h) to its gateway's POST /cell/v1/message. The
 * link's push_pending is stored before anything is sent; a failed push is
 * retried with backoff (1 s doubling to 5 min, with jitter) and at start-up,
 * each attempt a new message with a newer counter (stored first). */

#include <stdint.h>

typedef struct Manager Manager;
typedef struct Link Link;

/* Marks l's sharing as to be told (stored) and pushes it at once. */
int link_push_shared(Manager *m, Link *l);
/* At start-up: pushes what is still pending. */
void link_push_resume(Manager *m);
/* Tells the linked cell, once and on its own (l may be freed right after),
 * that this cell removed the link: it drops its side. */
int link_push_farewell(Manager *m, const Link *l);
/* Stops l's retries and its request in flight (before l is freed). */
void link_push_cancel(Link *l);
