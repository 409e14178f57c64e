/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text from a file, standard input or the terminal for picctl: bounded, and
 * refused unless it is text (a wg-quick file goes into a D-Bus string, which
 * holds no NUL and only UTF-8); secrets typed without echo. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "json-strict.h"
#include "macro.h"
#include "picctl-input.h"

int text_check(const char *s, size_t n, size_t *ret_offset) {
        for (size_t i = 0; i < n;) {
                size_t k = 0;

                if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
                        i++;
                        continue;
                }
                /* the shortest clean UTF-8 character here, if any (at most 4 bytes) */
                for (size_t len = 1; len <= 4 && i + len <= n && k == 0; len++)
                        if (text_is_clean_utf8(s + i, len))
                                k = len;
                if (k == 0) {
                        if (ret_offset)
                                *ret_offset = i;
                        return -EBADMSG;
                }
                i += k;
        }
        return 0;
}

int read_text_fd(int fd, size_t max, char **ret, size_t *ret_offset) {
        char *buf = calloc(1, max + 2);
        size_t n = 0;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        /* one byte more than allowed tells "too long" from "exactly max" */
        while (n < max + 1) {
                ssize_t k = read(fd, buf + n, max + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        goto fail;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > max)
                r = -EFBIG;
        else if (n == 0)
                r = -ENODATA;
        else
                r = text_check(buf, n, ret_offset); /* a NUL byte is a control character too */
        if (r < 0)
                goto fail;
        *ret = buf;
        return 0;

fail:
        explicit_bzero(buf, max + 2);
        free(buf);
        return r;
}

int read_text_file(const char *path, size_t max, char **ret, size_t *ret_offset) {
        _cleanup_(closep) int fd = -EBADF;

        if (strcmp(path, "-") == 0)
                return read_text_fd(STDIN_FILENO, max, ret, ret_offset);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_text_fd(fd, max, ret, ret_offset);
}

/* The first line of fd in a buffer wiped past it: its length in *ret_len (the line end cut), -EFBIG when
 * longer than @max, -ENODATA when empty. Reads a little past the line at most (a terminal gives a line a
 * read). The caller checks its bytes and wipes it. */
static int read_first_line(int fd, size_t max, char **ret, size_t *ret_len) {
        size_t size = max + 3; /* the line, "\r\n", and a byte that tells "too long" from "exactly max" */
        char *buf = calloc(1, size + 1), *newline = NULL;
        size_t n = 0, len;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        while (n < size && !newline) {
                ssize_t k = read(fd, buf + n, size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        goto fail;
                }
                if (k == 0)
                        break;
                newline = memchr(buf + n, '\n', (size_t) k);
                n += (size_t) k;
        }
        len = newline ? (size_t) (newline - buf) : n;
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        if (len > max)
                r = -EFBIG;
        else if (len == 0)
                r = -ENODATA;
        if (r < 0)
                goto fail;
        explicit_bzero(buf + len, size + 1 - len); /* what came after the line */
        *ret = buf;
        *ret_len = len;
        return 0;

fail:
        explicit_bzero(buf, size + 1);
        free(buf);
        return r;
}

/* Hands out a line read_first_line() gave when @valid, else wipes it and returns -EBADMSG. */
static int line_checked(char *line, size_t len, bool valid, char **ret) {
        if (!valid) {
                explicit_bzero(line, len);
                free(line);
                return -EBADMSG;
        }
        *ret = line;
        return 0;
}

int read_line_fd(int fd, size_t max, char **ret) {
        char *line;
        size_t len;
        bool ascii = true;
        int r = read_first_line(fd, max, &line, &len);

        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) line[i] < 0x20 || (unsigned char) line[i] > 0x7e)
                        ascii = false;
        return line_checked(line, len, ascii, ret);
}

int read_line_file(const char *path, size_t max, char **ret) {
        _cleanup_(closep) int fd = -EBADF;

        if (strcmp(path, "-") == 0)
                return read_line_fd(STDIN_FILENO, max, ret);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_line_fd(fd, max, ret);
}

int read_secret_line_fd(int fd, size_t max, char **ret) {
        char *line;
        size_t len;
        int r = read_first_line(fd, max, &line, &len);

        if (r < 0)
                return r;
        /* text_check() lets tab and line ends through: only a tab may stay in one line */
        return line_checked(line, len, text_check(line, len, NULL) == 0 && !memchr(line, '\r', len), ret);
}

int read_secret_line_file(const char *path, size_t max, char **ret) {
        _cleanup_(closep) int fd = -EBADF;

        if (strcmp(path, "-") == 0)
                return read_secret_line_fd(STDIN_FILENO, max, ret);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_secret_line_fd(fd, max, ret);
}

/* The terminal's settings while a secret is typed, put back if a signal ends picctl meanwhile. */
static struct termios prompt_saved;
static volatile sig_atomic_t prompt_fd = -1;
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void prompt_restore_and_raise(int sig) {
        if (prompt_fd >= 0)
                (void) tcsetattr(prompt_fd, TCSAFLUSH, &prompt_saved);
        (void) signal(sig, SIG_DFL);
        (void) raise(sig);
}

int ask_secret(int tty_fd, const char *prompt, size_t max, char **ret) {
        struct sigaction old[ELEMENTSOF(prompt_signals)], sa = { .sa_handler = prompt_restore_and_raise };
        struct termios quiet;
        int r;

        if (!isatty(tty_fd))
                return -ENOTTY;
        if (tcgetattr(tty_fd, &prompt_saved) < 0)
                return negative_errno();
        quiet = prompt_saved;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ICANON;

        for (size_t i = 0; i < ELEMENTSOF(prompt_signals); i++)
                (void) sigaction(prompt_signals[i], &sa, &old[i]);
        prompt_fd = tty_fd;
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcsetattr(tty_fd, TCSAFLUSH, &quiet) < 0)
                r = negative_errno();
        else {
                r = read_secret_line_fd(tty_fd, max, ret);
                (void) tcsetattr(tty_fd, TCSAFLUSH, &prompt_saved);
        }
        prompt_fd = -1;
        for (size_t i = 0; i < ELEMENTSOF(prompt_signals); i++)
                (void) sigaction(prompt_signals[i], &old[i], NULL);
        fputc('\n', stderr); /* the one the terminal did not echo */
        return r;
}

size_t public_key_prefix_len(const char *s) {
        size_t type = strcspn(s, " "), key;

        if (type == 0 || s[type] != ' ')
                return 0;
        key = strcspn(s + type + 1, " ");
        return key == 0 ? 0 : type + 1 + key;
}
