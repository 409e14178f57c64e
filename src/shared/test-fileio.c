/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fileio.h"
#include "macro.h"

static void *drop(void *p) {
        free(p);
        return NULL;
}

typedef struct TestDir {
        char path[64];
        int fd;
} TestDir;

static int setup_dir(void **state) {
        TestDir *t = calloc(1, sizeof *t);
        if (!t)
                return -1;
        snprintf(t->path, sizeof t->path, "/tmp/pic-test-fileio-%u-XXXXXX", (unsigned) getpid());
        if (!mkdtemp(t->path))
                return -1;
        t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->fd < 0)
                return -1;
        *state = t;
        return 0;
}

static int teardown_dir(void **state) {
        TestDir *t = *state;
        assert_int_equal(remove_tree_at(t->fd), 0);
        close(t->fd);
        assert_int_equal(rmdir(t->path), 0);
        free(t);
        return 0;
}

/* Number of entries in the directory; the name of the last one other than skip, if any. */
static size_t count_entries(int dir_fd, const char *skip, char *other, size_t other_size) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        DIR *d = fdopendir(fd);
        assert_non_null(d);
        size_t n = 0;
        if (other)
                other[0] = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                n++;
                if (other && (!skip || !streq(de->d_name, skip)))
                        snprintf(other, other_size, "%s", de->d_name);
        }
        closedir(d);
        return n;
}

static void assert_file_is(int dir_fd, const char *name, const char *content) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = SIZE_MAX;

        assert_int_equal(read_file_at(dir_fd, name, 1 << 20, &buf, &size), 0);
        assert_int_equal(size, strlen(content));
        assert_string_equal(buf, content);
}

static void test_write_creates(void **state) {
        TestDir *t = *state;
        struct stat st;

        /* The mode is exact, whatever the umask. */
        mode_t old_umask = umask(0077);
        assert_int_equal(write_file_atomic(t->fd, "peer.json", "{\"a\":1}\n", 8, 0640), 0);
        umask(0022);
        assert_int_equal(write_file_atomic(t->fd, "secret", "key", 3, 0600), 0);
        umask(old_umask);

        assert_int_equal(fstatat(t->fd, "peer.json", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_size, 8);
        assert_file_is(t->fd, "peer.json", "{\"a\":1}\n");

        assert_int_equal(fstatat(t->fd, "secret", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_file_is(t->fd, "secret", "key");

        /* An empty file is a valid file. */
        assert_int_equal(write_file_atomic(t->fd, "empty", "", 0, 0600), 0);
        assert_file_is(t->fd, "empty", "");

        /* Nothing else, in particular no ".#…" temp file, is left behind. */
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 3);
}

static void test_write_replaces(void **state) {
        TestDir *t = *state;
        struct stat before, after;

        assert_int_equal(write_file_atomic(t->fd, "state", "first version, quite long", 25, 0644), 0);
        assert_int_equal(fstatat(t->fd, "state", &before, 0), 0);
        /* Someone holding the old file open keeps seeing the old content: it was replaced, not rewritten. */
        _cleanup_(closep) int old_fd = openat(t->fd, "state", O_RDONLY | O_CLOEXEC);
        assert_true(old_fd >= 0);

        assert_int_equal(write_file_atomic(t->fd, "state", "second", 6, 0600), 0);
        assert_file_is(t->fd, "state", "second");
        assert_int_equal(fstatat(t->fd, "state", &after, 0), 0);
        assert_int_equal(after.st_mode & 07777, 0600);
        assert_int_not_equal(before.st_ino, after.st_ino);

        char buf[64] = {};
        assert_int_equal(pread(old_fd, buf, sizeof buf - 1, 0), 25);
        assert_string_equal(buf, "first version, quite long");

        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 1);
}

static void test_write_name_too_long(void **state) {
        TestDir *t = *state;
        char name[300];

        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = 0;
        assert_int_equal(write_file_atomic(t->fd, name, "x", 1, 0600), -ENAMETOOLONG);
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 0);
}

static void test_write_failure_temp_blocked(void **state) {
        TestDir *t = *state;
        char tmp[64];

        assert_int_equal(write_file_atomic(t->fd, "conf", "old", 3, 0600), 0);

        /* A non-empty directory squatting on the temp name: the temp file cannot be created. */
        snprintf(tmp, sizeof tmp, ".#conf.%u", (unsigned) getpid());
        assert_int_equal(mkdirat(t->fd, tmp, 0700), 0);
        _cleanup_(closep) int squat = openat(t->fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(squat >= 0);
        assert_int_equal(write_file_atomic(squat, "inside", "x", 1, 0600), 0);

        assert_true(write_file_atomic(t->fd, "conf", "new", 3, 0600) < 0);
        assert_file_is(t->fd, "conf", "old");

        /* Only the old file and our own directory. */
        char other[256];
        assert_int_equal(count_entries(t->fd, "conf", other, sizeof other), 2);
        assert_string_equal(other, tmp);
        assert_int_equal(count_entries(squat, NULL, NULL, 0), 1);
}

static void test_write_failure_symlink_at_temp(void **state) {
        TestDir *t = *state;
        char tmp[64];

        /* A symlink planted at the temp name must not be followed (it would write elsewhere). */
        assert_int_equal(write_file_atomic(t->fd, "conf", "old", 3, 0600), 0);
        snprintf(tmp, sizeof tmp, ".#conf.%u", (unsigned) getpid());
        assert_int_equal(symlinkat("victim", t->fd, tmp), 0);

        assert_true(write_file_atomic(t->fd, "conf", "new", 3, 0600) < 0);
        assert_file_is(t->fd, "conf", "old");
        assert_int_equal(faccessat(t->fd, "victim", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(unlinkat(t->fd, tmp, 0), 0);
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 1);
}

static void test_write_failure_fifo_at_temp(void **state) {
        TestDir *t = *state;
        char tmp[64];

        /* A FIFO nobody reads, planted at the temp name: the write must fail, not hang. */
        assert_int_equal(write_file_atomic(t->fd, "conf", "old", 3, 0600), 0);
        snprintf(tmp, sizeof tmp, ".#conf.%u", (unsigned) getpid());
        assert_int_equal(mkfifoat(t->fd, tmp, 0600), 0);

        alarm(5);
        assert_true(write_file_atomic(t->fd, "conf", "new", 3, 0600) < 0);
        alarm(0);
        assert_file_is(t->fd, "conf", "old");
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 2);
}

static void test_write_failure_rename(void **state) {
        TestDir *t = *state;

        /* The target is a non-empty directory: the temp file is written, the rename fails, the temp goes. */
        assert_int_equal(mkdirat(t->fd, "target", 0700), 0);
        _cleanup_(closep) int sub = openat(t->fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(sub >= 0);
        assert_int_equal(write_file_atomic(sub, "keep", "k", 1, 0600), 0);

        assert_true(write_file_atomic(t->fd, "target", "new", 3, 0600) < 0);
        assert_file_is(sub, "keep", "k");
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 1);
}

static void test_write_failure_short_write(void **state) {
        TestDir *t = *state;
        char big[8192];

        assert_int_equal(write_file_atomic(t->fd, "conf", "old", 3, 0600), 0);
        memset(big, 'b', sizeof big);

        /* In a child, cap the file size so the write of the temp file fails half way, as on a full disk. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { 4096, 4096 };
                signal(SIGXFSZ, SIG_IGN);
                if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                        _exit(100);
                int r = write_file_atomic(t->fd, "conf", big, sizeof big, 0600);
                _exit(r < 0 ? -r : 0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), EFBIG);

        assert_file_is(t->fd, "conf", "old");
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 1);
}

static void test_read_limits(void **state) {
        TestDir *t = *state;
        _cleanup_(freep) char *buf = NULL;
        size_t size;

        assert_int_equal(write_file_atomic(t->fd, "ten", "0123456789", 10, 0600), 0);

        assert_int_equal(read_file_at(t->fd, "ten", 10, &buf, &size), 0);
        assert_int_equal(size, 10);
        assert_string_equal(buf, "0123456789");
        buf = drop(buf);

        assert_int_equal(read_file_at(t->fd, "ten", 9, &buf, &size), -EFBIG);
        assert_null(buf);

        /* ret_size is optional. */
        assert_int_equal(read_file_at(t->fd, "ten", 100, &buf, NULL), 0);
        assert_string_equal(buf, "0123456789");
        buf = drop(buf);

        assert_int_equal(read_file_at(t->fd, "missing", 100, &buf, &size), -ENOENT);
        assert_null(buf);

        assert_int_equal(mkdirat(t->fd, "dir", 0700), 0);
        assert_int_equal(read_file_at(t->fd, "dir", 100, &buf, &size), -EBADFD);
        assert_null(buf);

        assert_int_equal(symlinkat("ten", t->fd, "link"), 0);
        assert_int_equal(read_file_at(t->fd, "link", 100, &buf, &size), -ELOOP);
        assert_null(buf);
}

static void test_read_fifo_does_not_block(void **state) {
        TestDir *t = *state;
        _cleanup_(freep) char *buf = NULL;

        /* Nobody will ever write to this FIFO: reading it must refuse, not hang the daemon. */
        assert_int_equal(mkfifoat(t->fd, "fifo", 0600), 0);
        alarm(5);
        assert_int_equal(read_file_at(t->fd, "fifo", 100, &buf, NULL), -EBADFD);
        alarm(0);
        assert_null(buf);
}

static void test_unlink_durable(void **state) {
        TestDir *t = *state;

        assert_int_equal(write_file_atomic(t->fd, "gone", "x", 1, 0600), 0);
        assert_int_equal(unlink_durable(t->fd, "gone"), 0);
        assert_int_equal(faccessat(t->fd, "gone", F_OK, 0), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(unlink_durable(t->fd, "gone"), -ENOENT);
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 0);
}

static void test_open_dir_at(void **state) {
        TestDir *t = *state;
        struct stat st;

        mode_t old_umask = umask(0022);
        int fd = open_dir_at(t->fd, "peers", 0700);
        umask(old_umask);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(write_file_atomic(fd, "laptop.json", "{}", 2, 0600), 0);
        close(fd);

        /* Opening it again finds the same directory with its content. */
        fd = open_dir_at(t->fd, "peers", 0700);
        assert_true(fd >= 0);
        assert_file_is(fd, "laptop.json", "{}");
        close(fd);

        /* Parents are not created; a file in the way is refused. */
        assert_int_equal(open_dir_at(t->fd, "a/b", 0700), -ENOENT);
        assert_int_equal(write_file_atomic(t->fd, "plain", "x", 1, 0600), 0);
        assert_int_equal(open_dir_at(t->fd, "plain", 0700), -ENOTDIR);
}

static void test_remove_stale_temp_files(void **state) {
        TestDir *t = *state;
        char other[64];

        assert_int_equal(write_file_atomic(t->fd, "laptop.json", "{}", 2, 0600), 0);
        /* what a kill -9 between create and rename leaves: a private key in a temp file */
        int fd = openat(t->fd, ".#phone.json.4242", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        fd = openat(t->fd, ".#cell.json.7", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 3);

        assert_int_equal(remove_stale_temp_files(t->fd), 2);
        assert_int_equal(count_entries(t->fd, NULL, other, sizeof other), 1);
        assert_string_equal(other, "laptop.json");
        assert_file_is(t->fd, "laptop.json", "{}");
        assert_int_equal(remove_stale_temp_files(t->fd), 0);
}

static void test_write_files_atomic(void **state) {
        TestDir *t = *state;
        size_t renamed = 99;
        char other[64];

        assert_int_equal(write_file_atomic(t->fd, "b", "old", 3, 0600), 0);
        FileWrite files[] = { { "a", "one", 3 }, { "b", "two", 3 }, { "c", "three", 5 } };
        assert_int_equal(write_files_atomic(t->fd, files, 3, 0600, &renamed), 0);
        assert_int_equal(renamed, 3);
        assert_file_is(t->fd, "a", "one");
        assert_file_is(t->fd, "b", "two");
        assert_file_is(t->fd, "c", "three");
        assert_int_equal(count_entries(t->fd, NULL, NULL, 0), 3);

        /* a rename that fails half way: the first is replaced and said so, no temp file is left */
        assert_int_equal(mkdirat(t->fd, "d", 0700), 0);
        assert_int_equal(mkdirat(t->fd, "d/x", 0700), 0);
        FileWrite more[] = { { "a", "uno", 3 }, { "d", "dos", 3 }, { "c", "tres", 4 } };
        assert_true(write_files_atomic(t->fd, more, 3, 0600, &renamed) < 0);
        assert_int_equal(renamed, 1);
        assert_file_is(t->fd, "a", "uno");
        assert_file_is(t->fd, "c", "three");
        assert_int_equal(count_entries(t->fd, "d", other, sizeof other), 4);
        assert_int_equal(remove_stale_temp_files(t->fd), 0);
}

#define dir_test(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void) {
        const struct CMUnitTest tests[] = {
                dir_test(test_write_creates),
                dir_test(test_write_replaces),
                dir_test(test_write_name_too_long),
                dir_test(test_write_failure_temp_blocked),
                dir_test(test_write_failure_symlink_at_temp),
                dir_test(test_write_failure_fifo_at_temp),
                dir_test(test_write_failure_rename),
                dir_test(test_write_failure_short_write),
                dir_test(test_read_limits),
                dir_test(test_read_fifo_does_not_block),
                dir_test(test_unlink_durable),
                dir_test(test_open_dir_at),
                dir_test(test_remove_stale_temp_files),
                dir_test(test_write_files_atomic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
