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
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>

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

static int read_secret_pipe(const char *data, size_t max, char **ret) {
        _cleanup_(closep) int fd = pipe_with(data, strlen(data));
        return read_secret_line_fd(fd, max, ret);
}

static void test_read_secret_line(void **state) {
        char big[2048];
        char *line = NULL;

        /* any UTF-8 text, a tab too; the first line alone, its line end cut */
        assert_int_equal(read_secret_pipe("correct horse battery\nsecond\n", 1024, &line), 0);
        assert_string_equal(line, "correct horse battery");
        free(line);
        assert_int_equal(read_secret_pipe("p\xc3\xa4ssw\xc3\xb6rt \xe6\x97\xa5\xe6\x9c\xac\tx\r\n", 1024, &line), 0);
        assert_string_equal(line, "p\xc3\xa4ssw\xc3\xb6rt \xe6\x97\xa5\xe6\x9c\xac\tx");
        free(line);
        line = NULL;

        /* bounded in bytes: exactly the limit is fine, one more is not */
        memset(big, 'a', sizeof big);
        big[1024] = 0;
        assert_int_equal(read_secret_pipe(big, 1024, &line), 0);
        assert_int_equal(strlen(line), 1024);
        free(line);
        line = NULL;
        big[1025] = 0;
        big[1024] = 'a';
        assert_int_equal(read_secret_pipe(big, 1024, &line), -EFBIG);

        /* empty, control characters, a stray CR, bytes that are not UTF-8 */
        assert_int_equal(read_secret_pipe("", 10, &line), -ENODATA);
        assert_int_equal(read_secret_pipe("\nsecret\n", 10, &line), -ENODATA);
        assert_int_equal(read_secret_pipe("sec\x01ret\n", 64, &line), -EBADMSG);
        assert_int_equal(read_secret_pipe("sec\x7fret\n", 64, &line), -EBADMSG);
        assert_int_equal(read_secret_pipe("sec\rret\n", 64, &line), -EBADMSG);
        assert_int_equal(read_secret_pipe("sec\xffret\n", 64, &line), -EBADMSG);
        assert_int_equal(read_secret_pipe("sec\xc3ret\n", 64, &line), -EBADMSG);
        assert_null(line);
}

static bool echoes(int fd) {
        struct termios t;
        assert_int_equal(tcgetattr(fd, &t), 0);
        return t.c_lflag & ECHO;
}

/* A child asking on the terminal @slave; returns its pid once the terminal has stopped echoing. */
static pid_t ask_in_child(int master, int slave) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                char *secret = NULL;
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                close(master);
                dup2(null, STDERR_FILENO); /* the prompt */
                int r = ask_secret(slave, "Passphrase: ", 64, &secret);
                _exit(r == 0 && streq(secret, "s\xc3\xa9" "cret phrase") ? 0 : 1);
        }
        for (int i = 0; i < 500 && echoes(slave); i++)
                usleep(10 * 1000);
        assert_false(echoes(slave));
        return pid;
}

static void test_ask_secret(void **state) {
        _cleanup_(closep) int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -EBADF, fd = -EBADF;
        char *secret = NULL, out[256];
        int status;

        /* only a terminal is asked */
        fd = pipe_with("secret\n", 7);
        assert_int_equal(ask_secret(fd, "Passphrase: ", 64, &secret), -ENOTTY);
        assert_null(secret);

        assert_true(master >= 0);
        assert_int_equal(grantpt(master), 0);
        assert_int_equal(unlockpt(master), 0);
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(slave >= 0);
        assert_true(echoes(slave));

        /* what is typed is read and not shown; the terminal echoes again after */
        pid_t pid = ask_in_child(master, slave);
        assert_int_equal(write(master, "s\xc3\xa9" "cret phrase\n", 15), 15);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_true(echoes(slave));
        assert_int_equal(fcntl(master, F_SETFL, O_NONBLOCK), 0);
        ssize_t n = read(master, out, sizeof out - 1);
        out[MAX(n, 0)] = 0;
        assert_null(strstr(out, "cret"));

        /* a signal while asking: the terminal echoes again */
        pid = ask_in_child(master, slave);
        assert_int_equal(kill(pid, SIGTERM), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        assert_true(echoes(slave));
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
                cmocka_unit_test(test_read_secret_line),
                cmocka_unit_test(test_ask_secret),
                cmocka_unit_test(test_public_key_prefix),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
