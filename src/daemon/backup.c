/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "fileio.h"
#include "macro.h"
#include "thread-job.h"

#define SNAPSHOT_DEPTH_MAX 1 /* cell.json and the like, then peers/NAME.json and the like */
#define WRITE_PIECE 4096     /* what a pipe that polls writable takes without blocking (PIPE_BUF) */

int backup_snapshot_remove(int state_fd) {
        return remove_dir_at(state_fd, BACKUP_SNAPSHOT);
}

/* Links dir_fd's state files into to_fd (same relative names); *count grows. */
static int link_tree(int dir_fd, int to_fd, int depth, size_t *count) {
        DIR *d;
        int r = opendir_at(dir_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                struct stat st;
                if (de->d_name[0] == '.' || !archive_path_is_valid(de->d_name))
                        continue; /* ".", "..", temporary files, snapshots; nothing of ours has other names */
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                r = -errno;
                        continue;
                }
                if (S_ISREG(st.st_mode)) {
                        if (++*count > BACKUP_FILES_MAX)
                                r = -E2BIG;
                        else if (linkat(dir_fd, de->d_name, to_fd, de->d_name, 0) < 0 && errno != ENOENT)
                                r = -errno;
                } else if (S_ISDIR(st.st_mode) && depth < SNAPSHOT_DEPTH_MAX) {
                        _cleanup_(closep) int sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_(closep) int sub_to = sub < 0 ? -1 : open_dir_at(to_fd, de->d_name, 0700);
                        if (sub < 0 || sub_to < 0)
                                r = sub < 0 ? -errno : sub_to;
                        else
                                r = link_tree(sub, sub_to, depth + 1, count);
                }
        }
        closedir(d);
        return r;
}

int backup_snapshot_take(int state_fd) {
        size_t count = 0;
        int r = backup_snapshot_remove(state_fd);
        if (r < 0)
                return r;
        _cleanup_(closep) int to = open_dir_at(state_fd, BACKUP_SNAPSHOT, 0700);
        if (to < 0)
                return to;
        r = link_tree(state_fd, to, 0, &count);
        if (r < 0) {
                (void) backup_snapshot_remove(state_fd);
                return r;
        }
        return (int) count;
}

typedef struct Output {
        int fd, abort_fd;
        uint64_t bytes;
} Output;

static int output_write(void *userdata, const void *data, size_t size) {
        Output *o = userdata;
        const uint8_t *p = data;

        while (size > 0) {
                int r = thread_job_wait(o->fd, POLLOUT, o->abort_fd, BACKUP_STALL_SEC);
                if (r < 0)
                        return r;
                ssize_t n = write(o->fd, p, MIN(size, (size_t) WRITE_PIECE));
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
                o->bytes += (uint64_t) n;
        }
        return 0;
}

static const char *write_failure(int r) {
        switch (r) {
        case -ETIMEDOUT:
                return "the receiving end stopped reading";
        case -EPIPE:
                return "the receiving end was closed";
        case -ECANCELED:
                return "the cell is stopping";
        default:
                return strerror(-r);
        }
}

/* Adds dir_fd's files (prefix/NAME), then its subdirectories' (one level). */
static int add_tree(ArchiveWriter *w, int dir_fd, const char *prefix, BackupResult *ret) {
        DIR *d;
        int r = opendir_at(dir_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                char path[ARCHIVE_PATH_MAX + 1];
                struct stat st;
                if (de->d_name[0] == '.')
                        continue;
                if (snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) >= (int) sizeof path)
                        return -ENAMETOOLONG;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_(closep) int sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = sub < 0 ? -errno : add_tree(w, sub, path, ret);
                        continue;
                }
                char *text = NULL;
                size_t size;
                r = read_file_at(dir_fd, de->d_name, ARCHIVE_FILE_MAX, &text, &size);
                if (r >= 0) {
                        r = archive_writer_add(w, path, text, size);
                        ret->files++;
                }
                if (text) {
                        explicit_bzero(text, size); /* keys and password hashes */
                        free(text);
                }
        }
        closedir(d);
        return r;
}

int backup_write_archive(int state_fd, int out_fd, int abort_fd, const char *passphrase, const ArchiveKdf *kdf,
                         BackupResult *ret) {
        Output out = { .fd = out_fd, .abort_fd = abort_fd };
        ArchiveWriter *w = NULL;

        *ret = (BackupResult) {};
        _cleanup_(closep) int snapshot = openat(state_fd, BACKUP_SNAPSHOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (snapshot < 0) {
                snprintf(ret->error, sizeof ret->error, "The snapshot is gone: %s.", strerror(errno));
                return -errno;
        }
        int r = archive_writer_new(&w, passphrase, kdf, output_write, &out);
        if (r >= 0)
                r = add_tree(w, snapshot, "", ret);
        if (r >= 0)
                r = archive_writer_finish(w);
        archive_writer_free(w);
        ret->bytes = out.bytes;
        if (r < 0)
                snprintf(ret->error, sizeof ret->error, "The backup could not be written: %s.", write_failure(r));
        return r;
}
