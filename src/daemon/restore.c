/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1 /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddns.h"
#include "exit.h"
#include "fileio.h"
#include "link.h"
#include "log.h"
#include "macro.h"
#include "peer.h"
#include "restore.h"
#include "signing-key-file.h"
#include "state.h"
#include "thread-job.h"

#define READ_STALL_SEC 60 /* the sending end may stop sending this long */

/* The parts of a state directory, in the order a commit moves them. */
static const struct {
        const char *name;
        bool directory;
} parts[] = {
        { "cell.json", false }, { "signing.key", false }, { "peers", true },
        { "links", true },      { "exits", true },        { "invites", true },
        { "ddns.json", false },
};

typedef struct Input {
        int fd, abort_fd;
} Input;

static ssize_t input_read(void *userdata, void *buf, size_t size) {
        Input *in = userdata;

        for (;;) {
                int r = thread_job_wait(in->fd, POLLIN, in->abort_fd, READ_STALL_SEC);
                if (r < 0 && r != -EPIPE) /* a closed pipe still holds what was written: read to its end */
                        return r;
                ssize_t k = read(in->fd, buf, size);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                return k < 0 ? -errno : k;
        }
}

int restore_staging_remove(int state_fd) {
        return remove_dir_at(state_fd, RESTORE_STAGING);
}

/* The index in parts of the archive's name, or -1 when it is no part of a state. */
static int part_of(const char *path, const char **ret_file) {
        const char *slash = strchr(path, '/');

        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                size_t len = strlen(parts[i].name);
                if (!parts[i].directory && !slash && streq(path, parts[i].name)) {
                        *ret_file = path;
                        return (int) i;
                }
                if (parts[i].directory && slash && (size_t) (slash - path) == len &&
                    strncmp(path, parts[i].name, len) == 0 && !strchr(slash + 1, '/')) {
                        *ret_file = slash + 1;
                        return (int) i;
                }
        }
        return -1;
}

/* 0 when file is "NAME.json" for the name the file holds; else why not. */
static int check_file_name(const char *file, const char *what, const char *name, char *why, size_t size) {
        size_t len = strlen(name);
        if (strncmp(file, name, len) == 0 && streq(file + len, ".json"))
                return 0;
        snprintf(why, size, "it holds %s%s", what, name);
        return -EINVAL;
}

/* Checks one file as the loader would take it; a link's text comes back with its counter moved on. */
static int check_file(const char *part, const char *file, const char *text, char **ret_text, RestoreResult *ret) {
        char why[256] = "";
        int r = 0;

        *ret_text = NULL;
        if (streq(part, "cell.json")) {
                Cell c = {};
                r = cell_from_json(text, &c, why, sizeof why);
                if (r >= 0)
                        snprintf(ret->cell_name, sizeof ret->cell_name, "%s", strempty(c.name));
                cell_done(&c);
        } else if (streq(part, "ddns.json")) {
                DdnsConfig d = {};
                r = ddns_config_from_json(text, &d, why, sizeof why);
                ddns_config_done(&d);
        } else if (streq(part, "peers")) {
                Peer *p = NULL;
                r = peer_from_json(text, &p, why, sizeof why);
                if (r >= 0)
                        r = check_file_name(file, "peer ", p->name, why, sizeof why);
                peer_free(p);
        } else if (streq(part, "links")) {
                Link *l = NULL;
                r = link_from_json(text, &l, why, sizeof why);
                if (r >= 0)
                        r = check_file_name(file, "the link with ", l->remote.name, why, sizeof why);
                if (r >= 0) {
                        l->tx_counter += RESTORE_LINK_COUNTER_STEP;
                        r = link_to_json(l, ret_text);
                }
                link_free(l);
        } else if (streq(part, "exits")) {
                Exit *e = NULL;
                r = exit_from_json(text, &e, why, sizeof why);
                if (r >= 0)
                        r = check_file_name(file, "exit ", e->name, why, sizeof why);
                exit_free(e);
        }
        if (r < 0)
                snprintf(ret->error, sizeof ret->error, "The backup's %s%s%s does not load: %s.",
                         streq(part, file) ? "" : part, streq(part, file) ? "" : "/", file, why[0] ? why : strerror(-r));
        return r;
}

/* Closes the directories of the parts (the file parts' fd is @dir's, left open). */
static void close_part_fds(int *part_fds, int dir) {
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                if (part_fds[i] >= 0 && part_fds[i] != dir)
                        close(part_fds[i]);
}

/* Whether dir_fd/name holds exactly @text. */
static bool same_file(int dir_fd, const char *name, const char *text) {
        _cleanup_(erase_and_freep) char *have = NULL;
        size_t n = strlen(text), got = 0;
        return dir_fd >= 0 && read_file_at(dir_fd, name, n + 1, &have, &got) >= 0 && got == n &&
                memcmp(have, text, n) == 0;
}

/* part_fds: the staging directory's fd of each part (a file part's: the staging directory);
 * live_fds: the state's own (-1: none). */
static int stage_file(const int *part_fds, const int *live_fds, const char *path, const char *data, size_t size,
                      RestoreResult *ret) {
        const char *file;
        int i = part_of(path, &file);

        if (i < 0) {
                snprintf(ret->error, sizeof ret->error, "The backup holds %s, which is no part of a cell's state.", path);
                return -EBADMSG;
        }
        const char *part = parts[i].name;
        if (memchr(data, 0, size)) { /* the parsers take text */
                snprintf(ret->error, sizeof ret->error, "The backup's %s is not text.", path);
                return -EBADMSG;
        }
        _cleanup_(erase_and_freep) char *text = strndup(data, size), *changed = NULL;
        if (!text)
                return -ENOMEM;
        if (!streq(part, "signing.key") && !streq(part, "invites")) {
                int r = check_file(part, file, text, &changed, ret);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG; /* the backup's fault, by name in ret->error */
        }
        const char *out = changed ?: text;
        /* The file the state holds already (a restore of a recent backup onto the same cell): a
         * second name for it, not a new inode for each of thousands of peers (ext4 spends seconds
         * finding free inodes among the ones just deleted). Files are only ever replaced, never
         * written in place, so the two trees never see each other's changes. */
        int r;
        if (same_file(live_fds[i], file, out) && linkat(live_fds[i], file, part_fds[i], file, 0) >= 0)
                r = 0;
        else /* no fsync per file: one syncfs() for all of them before the commit */
                r = write_file_new(part_fds[i], file, out, strlen(out), 0600);
        if (r == -EEXIST) {
                snprintf(ret->error, sizeof ret->error, "The backup holds %s twice.", path);
                return -EBADMSG;
        }
        return r;
}

int restore_stage(int state_fd, int in_fd, int abort_fd, const char *passphrase, RestoreResult *ret) {
        Input in = { in_fd, abort_fd };
        ArchiveReader *reader = NULL;
        const char *path;
        const void *data;
        size_t size;
        bool have_cell = false;
        int r;

        *ret = (RestoreResult) {};
        r = restore_staging_remove(state_fd);
        if (r < 0)
                return r;
        _cleanup_(closep) int staging = open_dir_at(state_fd, RESTORE_STAGING, 0700);
        if (staging < 0)
                return staging;
        int part_fds[ELEMENTSOF(parts)], live_fds[ELEMENTSOF(parts)];
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                part_fds[i] = parts[i].directory ? -1 : staging;
                live_fds[i] = parts[i].directory ? openat(state_fd, parts[i].name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                                 : state_fd;
        }
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                if (parts[i].directory && (part_fds[i] = open_dir_at(staging, parts[i].name, 0700)) < 0) {
                        r = part_fds[i];
                        goto fail;
                }
        /* a file that does not load is named only once the archive is known whole: an altered
         * archive is told as altered, not by the file its change broke */
        int refused = 0;
        char why[ARCHIVE_ERROR_MAX] = "";
        r = archive_reader_new(&reader, passphrase, input_read, &in, ret->error);
        while (r >= 0 && (r = archive_reader_next(reader, &path, &data, &size, ret->error)) > 0) {
                have_cell = have_cell || streq(path, "cell.json");
                ret->files++;
                if (refused < 0)
                        continue;
                refused = stage_file(part_fds, live_fds, path, data, size, ret);
                if (refused < 0)
                        memcpy(why, ret->error, sizeof why);
        }
        archive_reader_free(reader);
        if (r >= 0 && refused < 0) {
                r = refused;
                memcpy(ret->error, why, sizeof why);
        }
        if (r < 0)
                goto fail;
        if (!have_cell) {
                snprintf(ret->error, sizeof ret->error, "The backup holds no cell.json: it is not a cell's backup.");
                r = -EBADMSG;
                goto fail;
        }
        /* a backup without dynamic DNS had it off: staged as such, so the commit replaces this cell's */
        if (faccessat(staging, "ddns.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                _cleanup_(freep) char *off = NULL;
                r = ddns_config_to_json(&(DdnsConfig) {}, &off);
                if (r >= 0)
                        r = write_file_replace(staging, "ddns.json", off, strlen(off), 0600);
                if (r < 0)
                        goto fail;
        }
        SigningKey key;
        if (faccessat(staging, "signing.key", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
            (r = signing_key_file_load(staging, &key)) < 0) {
                snprintf(ret->error, sizeof ret->error, "The backup's signing.key does not load: %s.", strerror(-r));
                goto fail;
        }
        sodium_memzero(&key, sizeof key);
        if (syncfs(staging) < 0) {
                r = -errno;
                snprintf(ret->error, sizeof ret->error, "Cannot write the restored files durably: %s.", strerror(-r));
                goto fail;
        }
        close_part_fds(part_fds, staging);
        close_part_fds(live_fds, state_fd);
        return 0;
fail:
        close_part_fds(part_fds, staging);
        close_part_fds(live_fds, state_fd);
        if (!ret->error[0])
                snprintf(ret->error, sizeof ret->error, "Cannot stage the backup: %s.", strerror(-r));
        (void) restore_staging_remove(state_fd);
        return r;
}

/* Moves the staged parts into place; safe to run again after a crash at any point. */
static int roll_forward(int state_fd) {
        _cleanup_(closep) int staging = openat(state_fd, RESTORE_STAGING, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(closep) int old = open_dir_at(state_fd, RESTORE_OLD, 0700);
        if (old < 0)
                return old;
        for (size_t i = 0; staging >= 0 && i < ELEMENTSOF(parts); i++) {
                const char *n = parts[i].name;
                if (faccessat(staging, n, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        continue; /* moved already, or not in the backup (a signing key not made yet) */
                /* the current one aside, unless that happened before a crash */
                if (faccessat(old, n, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && renameat(state_fd, n, old, n) < 0 &&
                    errno != ENOENT)
                        return -errno;
                if (renameat(staging, n, state_fd, n) < 0)
                        return -errno;
        }
        return fsync(state_fd) < 0 ? -errno : 0;
}

static int finish(int state_fd) {
        int r = roll_forward(state_fd);
        if (r < 0)
                return r;
        r = unlink_durable(state_fd, RESTORE_MARKER);
        if (r < 0 && r != -ENOENT)
                return r;
        (void) restore_staging_remove(state_fd);
        return remove_dir_at(state_fd, RESTORE_OLD);
}

int restore_commit(int state_fd) {
        /* what an earlier restore left aside is not this one's to keep */
        int r = remove_dir_at(state_fd, RESTORE_OLD);
        if (r < 0)
                return r;
        r = write_file_atomic(state_fd, RESTORE_MARKER, "1\n", 2, 0600);
        return r < 0 ? r : finish(state_fd);
}

int restore_recover(int state_fd) {
        if (faccessat(state_fd, RESTORE_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                int r = finish(state_fd);
                if (r < 0)
                        return log_error_errno(r, "Cannot finish the restore a stop interrupted: %m");
                log_notice("Finished the restore a stop interrupted: the state is the backup's.");
                return 1;
        }
        /* never committed, or committed and cleaned up but for these */
        int r = restore_staging_remove(state_fd);
        int k = remove_dir_at(state_fd, RESTORE_OLD);
        if (r < 0 || k < 0)
                log_warning_errno(r < 0 ? r : k, "Cannot remove what a restore left behind: %m");
        return 0;
}
