/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A backup of the state directory, consistent and streamed: every state file
 * (they are replaced by rename, never rewritten in place) is hard-linked into
 * a snapshot directory in one go on the loop, then a thread writes the
 * snapshot's files into an archive (src/backup/archive.h) on the caller's
 * file descriptor and removes the snapshot. Changes go on meanwhile; they
 * only replace the names in the state directory, not the snapshot's files.
 * No bus code here. */

#include <stddef.h>
#include <stdint.h>

#include "backup/archive.h"

#define BACKUP_SNAPSHOT ".backup-snapshot" /* in the state directory; a dot-name no loader reads */
#define BACKUP_FILES_MAX 200000
#define BACKUP_STALL_SEC 60 /* the receiving end may stop reading this long */

/* Links every regular file of the state directory (and of its subdirectories, one level down)
 * into BACKUP_SNAPSHOT, replacing a leftover one. Dot-names (temporary files, snapshots) are
 * not state. Returns the number of files or a negative errno. */
int backup_snapshot_take(int state_fd);
/* Removes BACKUP_SNAPSHOT if it is there. */
int backup_snapshot_remove(int state_fd);

typedef struct BackupResult {
        uint64_t bytes;
        size_t files;
        char error[ARCHIVE_ERROR_MAX]; /* why not, for a person */
} BackupResult;

/* Writes the snapshot's files as one archive to out_fd (the caller's: a pipe, a socket or a
 * file), encrypted unless passphrase is NULL. abort_fd becoming readable stops it (-ECANCELED).
 * Blocking; for a thread. */
int backup_write_archive(int state_fd, int out_fd, int abort_fd, const char *passphrase, const ArchiveKdf *kdf,
                         BackupResult *ret);
