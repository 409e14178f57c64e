/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cell.h"
#include "peer.h"

/* The state directory: cell.json plus peers/<name>.json, one small file per
 * peer so a change costs one small durable write however many peers exist.
 * Every file carries "schema"; older files are migrated on load, newer ones
 * are refused and left untouched. */
#define STATE_SCHEMA_VERSION 1
#define STATE_FILE_MAX (1024 * 1024)

int cell_to_json(const Cell *c, char **ret);
int cell_from_json(const char *text, Cell *ret, char *error_buf, size_t size);
int peer_to_json(const Peer *p, char **ret);
int peer_from_json(const char *text, Peer **ret, char *error_buf, size_t size);

/* Load cell.json; returns 0 and leaves *ret empty (setup_complete false) when
 * there is none. */
int state_load_cell(int state_fd, Cell *ret);
int state_save_cell(int state_fd, const Cell *c);
int state_save_peer(int peers_fd, const Peer *p);
int state_remove_peer(int peers_fd, const char *name);
/* Many peers' files at the cost of about one durable write (write_files_atomic);
 * *ret_saved: how many of peers[] were replaced, also on failure. */
int state_save_peers(int peers_fd, Peer *const *peers, size_t n, size_t *ret_saved);
/* Whether peers/<name>.json exists, loaded or not: a file that did not load
 * must not be overwritten by a new peer of the same name. */
bool state_peer_file_exists(int peers_fd, const char *name);

/* Calls cb for every peer file that loads; files that do not are logged and
 * left alone. */
int state_load_peers(int peers_fd, int (*cb)(Peer *p, void *userdata), void *userdata);
