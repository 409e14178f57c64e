/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The gateway's copy of the cell's peers, sorted by name, kept current from the contents of
 * the daemon's signals (events.c) so that listing them costs no bus call. Any method reply of
 * the daemon arrives in order with its signals, so a GetManagedObjects reply, whenever it
 * comes, is the whole truth as of that point and simply replaces the copy. */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct PeerCache PeerCache;

int peer_cache_new(PeerCache **ret);
PeerCache *peer_cache_free(PeerCache *c);

/* False until the first load and after the daemon went away (or a signal could not be
 * followed): whoever needs the list loads it first. */
bool peer_cache_valid(const PeerCache *c);
void peer_cache_invalidate(PeerCache *c);
/* Changes with every change of the copy and is never reused by another gateway (an ETag). */
uint64_t peer_cache_version(const PeerCache *c);
size_t peer_cache_count(const PeerCache *c);

/* Replaces the copy with a GetManagedObjects reply. */
int peer_cache_load(PeerCache *c, sd_bus_message *reply);
/* Puts one peer from a GetAll(Peer) reply or an InterfacesAdded's Peer dictionary; returns its
 * index. */
int peer_cache_put(PeerCache *c, const char *name, sd_bus_message *properties, size_t *ret_index);
/* A PropertiesChanged's changed dictionary and invalidated list: merged into the peer's entry.
 * -ESTALE when the copy cannot follow it (not loaded, an unknown peer, an invalidated
 * property): read the peer again with GetAll (peer_cache_put). */
int peer_cache_changed(PeerCache *c, const char *name, sd_bus_message *m, size_t *ret_index);
/* 1 when the peer was there. */
int peer_cache_remove(PeerCache *c, const char *name);

/* The peer at @index as JSON text (rendered once per change); NULL on OOM. */
const char *peer_cache_text(PeerCache *c, size_t index, size_t *ret_size);
const cJSON *peer_cache_json(const PeerCache *c, size_t index);
const char *peer_cache_name(const PeerCache *c, size_t index);
/* The index of @name, or -ENOENT. */
int peer_cache_find(const PeerCache *c, const char *name, size_t *ret_index);

/* One page: the peers whose name starts with @prefix ("" for all) and sorts after @cursor (NULL:
 * from the first), at most @limit of them. */
typedef struct PeerPage {
        size_t first, n;        /* the page: indexes first … first+n-1 */
        size_t total;           /* peers matching @prefix */
        bool more;              /* more match after the page */
} PeerPage;
void peer_cache_page(const PeerCache *c, const char *prefix, const char *cursor, size_t limit, PeerPage *ret);
/* The page as a JSON array. */
int peer_cache_render(PeerCache *c, const PeerPage *page, char **ret, size_t *ret_size);
