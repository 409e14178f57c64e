/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "macro.h"
#include "picctl-input.h"

/* A pipe holding @n bytes of @data, write end closed: what "-" reads. */
static int pipe_with(const char *data, size_t n) {
        int fds[2];

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        /* room for all of it, or the write would wait for a reader that comes after it */
        if (n >= 65536)
                assert_true(fcntl(fds[1], F_SETPIPE_SZ, (int) n + 4096) >= (int) n);
        assert_int_equal(write(fds[1], data, n), (ssize_t) n);
        close(fds[1]);
        return fds[0];
}

static int read_pipe(const char *data, size_t n, size_t max, char **ret, size_t *offset) {
        _cleanup_(closep) int fd = pipe_with(data, n);
        return read_text_fd(fd, max, ret, offset);
}

static void test_text(void **state) {
        static const char wg[] = "[Interface]\r\nPrivateKey = x\n\tAddress = 10.0.0.2/32 # café, 日本, 😀\n";
        size_t offset = 99;

        assert_int_equal(text_check(wg, strlen(wg), &offset), 0);
        assert_int_equal(offset, 99);
        assert_int_equal(text_check("", 0, &offset), 0);

        assert_int_equal(text_check("ab\x01" "c", 4, &offset), -EBADMSG);
        assert_int_equal(offset, 2);
        assert_int_equal(text_check("ab\x7f", 3, &offset), -EBADMSG);
        assert_int_equal(offset, 2);
        assert_int_equal(text_check("a\0b", 3, &offset), -EBADMSG);
        assert_int_equal(offset, 1);
        assert_int_equal(text_check("caf\xc3", 4, &offset), -EBADMSG);       /* cut short */
        assert_int_equal(offset, 3);
        assert_int_equal(text_check("x\xc0\xaf", 3, &offset), -EBADMSG);      /* overlong '/' */
        assert_int_equal(offset, 1);
        assert_int_equal(text_check("é\xed\xa0\x80", 5, &offset), -EBADMSG);  /* a surrogate */
        assert_int_equal(offset, 2);
        assert_int_equal(text_check("\xff", 1, &offset), -EBADMSG);
        assert_int_equal(offset, 0);
}

static void test_read_fd(void **state) {
        char big[TEXT_INPUT_MAX + 1];
        size_t offset = 0;
        char *text = NULL;

        assert_int_equal(read_pipe("[Peer]\n", 7, TEXT_INPUT_MAX, &text, &offset), 0);
        assert_string_equal(text, "[Peer]\n");
        free(text);
        text = NULL;

        /* exactly the limit is fine, one byte more is not */
        memset(big, 'a', sizeof big);
        assert_int_equal(read_pipe(big, TEXT_INPUT_MAX, TEXT_INPUT_MAX, &text, &offset), 0);
        assert_int_equal(strlen(text), TEXT_INPUT_MAX);
        free(text);
        text = NULL;
        assert_int_equal(read_pipe(big, TEXT_INPUT_MAX + 1, TEXT_INPUT_MAX, &text, &offset), -EFBIG);
        assert_null(text);
        assert_int_equal(read_pipe(big, 11, 10, &text, &offset), -EFBIG);

        assert_int_equal(read_pipe("", 0, 10, &text, &offset), -ENODATA);
        assert_int_equal(read_pipe("ab\0cd", 5, 10, &text, &offset), -EBADMSG);
        assert_int_equal(offset, 2);
        assert_null(text);
}

static void test_read_file(void **state) {
        char path[] = "/tmp/test-input-XXXXXX";
        _cleanup_(closep) int fd = mkstemp(path);
        char *text = NULL;
        size_t offset = 0;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "[Interface]\n", 12), 12);
        assert_int_equal(read_text_file(path, 64, &text, &offset), 0);
        assert_string_equal(text, "[Interface]\n");
        free(text);
        text = NULL;
        assert_int_equal(read_text_file(path, 5, &text, &offset), -EFBIG);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(read_text_file(path, 64, &text, &offset), -ENOENT);
        assert_int_equal(read_text_file("/", 64, &text, &offset), -EISDIR);
        assert_null(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_read_fd),
                cmocka_unit_test(test_read_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
