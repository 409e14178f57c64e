/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1 /* memmem */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "backup/archive.h"

#define PASSPHRASE "correct horse battery staple"

/* libsodium's cheapest: the tests derive a key hundreds of times */
static const ArchiveKdf cheap = { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN };

typedef struct Buffer {
        uint8_t *data;
        size_t len, pos;
        int fail_after; /* writes before one fails (-ENOSPC); 0: never */
} Buffer;

static int buffer_write(void *userdata, const void *data, size_t size) {
        Buffer *b = userdata;
        if (b->fail_after > 0 && --b->fail_after == 0)
                return -ENOSPC;
        b->data = realloc(b->data, b->len + size);
        assert_non_null(b->data);
        memcpy(b->data + b->len, data, size);
        b->len += size;
        return 0;
}

static ssize_t buffer_read(void *userdata, void *buf, size_t size) {
        Buffer *b = userdata;
        /* in odd small pieces: the reader must not rely on whole chunks per read */
        size_t n = size < b->len - b->pos ? size : b->len - b->pos;
        if (n > 777)
                n = 777;
        memcpy(buf, b->data + b->pos, n);
        b->pos += n;
        return (ssize_t) n;
}

typedef struct File {
        const char *path;
        size_t size;
} File;

static const File files[] = {
        { "cell.json", 300 },
        { "peers/laptop.json", 0 },
        { "peers/phone.json", 1 },
        { "links/b.json", 70000 },          /* across a chunk boundary */
        { "exits/big.json", 1024 * 1024 },  /* the largest a file may be */
        { "logins/admin.json", 65536 - 40 }, /* ending near a chunk's end */
};

static uint8_t content_byte(size_t file, size_t i) {
        return (uint8_t) (file * 31 + i * 7 + (i >> 9));
}

static Buffer make_archive(const char *passphrase, size_t n_files) {
        Buffer b = {};
        ArchiveWriter *w = NULL;

        assert_int_equal(archive_writer_new(&w, passphrase, &cheap, buffer_write, &b), 0);
        for (size_t f = 0; f < n_files; f++) {
                uint8_t *data = malloc(files[f].size + 1);
                for (size_t i = 0; i < files[f].size; i++)
                        data[i] = content_byte(f, i);
                assert_int_equal(archive_writer_add(w, files[f].path, data, files[f].size), 0);
                free(data);
        }
        assert_int_equal(archive_writer_finish(w), 0);
        archive_writer_free(w);
        return b;
}

/* Reads the whole archive: 0 when it verified to its end, else the first error. */
static int read_all(Buffer *b, const char *passphrase, size_t *ret_files, char error[ARCHIVE_ERROR_MAX]) {
        ArchiveReader *r = NULL;
        const char *path;
        const void *data;
        size_t size, n = 0;
        int k;

        b->pos = 0;
        k = archive_reader_new(&r, passphrase, buffer_read, b, error);
        if (k < 0)
                return k;
        while ((k = archive_reader_next(r, &path, &data, &size, error)) > 0)
                n++;
        archive_reader_free(r);
        if (ret_files)
                *ret_files = n;
        return k;
}

static void check_round_trip(const char *passphrase) {
        Buffer b = make_archive(passphrase, sizeof files / sizeof files[0]);
        ArchiveReader *r = NULL;
        char error[ARCHIVE_ERROR_MAX];
        const char *path;
        const void *data;
        size_t size;

        assert_int_equal(archive_reader_new(&r, passphrase, buffer_read, &b, error), 0);
        assert_int_equal(archive_reader_encrypted(r), passphrase != NULL);
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
                assert_int_equal(archive_reader_next(r, &path, &data, &size, error), 1);
                assert_string_equal(path, files[f].path);
                assert_int_equal(size, files[f].size);
                for (size_t i = 0; i < size; i++)
                        if (((const uint8_t *) data)[i] != content_byte(f, i))
                                fail_msg("%s differs at byte %zu", path, i);
        }
        assert_int_equal(archive_reader_next(r, &path, &data, &size, error), 0);
        assert_int_equal(archive_reader_next(r, &path, &data, &size, error), 0); /* and stays at the end */
        archive_reader_free(r);
        free(b.data);
}

static void test_round_trip_encrypted(void **state) {
        check_round_trip(PASSPHRASE);
}

static void test_round_trip_plain(void **state) {
        check_round_trip(NULL);
}

static void test_encrypted_hides_the_contents(void **state) {
        Buffer b = make_archive(PASSPHRASE, 1);
        uint8_t plain[16];

        for (size_t i = 0; i < sizeof plain; i++)
                plain[i] = content_byte(0, i);
        assert_null(memmem(b.data, b.len, plain, sizeof plain));
        assert_null(memmem(b.data, b.len, "cell.json", 9));
        free(b.data);
}

static void test_passphrase_wrong_or_missing(void **state) {
        Buffer b = make_archive(PASSPHRASE, 2);
        char error[ARCHIVE_ERROR_MAX];

        assert_int_equal(read_all(&b, "Correct horse battery staple", NULL, error), -EKEYREJECTED);
        assert_non_null(strstr(error, "passphrase is wrong"));
        assert_int_equal(read_all(&b, NULL, NULL, error), -ENOKEY);
        assert_non_null(strstr(error, "passphrase is needed"));
        free(b.data);
}

/* Every byte flipped, one at a time: never read as a whole archive. */
static void check_every_flip(const char *passphrase) {
        Buffer b = make_archive(passphrase, 3);
        char error[ARCHIVE_ERROR_MAX];

        for (size_t i = 0; i < b.len; i++) {
                b.data[i] ^= 0x20;
                int k = read_all(&b, passphrase, NULL, error);
                if (k >= 0)
                        fail_msg("byte %zu flipped: read as whole", i);
                assert_true(strlen(error) > 0);
                b.data[i] ^= 0x20;
        }
        assert_int_equal(read_all(&b, passphrase, NULL, error), 0);
        free(b.data);
}

static void test_every_flip_encrypted(void **state) {
        check_every_flip(PASSPHRASE);
}

static void test_every_flip_plain(void **state) {
        check_every_flip(NULL);
}

/* Cut at every length, and with something after the end: refused, by name. */
static void check_truncation(const char *passphrase) {
        Buffer b = make_archive(passphrase, 3);
        char error[ARCHIVE_ERROR_MAX];
        size_t whole = b.len;

        for (size_t len = 0; len < whole; len++) {
                b.len = len;
                int k = read_all(&b, passphrase, NULL, error);
                if (k != -EBADMSG)
                        fail_msg("cut at %zu of %zu: %d (%s)", len, whole, k, error);
        }
        b.len = whole;
        b.data = realloc(b.data, whole + 1);
        b.data[whole] = 0;
        b.len = whole + 1;
        assert_int_equal(read_all(&b, passphrase, NULL, error), -EBADMSG);
        assert_non_null(strstr(error, "follows the end"));
        free(b.data);
}

static void test_truncation_encrypted(void **state) {
        check_truncation(PASSPHRASE);
}

static void test_truncation_plain(void **state) {
        check_truncation(NULL);
}

static void test_newer_format_and_greedy_kdf(void **state) {
        Buffer b = make_archive(PASSPHRASE, 1);
        char error[ARCHIVE_ERROR_MAX];

        b.data[9] = ARCHIVE_FORMAT_VERSION + 1;
        assert_int_equal(read_all(&b, PASSPHRASE, NULL, error), -EPROTONOSUPPORT);
        assert_non_null(strstr(error, "newer PIC"));
        b.data[9] = ARCHIVE_FORMAT_VERSION;

        /* a memlimit of 16 GiB: refused before any work */
        b.data[13 + crypto_pwhash_SALTBYTES + 8 + 4] = 4;
        assert_int_equal(read_all(&b, PASSPHRASE, NULL, error), -E2BIG);
        free(b.data);

        Buffer junk = { .data = (uint8_t *) strdup("PK\3\4 not a backup at all"), .len = 25 };
        assert_int_equal(read_all(&junk, NULL, NULL, error), -EBADMSG);
        assert_non_null(strstr(error, "not a PIC backup"));
        junk.len = 0;
        assert_int_equal(read_all(&junk, NULL, NULL, error), -EBADMSG);
        free(junk.data);
}

static void test_writer_refusals_and_failures(void **state) {
        Buffer b = {};
        ArchiveWriter *w = NULL;

        assert_int_equal(archive_writer_new(&w, NULL, &cheap, buffer_write, &b), 0);
        assert_int_equal(archive_writer_add(w, "../etc/passwd", "x", 1), -EINVAL);
        assert_int_equal(archive_writer_add(w, "big.json", NULL, ARCHIVE_FILE_MAX + 1), -EFBIG);
        assert_int_equal(archive_writer_finish(w), 0);
        assert_int_equal(archive_writer_add(w, "late.json", "x", 1), -EINVAL);
        archive_writer_free(w);
        free(b.data);

        /* a write that fails (a full disk) fails every later call too */
        Buffer full = { .fail_after = 2 };
        assert_int_equal(archive_writer_new(&w, PASSPHRASE, &cheap, buffer_write, &full), 0);
        uint8_t *data = calloc(1, 200000);
        assert_int_equal(archive_writer_add(w, "a.json", data, 200000), -ENOSPC);
        assert_int_equal(archive_writer_finish(w), -ENOSPC);
        archive_writer_free(w);
        free(data);
        free(full.data);
}

static void test_paths(void **state) {
        const char *good[] = { "cell.json", "peers/laptop.json", "a/b/c-d_e.1", ".hidden" };
        const char *bad[] = { "", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/", "x y", "a\\b", "é.json",
                              "peers/.", ".." };

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                assert_true(archive_path_is_valid(good[i]));
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (archive_path_is_valid(bad[i]))
                        fail_msg("'%s' taken", bad[i]);
        char longest[ARCHIVE_PATH_MAX + 2];
        memset(longest, 'a', sizeof longest);
        longest[ARCHIVE_PATH_MAX] = 0;
        assert_true(archive_path_is_valid(longest));
        longest[ARCHIVE_PATH_MAX] = 'a';
        longest[ARCHIVE_PATH_MAX + 1] = 0;
        assert_false(archive_path_is_valid(longest));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_encrypted),
                cmocka_unit_test(test_round_trip_plain),
                cmocka_unit_test(test_encrypted_hides_the_contents),
                cmocka_unit_test(test_passphrase_wrong_or_missing),
                cmocka_unit_test(test_every_flip_encrypted),
                cmocka_unit_test(test_every_flip_plain),
                cmocka_unit_test(test_truncation_encrypted),
                cmocka_unit_test(test_truncation_plain),
                cmocka_unit_test(test_newer_format_and_greedy_kdf),
                cmocka_unit_test(test_writer_refusals_and_failures),
                cmocka_unit_test(test_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
