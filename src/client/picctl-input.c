/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text from a file or standard input for picctl: bounded, and refused unless it
 * is text (a wg-quick file goes into a D-Bus string, which holds no NUL and
 * only UTF-8). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

int read_line_fd(int fd, size_t max, char **ret) {
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
        for (size_t i = 0; r == 0 && i < len; i++)
                if ((unsigned char) buf[i] < 0x20 || (unsigned char) buf[i] > 0x7e)
                        r = -EBADMSG;
        if (r < 0)
                goto fail;
        explicit_bzero(buf + len, size + 1 - len); /* what came after the line */
        *ret = buf;
        return 0;

fail:
        explicit_bzero(buf, size + 1);
        free(buf);
        return r;
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

size_t public_key_prefix_len(const char *s) {
        size_t type = strcspn(s, " "), key;

        if (type == 0 || s[type] != ' ')
                return 0;
        key = strcspn(s + type + 1, " ");
        return key == 0 ? 0 : type + 1 + key;
}
