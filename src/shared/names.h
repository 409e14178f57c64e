/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Peer names: 1-32 characters of [A-Za-z0-9_-], starting with a letter or
 * digit. They become file names and object paths, so anything else is
 * refused, never rewritten. */
#define PEER_NAME_MAX 32
#define PEER_NAME_CHARSET_DOC "1-32 characters: letters, digits, '-' and '_', starting with a letter or digit"
bool peer_name_is_valid(const char *s);

/* One DNS label: 1-63 of [a-z0-9-], no leading or trailing '-'. Lower case
 * only, so a cell's name never has two spellings. */
#define DNS_LABEL_MAX 63
#define DNS_LABEL_DOC "1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
bool dns_label_is_valid(const char *s);
/* Labels as above joined by '.', at most 253 characters, no trailing dot. */
bool dns_domain_is_valid(const char *s);

/* Printable ASCII only, no control characters; for free-form strings. */
bool string_is_printable_ascii(const char *s, size_t max_len);

/* "host:port" or "[v6]:port"; the host is a DNS name or an address. 0 or -EINVAL. */
#define ENDPOINT_MAX 261 /* a 253-character host name, ':' and a port */
int endpoint_validate(const char *s);

/* How many bytes of s (at most max) to print with "%.*s" without cutting a
 * UTF-8 sequence: a message quoting it must stay valid UTF-8: sd-bus drops an error whose message is not valid UTF-8, and
 * the caller would only see a timeout. */
int utf8_prefix_len(const char *s, int max);
