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

static int read_line_pipe(const char *data, size_t max, char **ret) {
        _cleanup_(closep) int fd = pipe_with(data, strlen(data));
        return read_line_fd(fd, max, ret);
}

static void test_read_line(void **state) {
        char big[2048];
        char *line = NULL;

        /* the first line alone, its "\n" or "\r\n" cut; the rest is not read into it */
        assert_int_equal(read_line_pipe("socks5://u:p@192.0.2.10:1080\nsecond line\n", 1024, &line), 0);
        assert_string_equal(line, "socks5://u:p@192.0.2.10:1080");
        free(line);
        assert_int_equal(read_line_pipe("http://192.0.2.1:3128\r\n", 1024, &line), 0);
        assert_string_equal(line, "http://192.0.2.1:3128");
        free(line);
        assert_int_equal(read_line_pipe("http://192.0.2.1:3128", 1024, &line), 0); /* no newline at all */
        assert_string_equal(line, "http://192.0.2.1:3128");
        free(line);
        line = NULL;

        /* exactly the limit is fine, with or without its line end; one more is not */
        memset(big, 'a', sizeof big);
        big[10] = 0;
        assert_int_equal(read_line_pipe(big, 10, &line), 0);
        assert_int_equal(strlen(line), 10);
        free(line);
        memcpy(big + 10, "\r\n", 3);
        assert_int_equal(read_line_pipe(big, 10, &line), 0);
        assert_int_equal(strlen(line), 10);
        free(line);
        line = NULL;
        memset(big, 'a', sizeof big);
        big[11] = 0;
        assert_int_equal(read_line_pipe(big, 10, &line), -EFBIG);
        big[11] = '\n';
        big[12] = 0;
        assert_int_equal(read_line_pipe(big, 10, &line), -EFBIG);
        memset(big, 'a', sizeof big);
        big[sizeof big - 1] = 0;
        assert_int_equal(read_line_pipe(big, 1024, &line), -EFBIG); /* more than one buffer, no newline */

        /* empty, or anything but printable ASCII (a tab, a control character, UTF-8) */
        assert_int_equal(read_line_pipe("", 10, &line), -ENODATA);
        assert_int_equal(read_line_pipe("\nhttp://192.0.2.1:3128\n", 64, &line), -ENODATA);
        assert_int_equal(read_line_pipe("\r\n", 10, &line), -ENODATA);
        assert_int_equal(read_line_pipe("http://a\tb\n", 64, &line), -EBADMSG);
        assert_int_equal(read_line_pipe("http://a\x7f\n", 64, &line), -EBADMSG);
        assert_int_equal(read_line_pipe("http://u:caf\xc3\xa9@1.2.3.4:1\n", 64, &line), -EBADMSG);
        assert_int_equal(read_line_pipe("http://a\rb\n", 64, &line), -EBADMSG);
        assert_null(line);
}

static void test_read_line_file(void **state) {
        char path[] = "/tmp/test-input-XXXXXX";
        _cleanup_(closep) int fd = mkstemp(path);
        char *line = NULL;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "socks5://192.0.2.10:1080\n# a comment\n", 38), 38);
        assert_int_equal(read_line_file(path, 64, &line), 0);
        assert_string_equal(line, "socks5://192.0.2.10:1080");
        free(line);
        line = NULL;
        assert_int_equal(read_line_file(path, 10, &line), -EFBIG);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(read_line_file(path, 64, &line), -ENOENT);
        assert_int_equal(read_line_file("/", 64, &line), -EISDIR);
        assert_null(line);
}

static void test_public_key_prefix(void **state) {
        static const char key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH1n";

        /* a .pub line: its comment dropped; without one, all of it */
        assert_int_equal(public_key_prefix_len("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH1n root@host"), strlen(key));
        assert_int_equal(public_key_prefix_len("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH1n a comment"), strlen(key));
        assert_int_equal(public_key_prefix_len(key), strlen(key));
        assert_int_equal(public_key_prefix_len("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH1n "), strlen(key));
        assert_int_equal(public_key_prefix_len("t k"), 3);

        /* not TYPE, one space, KEY */
        assert_int_equal(public_key_prefix_len(""), 0);
        assert_int_equal(public_key_prefix_len("ssh-ed25519"), 0);
        assert_int_equal(public_key_prefix_len("ssh-ed25519 "), 0);
        assert_int_equal(public_key_prefix_len(" AAAAC3NzaC1lZDI1NTE5"), 0);
        assert_int_equal(public_key_prefix_len("ssh-ed25519  AAAAC3NzaC1lZDI1NTE5"), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_read_fd),
                cmocka_unit_test(test_read_file),
                cmocka_unit_test(test_read_line),
                cmocka_unit_test(test_read_line_file),
                cmocka_unit_test(test_public_key_prefix),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
