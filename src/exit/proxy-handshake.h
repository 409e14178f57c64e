/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The client side of opening a TCP tunnel through a proxy to an IPv4
 * destination, without I/O: SOCKS5 (RFC 1928; user/password of RFC 1929
 * when the URL has credentials) or HTTP CONNECT (Basic credentials). The
 * caller sends what proxy_handshake_output() gives, feeds what the proxy
 * answers, and asks for output again after each feed. Every answer is taken
 * as hostile: bounded, read once, refused with a message that names no
 * credential. Credential bytes are wiped as soon as they are sent. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy-url.h"

#define PROXY_HANDSHAKE_HEAD_MAX 4096 /* an HTTP proxy's answer head, "\r\n\r\n" included */
#define PROXY_HANDSHAKE_OUT_MAX 1024  /* our largest request: CONNECT with 255+255 bytes of credentials */
#define PROXY_HANDSHAKE_MESSAGE_MAX 128

typedef enum ProxyHandshakeStep {
        PROXY_STEP_SOCKS_METHOD,  /* waiting for the method the proxy chose */
        PROXY_STEP_SOCKS_AUTH,    /* waiting for its verdict on the credentials */
        PROXY_STEP_SOCKS_CONNECT, /* waiting for its reply to CONNECT */
        PROXY_STEP_HTTP_HEAD,     /* waiting for the end of its answer head */
        PROXY_STEP_DONE,
        PROXY_STEP_FAILED,
} ProxyHandshakeStep;

typedef struct ProxyHandshake {
        ProxyKind kind;
        ProxyHandshakeStep step;
        int error; /* once failed */
        uint32_t dest_address; /* host order */
        uint16_t dest_port;
        bool has_credentials;
        char user[PROXY_CREDENTIAL_MAX + 1], password[PROXY_CREDENTIAL_MAX + 1];

        uint8_t out[PROXY_HANDSHAKE_OUT_MAX];
        size_t out_len, out_sent;

        uint8_t in[PROXY_HANDSHAKE_HEAD_MAX];
        size_t in_len, in_need; /* SOCKS: what the step's reply needs so far */
        unsigned crlf;          /* HTTP: how much of "\r\n\r\n" the head ends with */

        char message[PROXY_HANDSHAKE_MESSAGE_MAX];
} ProxyHandshake;

/* Starts over for a tunnel to dest_address:dest_port (host order) through url's proxy; the first
 * request is then ready in the output. */
void proxy_handshake_start(ProxyHandshake *h, const ProxyUrl *url, uint32_t dest_address, uint16_t dest_port);
/* The bytes to send now; *ret_len is 0 when there are none. */
const uint8_t *proxy_handshake_output(const ProxyHandshake *h, size_t *ret_len);
/* n bytes of the output were sent; once all are, they are wiped. */
void proxy_handshake_advance(ProxyHandshake *h, size_t n);
/* Takes what the proxy sent. 1: the tunnel is open, and the bytes after the
 * handshake are left unconsumed; 0: more is needed (and there may be output);
 * negative (-EPROTO, -EACCES, -ECONNREFUSED, -EHOSTUNREACH, …): failed,
 * h->message says why. *ret_consumed: how many of the len bytes were used. */
int proxy_handshake_feed(ProxyHandshake *h, const void *data, size_t len, size_t *ret_consumed);
/* Wipes everything, the credentials with it. */
void proxy_handshake_wipe(ProxyHandshake *h);
