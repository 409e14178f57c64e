/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Restoring a backup (backup.h) into the state directory, all or nothing:
 *  1. stage: a thread reads the archive to its verified end into
 *     RESTORE_STAGING, checking every file with the parser that loads it at
 *     start (a cell, peers, links, exits, the signing key); links' message
 *     counters move forward, so that the other cells never take the next
 *     message for a replay;
 *  2. commit, on the loop: a durable marker, then each part of the state
 *     (cell.json, signing.key, peers/, links/, exits/, invites/) moved aside
 *     into RESTORE_OLD and the staged one renamed into its place; the marker
 *     removed, the old parts deleted. A start that finds the marker finishes
 *     the moves first (restore_recover), so a crash leaves the old state or
 *     the new one, never a mix. Until the marker is written nothing of the
 *     current state has changed.
 * No bus code here. */

#include <stdint.h>

#include "backup/archive.h"

#define RESTORE_STAGING ".restore-staging"
#define RESTORE_OLD ".restore-old"
#define RESTORE_MARKER ".restore-commit"
/* added to each link's counter of messages sent: more than a cell ever sends between a backup and its restore */
#define RESTORE_LINK_COUNTER_STEP (UINT64_C(1) << 32)

typedef struct RestoreResult {
        size_t files;
        char cell_name[64];
        char error[ARCHIVE_ERROR_MAX]; /* why not, for a person */
} RestoreResult;

/* Reads the archive from in_fd into RESTORE_STAGING (replacing a leftover one). abort_fd
 * readable stops it. On failure the staging directory is gone and error says why. Blocking. */
int restore_stage(int state_fd, int in_fd, int abort_fd, const char *passphrase, RestoreResult *ret);
/* Makes the staged state the state (see above). */
int restore_commit(int state_fd);
/* At start, before anything is loaded: finishes a commit a crash interrupted, drops a staging
 * directory that was never committed and old parts left behind. Returns 1 when it finished a commit. */
int restore_recover(int state_fd);
/* Removes RESTORE_STAGING. */
int restore_staging_remove(int state_fd);
