/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

/* Replaces dir_fd/name with data durably: write a temp file beside it, fsync,
 * rename over, fsync the directory. On failure the old file is untouched and
 * the temp file is gone. */
int write_file_atomic(int dir_fd, const char *name, const void *data, size_t size, mode_t mode);
/* The same without the fsyncs: readers see the old or the new file, never a
 * part, but a crash may lose the change. For files derived from the state and
 * written again at start (the DNS hosts files). */
int write_file_replace(int dir_fd, const char *name, const void *data, size_t size, mode_t mode);
/* Creates dir_fd/name, which must not exist (-EEXIST), with data; no fsync. For a directory
 * nobody reads until it is synced and moved into place whole (a restore's staging). */
int write_file_new(int dir_fd, const char *name, const void *data, size_t size, mode_t mode);
typedef struct FileWrite {
        const char *name;
        const void *data;
        size_t size;
} FileWrite;

/* Replaces several files of dir_fd durably at the cost of about one: every
 * temp file is written, the file system synced once (syncfs), then each is
 * renamed over its file and the directory synced. A failure before the
 * renames changes nothing and leaves no temp file; *ret_renamed says how many
 * files were replaced before a later failure, for the caller to restore. */
int write_files_atomic(int dir_fd, const FileWrite *files, size_t n, mode_t mode, size_t *ret_renamed);
/* Removes the temp files an interrupted write_file_atomic left in dir_fd
 * (they may hold secrets); only safe while nobody else writes there.
 * Returns how many were removed. */
int remove_stale_temp_files(int dir_fd);
/* Removes dir_fd/name and fsyncs the directory; -ENOENT is passed up. When the fsync fails
 * the file is put back (the same inode) and the error returned. */
int unlink_durable(int dir_fd, const char *name);
/* Reads a whole regular file (at most max_size bytes) into a NUL-terminated buffer. */
int read_file_at(int dir_fd, const char *name, size_t max_size, char **ret, size_t *ret_size);
/* A directory stream over dir_fd's directory that reads from its start and
 * leaves dir_fd's own position alone; closedir() it. */
int opendir_at(int dir_fd, DIR **ret);

/* Calls load(name, text, name_len) for every NAME.json in dir_fd no larger than
 * max_size (the ".json" left out of name_len); a file that cannot be read is
 * passed with text NULL. Stops at load's first negative return and returns it. */
int for_each_json_file(int dir_fd, size_t max_size, int (*load)(const char *file, const char *text, size_t name_len,
                                                              void *userdata), void *userdata);
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
/* Removes everything below dir_fd (not dir_fd itself), depth first, not
 * following symlinks; the first error is returned after trying the rest. */
int remove_tree_at(int dir_fd);
/* Removes the directory dir_fd/name and everything below it; 0 if it is not there. */
int remove_dir_at(int dir_fd, const char *name);
/* Opens (creating with mode if needed) a directory below dir_fd. */
int open_dir_at(int dir_fd, const char *path, mode_t mode);
