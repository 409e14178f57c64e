/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "invites.h"
#include "macro.h"
#include "signing-key-file.h"

#define NOW 1800000000ULL

static char dir[] = "/tmp/pic-test-invites-XXXXXX";
static int state_fd = -1;

static InviteRecord record(uint8_t n, uint64_t expires) {
        uint8_t id[INVITE_ID_LEN] = { n }, secret[INVITE_SECRET_LEN] = { n, 1 };
        InviteRecord r = { .created = NOW - 10, .expires = expires };
        invite_id_to_text(id, r.id);
        invite_pairing_key(secret, r.pairing_key);
        return r;
}

static bool exists(const char *id) {
        char name[64];
        snprintf(name, sizeof name, "invites/%s.json", id);
        return faccessat(state_fd, name, F_OK, 0) == 0;
}

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        state_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return state_fd < 0;
}

static int teardown(void **state) {
        int r = remove_tree_at(state_fd);
        close(state_fd);
        return r < 0 || rmdir(dir) < 0;
}

static void test_add_reload_remove(void **state) {
        InviteStore s;
        InviteRecord a = record(1, NOW + 100), b = record(2, NOW + 200);
        struct stat st;

        snprintf(b.pairing, sizeof b.pairing, "cell.example.org:8283"); /* kept for the answer to it */

        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(invite_store_add(&s, &a), 0);
        assert_int_equal(invite_store_add(&s, &b), 0);
        assert_int_equal(invite_store_add(&s, &b), -EEXIST);
        invite_store_close(&s);

        char name[64];
        snprintf(name, sizeof name, "invites/%s.json", a.id);
        assert_int_equal(fstatat(state_fd, name, &st, 0), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        assert_int_equal(s.n, 2);
        const InviteRecord *got = invite_store_find(&s, a.id);
        assert_non_null(got);
        assert_memory_equal(got, &a, sizeof a);
        assert_memory_equal(invite_store_find(&s, b.id), &b, sizeof b);
        assert_int_equal(invite_store_remove(&s, a.id), 0);
        assert_false(exists(a.id));
        assert_int_equal(invite_store_remove(&s, a.id), -ENOENT);
        assert_int_equal(invite_store_remove(&s, b.id), 0);
        invite_store_close(&s);
}

static void test_consume_once(void **state) {
        InviteStore s;
        InviteRecord a = record(3, NOW + 100), old = record(4, NOW + 5), got;

        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        assert_int_equal(invite_store_add(&s, &a), 0);
        assert_int_equal(invite_store_add(&s, &old), 0);

        assert_int_equal(invite_store_consume(&s, a.id, NOW, &got), 0);
        assert_memory_equal(got.pairing_key, a.pairing_key, sizeof a.pairing_key);
        assert_false(exists(a.id)); /* gone from the disk before the caller answers anyone */
        assert_int_equal(invite_store_consume(&s, a.id, NOW, &got), -ENOENT);

        /* expired: refused, and gone too */
        assert_int_equal(invite_store_consume(&s, old.id, NOW + 5, &got), -ETIME);
        assert_false(exists(old.id));
        invite_store_close(&s);

        /* a restart does not bring a used invite back */
        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        assert_null(invite_store_find(&s, a.id));
        invite_store_close(&s);
}

static void test_sweep_and_bad_files(void **state) {
        InviteStore s;
        InviteRecord a = record(5, NOW + 100), b = record(6, NOW + 50);
        int fd;

        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        assert_int_equal(invite_store_add(&s, &a), 0);
        assert_int_equal(invite_store_add(&s, &b), 0);
        invite_store_sweep(&s, NOW + 60);
        assert_int_equal(s.n, 1);
        assert_false(exists(b.id));
        invite_store_close(&s);

        /* junk, a file named for another invite, a stale temp file */
        fd = openat(state_fd, "invites", O_RDONLY | O_DIRECTORY);
        assert_int_equal(write_file_atomic(fd, "junk.json", "{", 1, 0600), 0);
        char other[64];
        _cleanup_(freep) char *text = NULL;
        snprintf(other, sizeof other, "%s.json", a.id);
        assert_int_equal(read_file_at(fd, other, 4096, &text, NULL), 0);
        assert_int_equal(write_file_atomic(fd, "copy.json", text, strlen(text), 0600), 0);
        assert_int_equal(write_file_atomic(fd, ".#tmp-leftover", "x", 1, 0600), 0);

        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        assert_int_equal(s.n, 1);
        assert_int_equal(faccessat(fd, "junk.json", F_OK, 0), 0); /* left as it is */
        assert_int_not_equal(faccessat(fd, ".#tmp-leftover", F_OK, 0), 0);
        invite_store_sweep(&s, NOW + 1000);
        assert_int_equal(s.n, 0);
        invite_store_close(&s);
        close(fd);
}

static void test_limit(void **state) {
        InviteStore s;

        assert_int_equal(invite_store_open(&s, state_fd, NOW), 0);
        for (unsigned i = 0; i < INVITES_MAX; i++) {
                InviteRecord r = record((uint8_t) i, NOW + 100);
                r.id[3] = (char) ('A' + i % 26); /* 256 distinct ids */
                r.id[4] = (char) ('A' + i / 26);
                assert_int_equal(invite_store_add(&s, &r), 0);
        }
        InviteRecord one_more = record(7, NOW + 100);
        one_more.id[3] = 'z';
        assert_int_equal(invite_store_add(&s, &one_more), -E2BIG);
        invite_store_sweep(&s, NOW + 100);
        assert_int_equal(s.n, 0);
        invite_store_close(&s);
}

static void test_signing_key_file(void **state) {
        SigningKey a, b;
        struct stat st;

        assert_int_equal(signing_key_file_load(state_fd, &a), -ENOENT);
        assert_int_equal(signing_key_file_load_or_create(state_fd, &a), 0);
        assert_int_equal(fstatat(state_fd, "signing.key", &st, 0), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(signing_key_file_load_or_create(state_fd, &b), 0);
        assert_memory_equal(&a, &b, sizeof a); /* never replaced */

        assert_int_equal(write_file_atomic(state_fd, "signing.key", "garbage\n", 8, 0600), 0);
        assert_int_equal(signing_key_file_load_or_create(state_fd, &b), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_reload_remove),
                cmocka_unit_test(test_consume_once),
                cmocka_unit_test(test_sweep_and_bad_files),
                cmocka_unit_test(test_limit),
                cmocka_unit_test(test_signing_key_file),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
