/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* A wg-quick file is well below a KiB; this leaves room for comments. */
#define TEXT_INPUT_MAX (64U * 1024U) /* an .ovpn with its certificates inline; a wg-quick file is far smaller */

/* Reads all of fd (at most @max bytes) as text a person wrote: valid UTF-8
 * with no control characters but tab, CR and LF. Returns 0 with a
 * NUL-terminated copy in *ret; -EFBIG when longer than @max, -ENODATA when
 * empty, -EBADMSG when not such text (*ret_offset: where), or another
 * negative errno when reading failed. The buffer is wiped before it is freed
 * on every path (a file may hold a private key). */
int read_text_fd(int fd, size_t max, char **ret, size_t *ret_offset);

/* The same for a file name; "-" is standard input. */
int read_text_file(const char *path, size_t max, char **ret, size_t *ret_offset);

/* The first line of fd (a URL): at most @max bytes of printable ASCII before
 * its "\n" or "\r\n" or the end. Returns 0 with a NUL-terminated copy of the
 * line alone in *ret; -EFBIG when longer than @max, -ENODATA when empty,
 * -EBADMSG when a byte of it is not printable ASCII, or another negative errno
 * when reading failed. Reads a little past the line at most; wiped before it
 * is freed on every path (a proxy URL may hold a password). */
int read_line_fd(int fd, size_t max, char **ret);

/* The same for a file name; "-" is standard input. */
int read_line_file(const char *path, size_t max, char **ret);

/* A passphrase's first line of fd: as read_line_fd(), but any UTF-8 text without control characters
 * but tab (-EBADMSG otherwise). Never quoted by the caller; wiped before it is freed. */
int read_secret_line_fd(int fd, size_t max, char **ret);

/* The same for a file name; "-" is standard input. */
int read_secret_line_file(const char *path, size_t max, char **ret);

/* Asks for a secret on the terminal @tty_fd: @prompt on stderr, the line read as
 * read_secret_line_fd() reads it, without echo (the terminal's settings put back after, also when
 * a signal ends the program meanwhile). -ENOTTY when tty_fd is not a terminal; -ENODATA when
 * nothing was typed. */
int ask_secret(int tty_fd, const char *prompt, size_t max, char **ret);

/* The length of "TYPE BASE64" at the start of an OpenSSH public key line
 * ("TYPE BASE64 [COMMENT]", as a .pub file has it): two words of at least one
 * character, one space between them; 0 when s does not start so. */
size_t public_key_prefix_len(const char *s);

/* Whether the n bytes at s are such text; *ret_offset is where the first
 * byte that is not lies. */
int text_check(const char *s, size_t n, size_t *ret_offset);
