/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* restore.c's commit, interrupted at every step: a start (restore_recover) always ends
 * with the old state or the backup's, never a mix, and leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "restore.h"

typedef struct Dir {
        char path[64];
        int fd;
} Dir;

static void put(int dir_fd, const char *name, const char *text) {
        char copy[128];
        snprintf(copy, sizeof copy, "%s", name);
        char *slash = strchr(copy, '/');
        if (slash) {
                *slash = 0;
                int sub = open_dir_at(dir_fd, copy, 0700);
                assert_true(sub >= 0);
                assert_int_equal(write_file_atomic(sub, slash + 1, text, strlen(text), 0600), 0);
                close(sub);
        } else
                assert_int_equal(write_file_atomic(dir_fd, name, text, strlen(text), 0600), 0);
}

static char *get(int dir_fd, const char *name) {
        char *text = NULL;
        return read_file_at(dir_fd, name, 4096, &text, NULL) >= 0 ? text : NULL;
}

static bool exists(int dir_fd, const char *name) {
        return faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The state before: an old cell with peer "old"; staged: the backup's cell with peer "new". */
static void setup_dirs(Dir *d) {
        snprintf(d->path, sizeof d->path, "/tmp/pic-test-restore-XXXXXX");
        assert_non_null(mkdtemp(d->path));
        d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(d->fd >= 0);
        put(d->fd, "cell.json", "old cell");
        put(d->fd, "signing.key", "old key");
        put(d->fd, "peers/old.json", "old peer");
        put(d->fd, "links/a.json", "old link");
        int staging = open_dir_at(d->fd, RESTORE_STAGING, 0700);
        assert_true(staging >= 0);
        put(staging, "cell.json", "new cell");
        put(staging, "peers/new.json", "new peer");
        for (const char *const *n = (const char *const[]) { "links", "exits", "invites", NULL }; *n; n++)
                close(open_dir_at(staging, *n, 0700));
        close(staging);
}

static void teardown_dirs(Dir *d) {
        assert_int_equal(remove_tree_at(d->fd), 0);
        close(d->fd);
        assert_int_equal(rmdir(d->path), 0);
}

static void assert_new_state(Dir *d) {
        char *cell = get(d->fd, "cell.json"), *key = get(d->fd, "signing.key");
        assert_string_equal(cell, "new cell");
        assert_string_equal(key, "old key"); /* not in the backup (none made yet): kept */
        free(cell);
        free(key);
        assert_true(exists(d->fd, "peers/new.json"));
        assert_false(exists(d->fd, "peers/old.json"));
        assert_false(exists(d->fd, "links/a.json"));
        assert_true(exists(d->fd, "exits"));
        for (const char *const *n = (const char *const[]) { RESTORE_STAGING, RESTORE_OLD, RESTORE_MARKER, NULL }; *n; n++)
                assert_false(exists(d->fd, *n));
}

static void assert_old_state(Dir *d) {
        char *cell = get(d->fd, "cell.json");
        assert_string_equal(cell, "old cell");
        free(cell);
        assert_true(exists(d->fd, "peers/old.json"));
        assert_true(exists(d->fd, "links/a.json"));
        for (const char *const *n = (const char *const[]) { RESTORE_STAGING, RESTORE_OLD, RESTORE_MARKER, NULL }; *n; n++)
                assert_false(exists(d->fd, *n));
}

static void test_commit(void **state) {
        Dir d;
        setup_dirs(&d);
        assert_int_equal(restore_commit(d.fd), 0);
        assert_new_state(&d);
        teardown_dirs(&d);
}

/* Never committed (no marker): a start drops the staging directory. */
static void test_uncommitted_is_dropped(void **state) {
        Dir d;
        setup_dirs(&d);
        assert_int_equal(restore_recover(d.fd), 0);
        assert_old_state(&d);
        teardown_dirs(&d);
}

/* The marker written, then the moves of the commit done one by one up to k, each in its two
 * halves (the current part aside, the staged one in place): a start finishes it. */
static void test_every_interruption_finishes(void **state) {
        static const char *const parts[] = { "cell.json", "signing.key", "peers", "links", "exits", "invites" };

        for (size_t k = 0; k <= 2 * sizeof parts / sizeof parts[0]; k++) {
                Dir d;
                setup_dirs(&d);
                assert_int_equal(write_file_atomic(d.fd, RESTORE_MARKER, "1\n", 2, 0600), 0);
                int old = open_dir_at(d.fd, RESTORE_OLD, 0700);
                int staging = openat(d.fd, RESTORE_STAGING, O_RDONLY | O_DIRECTORY);
                for (size_t step = 0; step < k; step++) {
                        const char *n = parts[step / 2];
                        if (!exists(staging, n))
                                continue;
                        if (step % 2 == 0)
                                (void) renameat(d.fd, n, old, n);
                        else
                                assert_int_equal(renameat(staging, n, d.fd, n), 0);
                }
                close(staging);
                close(old);
                assert_int_equal(restore_recover(d.fd), 1);
                assert_new_state(&d);
                assert_int_equal(restore_recover(d.fd), 0); /* and again: nothing to do */
                assert_new_state(&d);
                teardown_dirs(&d);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_commit),
                cmocka_unit_test(test_uncommitted_is_dropped),
                cmocka_unit_test(test_every_interruption_finishes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
