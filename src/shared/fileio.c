/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* syncfs */
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

static int write_all(int fd, const void *data, size_t size) {
        const char *p = data;
        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

#define TEMP_PREFIX ".#"

static int replace_file(int dir_fd, const char *name, const void *data, size_t size, mode_t mode, bool durable) {
        char tmp[256];
        int r;

        if (snprintf(tmp, sizeof tmp, TEMP_PREFIX "%s.%u", name, (unsigned) getpid()) >= (int) sizeof tmp)
                return -ENAMETOOLONG;

        /* O_NONBLOCK: a FIFO squatting on the temp name must fail the call, not hang it. */
        _cleanup_(closep) int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
        if (fd < 0)
                return -errno;

        r = write_all(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (durable && fsync(dir_fd) < 0)
                return -errno;
        return 0;
}

int write_file_atomic(int dir_fd, const char *name, const void *data, size_t size, mode_t mode) {
        return replace_file(dir_fd, name, data, size, mode, true);
}

int write_file_replace(int dir_fd, const char *name, const void *data, size_t size, mode_t mode) {
        return replace_file(dir_fd, name, data, size, mode, false);
}

int write_file_new(int dir_fd, const char *name, const void *data, size_t size, mode_t mode) {
        _cleanup_(closep) int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0) /* the umask took bits off */
                r = -errno;
        if (r < 0)
                (void) unlinkat(dir_fd, name, 0);
        return r;
}

int write_files_atomic(int dir_fd, const FileWrite *files, size_t n, mode_t mode, size_t *ret_renamed) {
        char tmp[256];
        size_t written = 0, renamed = 0;
        int r = 0;

        *ret_renamed = 0;
        for (; written < n && r == 0; written++) {
                if (snprintf(tmp, sizeof tmp, TEMP_PREFIX "%s.%u", files[written].name, (unsigned) getpid()) >=
                    (int) sizeof tmp) {
                        r = -ENAMETOOLONG;
                        break;
                }
                _cleanup_(closep) int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW |
                                                                       O_NONBLOCK, mode);
                if (fd < 0) {
                        r = -errno;
                        break;
                }
                r = write_all(fd, files[written].data, files[written].size);
                if (r == 0 && fchmod(fd, mode) < 0)
                        r = -errno;
                if (r < 0) {
                        written++; /* this temp exists too */
                        break;
                }
        }
        /* One sync of the file system instead of one fsync per file: the temps are all on disk after it. */
        if (r == 0 && syncfs(dir_fd) < 0)
                r = -errno;
        for (; r == 0 && renamed < n; renamed++) {
                snprintf(tmp, sizeof tmp, TEMP_PREFIX "%s.%u", files[renamed].name, (unsigned) getpid());
                if (renameat(dir_fd, tmp, dir_fd, files[renamed].name) < 0)
                        r = -errno;
        }
        if (r < 0) {
                if (renamed > 0)
                        renamed--; /* the loop counted the rename that failed */
                for (size_t i = renamed; i < written; i++) {
                        snprintf(tmp, sizeof tmp, TEMP_PREFIX "%s.%u", files[i].name, (unsigned) getpid());
                        (void) unlinkat(dir_fd, tmp, 0);
                }
        }
        *ret_renamed = renamed;
        if (renamed > 0 && fsync(dir_fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int unlink_durable(int dir_fd, const char *name) {
        char keep[256];
        int r = 0;

        /* A second name first: a removal that cannot be made durable (fsync fails) is undone,
         * so the caller's "failed" matches what is stored (a temp name a crash leaves is
         * removed at the next start, remove_stale_temp_files). */
        if (snprintf(keep, sizeof keep, TEMP_PREFIX "%s.%u.unlink", name, (unsigned) getpid()) >= (int) sizeof keep)
                return -ENAMETOOLONG;
        (void) unlinkat(dir_fd, keep, 0);
        bool kept = linkat(dir_fd, name, dir_fd, keep, 0) >= 0;
        if (unlinkat(dir_fd, name, 0) < 0) {
                r = -errno;
                if (kept)
                        (void) unlinkat(dir_fd, keep, 0);
                return r;
        }
        if (fsync(dir_fd) < 0) {
                r = -errno;
                if (kept && renameat(dir_fd, keep, dir_fd, name) >= 0)
                        (void) fsync(dir_fd);
                return r;
        }
        if (kept)
                (void) unlinkat(dir_fd, keep, 0);
        return 0;
}

int read_file_at(int dir_fd, const char *name, size_t max_size, char **ret, size_t *ret_size) {
        /* O_NONBLOCK: opening a FIFO planted here must not hang us; regular files ignore it. */
        _cleanup_(closep) int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;

        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((size_t) st.st_size > max_size)
                return -EFBIG;

        _cleanup_(freep) char *buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        size_t have = 0;
        for (;;) {
                if (have == (size_t) st.st_size)
                        break;
                ssize_t n = read(fd, buf + have, (size_t) st.st_size - have);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                have += (size_t) n;
        }
        buf[have] = 0;
        if (ret_size)
                *ret_size = have;
        *ret = TAKE_PTR(buf);
        return 0;
}

int open_dir_at(int dir_fd, const char *path, mode_t mode) {
        if (mkdirat(dir_fd, path, mode) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int for_each_json_file(int dir_fd, size_t max_size, int (*load)(const char *file, const char *text, size_t name_len,
                                                              void *userdata), void *userdata) {
        DIR *d;
        int r = opendir_at(dir_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                char *text = NULL;
                size_t size = 0;
                if (read_file_at(dir_fd, de->d_name, max_size, &text, &size) < 0)
                        text = NULL;
                r = load(de->d_name, text, len - 5, userdata);
                if (text) {
                        explicit_bzero(text, size); /* state files hold keys */
                        free(text);
                }
        }
        closedir(d);
        return r < 0 ? r : 0;
}

int opendir_at(int dir_fd, DIR **ret) {
        /* its own open file description: a dup would move the caller's directory offset */
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        *ret = d;
        return 0;
}

int remove_stale_temp_files(int dir_fd) {
        DIR *d;
        int r = opendir_at(dir_fd, &d);
        if (r < 0)
                return r;

        int removed = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
                        continue;
                if (unlinkat(dir_fd, de->d_name, 0) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno; /* e.g. a directory squatting on the name: keep going */
                        continue;
                }
                removed++;
        }
        closedir(d);
        if (removed > 0 && fsync(dir_fd) < 0)
                return -errno;
        return r < 0 ? r : removed;
}

int remove_dir_at(int dir_fd, const char *name) {
        _cleanup_(closep) int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        int r = remove_tree_at(fd);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && r >= 0)
                r = -errno;
        return r;
}

int remove_tree_at(int dir_fd) {
        DIR *d;
        int r = opendir_at(dir_fd, &d), first = 0;
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dir_fd, de->d_name, 0) == 0 || errno == ENOENT)
                        continue;
                _cleanup_(closep) int sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        first = first ?: -errno;
                        continue;
                }
                r = remove_tree_at(sub);
                first = first ?: r;
                if (unlinkat(dir_fd, de->d_name, AT_REMOVEDIR) < 0)
                        first = first ?: -errno;
        }
        closedir(d);
        return first;
}
