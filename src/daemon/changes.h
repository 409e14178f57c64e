/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

typedef struct Manager Manager;
typedef struct Peer Peer;

/* PropertiesChanged, coalesced: changes are collected per object and sent
 * once per event-loop iteration from a deferred event. */

#define CHANGES_MAX 32 /* at least as many as any interface has properties (the Manager: 29) */

typedef struct Changes {
        const char *names[CHANGES_MAX + 1]; /* string literals, NULL-terminated */
        size_t n;
} Changes;

void changes_mark_cell(Manager *m, char **names);
void changes_mark_peer(Peer *p, char **names);
/* A peer leaves the model: its pending changes go to successor (a replacement), or are dropped. */
void changes_forget_peer(Manager *m, Peer *p, Peer *successor);
