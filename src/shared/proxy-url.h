/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A proxy an exit of type "proxy" leaves through, as its URL:
 * "socks5://[user:password@]a.b.c.d:port" or "http://[user:password@]a.b.c.d:port"
 * (HTTP CONNECT), an optional "/" after. The host is an IPv4 address: PIC
 * does not resolve names for an exit. User and password may be
 * percent-encoded; decoded, each is 1-255 printable characters without '"'
 * or '\' (they go into redsocks' configuration quoted). Anything else is
 * refused with a message that never quotes the credentials. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_URL_MAX 1024
#define PROXY_CREDENTIAL_MAX 255

typedef enum ProxyKind {
        PROXY_SOCKS5,
        PROXY_HTTP,
} ProxyKind;

typedef struct ProxyUrl {
        ProxyKind kind;
        uint32_t address; /* host order */
        uint16_t port;
        bool has_credentials;
        char user[PROXY_CREDENTIAL_MAX + 1];
        char password[PROXY_CREDENTIAL_MAX + 1];
} ProxyUrl;

/* 0, or -EINVAL with a message (starting "Proxy: ") in buf. */
int proxy_url_parse(const char *text, ProxyUrl *ret, char *buf, size_t size);
/* Wipes the credentials. */
void proxy_url_wipe(ProxyUrl *u);
/* "socks5" or "http". */
const char *proxy_kind_to_string(ProxyKind k);
