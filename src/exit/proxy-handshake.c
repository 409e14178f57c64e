/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "cidr.h"
#include "macro.h"
#include "proxy-handshake.h"

#define SOCKS_VERSION 5
#define SOCKS_AUTH_VERSION 1
#define SOCKS_METHOD_NONE 0
#define SOCKS_METHOD_USER 2
#define SOCKS_METHOD_REFUSED 0xff
#define SOCKS_CMD_CONNECT 1
#define SOCKS_ATYP_IPV4 1
#define SOCKS_ATYP_NAME 3
#define SOCKS_ATYP_IPV6 4

static void wipe_credentials(ProxyHandshake *h) {
        explicit_bzero(h->user, sizeof h->user);
        explicit_bzero(h->password, sizeof h->password);
}

static int fail(ProxyHandshake *h, int error, const char *fmt, ...) _printf_(3, 4);
static int fail(ProxyHandshake *h, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(h->message, sizeof h->message, fmt, ap);
        va_end(ap);
        h->step = PROXY_STEP_FAILED;
        h->error = error;
        wipe_credentials(h);
        explicit_bzero(h->out, sizeof h->out);
        h->out_len = h->out_sent = 0;
        return error;
}

static const char *destination(const ProxyHandshake *h, char buf[static CIDR4_STRLEN + 6]) {
        char addr[CIDR4_STRLEN];
        snprintf(buf, CIDR4_STRLEN + 6, "%s:%u", ipv4_format(h->dest_address, addr), h->dest_port);
        return buf;
}

/* Only called with nothing pending: a SOCKS proxy answers a request once it has it all. */
static void queue(ProxyHandshake *h, const void *data, size_t len) {
        memcpy(h->out, data, len);
        h->out_len = len;
        h->out_sent = 0;
}

static void expect(ProxyHandshake *h, ProxyHandshakeStep step, size_t need) {
        h->step = step;
        h->in_len = 0;
        h->in_need = need;
}

static void socks_queue_connect(ProxyHandshake *h) {
        uint8_t req[10] = { SOCKS_VERSION, SOCKS_CMD_CONNECT, 0, SOCKS_ATYP_IPV4,
                            h->dest_address >> 24, h->dest_address >> 16, h->dest_address >> 8, h->dest_address,
                            h->dest_port >> 8, h->dest_port };
        queue(h, req, sizeof req);
        expect(h, PROXY_STEP_SOCKS_CONNECT, 4);
}

static void socks_queue_auth(ProxyHandshake *h) {
        size_t ulen = strlen(h->user), plen = strlen(h->password);
        uint8_t req[3 + 2 * PROXY_CREDENTIAL_MAX];

        req[0] = SOCKS_AUTH_VERSION;
        req[1] = (uint8_t) ulen;
        memcpy(req + 2, h->user, ulen);
        req[2 + ulen] = (uint8_t) plen;
        memcpy(req + 3 + ulen, h->password, plen);
        queue(h, req, 3 + ulen + plen);
        explicit_bzero(req, sizeof req);
        wipe_credentials(h); /* from now on only in the output, wiped once sent */
        expect(h, PROXY_STEP_SOCKS_AUTH, 2);
}

static int socks_method(ProxyHandshake *h) {
        if (h->in[0] != SOCKS_VERSION)
                return fail(h, -EPROTO, "not a SOCKS5 proxy (it answered version %u)", h->in[0]);
        switch (h->in[1]) {
        case SOCKS_METHOD_NONE:
                wipe_credentials(h);
                socks_queue_connect(h);
                return 0;
        case SOCKS_METHOD_USER:
                if (!h->has_credentials)
                        break;
                socks_queue_auth(h);
                return 0;
        case SOCKS_METHOD_REFUSED:
                return fail(h, -EACCES, "SOCKS5 proxy accepts none of the offered authentication methods%s",
                            h->has_credentials ? "" : " (it may want credentials)");
        }
        return fail(h, -EPROTO, "SOCKS5 proxy chose authentication method %u, which was not offered", h->in[1]);
}

static int socks_auth(ProxyHandshake *h) {
        /* RFC 1929 says version 1; some proxies answer 5 */
        if (h->in[0] != SOCKS_AUTH_VERSION && h->in[0] != SOCKS_VERSION)
                return fail(h, -EPROTO, "SOCKS5 proxy answered the credentials with version %u", h->in[0]);
        if (h->in[1] != 0)
                return fail(h, -EACCES, "proxy refused the credentials");
        socks_queue_connect(h);
        return 0;
}

static int socks_reply_error(uint8_t rep, const char **ret_text) {
        static const struct {
                const char *text;
                int error;
        } replies[] = {
                [1] = { "general failure", -ECONNREFUSED },
                [2] = { "not allowed by the proxy's rules", -EACCES },
                [3] = { "network unreachable", -ENETUNREACH },
                [4] = { "host unreachable", -EHOSTUNREACH },
                [5] = { "connection refused", -ECONNREFUSED },
                [6] = { "TTL expired", -ETIMEDOUT },
                [7] = { "command not supported", -EPROTO },
                [8] = { "address type not supported", -EPROTO },
        };
        if (rep > 0 && rep < ELEMENTSOF(replies)) {
                *ret_text = replies[rep].text;
                return replies[rep].error;
        }
        *ret_text = "unknown";
        return -EPROTO;
}

/* VER REP RSV ATYP, then the bound address (skipped) and port. */
static int socks_connect(ProxyHandshake *h) {
        char dest[CIDR4_STRLEN + 6];

        if (h->in_len == 4) {
                if (h->in[0] != SOCKS_VERSION)
                        return fail(h, -EPROTO, "SOCKS5 proxy answered CONNECT with version %u", h->in[0]);
                if (h->in[1] != 0) {
                        const char *text;
                        int error = socks_reply_error(h->in[1], &text);
                        return fail(h, error, "SOCKS5 reply %u (%s) for %s", h->in[1], text, destination(h, dest));
                }
                switch (h->in[3]) {
                case SOCKS_ATYP_IPV4:
                        h->in_need = 4 + 4 + 2;
                        return 0;
                case SOCKS_ATYP_IPV6:
                        h->in_need = 4 + 16 + 2;
                        return 0;
                case SOCKS_ATYP_NAME:
                        h->in_need = 4 + 1; /* the name's length first */
                        return 0;
                }
                return fail(h, -EPROTO, "SOCKS5 proxy answered with address type %u", h->in[3]);
        }
        if (h->in[3] == SOCKS_ATYP_NAME && h->in_len == 5) {
                h->in_need = 5 + h->in[4] + 2;
                return 0;
        }
        h->step = PROXY_STEP_DONE;
        explicit_bzero(h->in, h->in_len);
        h->in_len = h->in_need = 0;
        return 1;
}

static int socks_step(ProxyHandshake *h) {
        switch (h->step) {
        case PROXY_STEP_SOCKS_METHOD:
                return socks_method(h);
        case PROXY_STEP_SOCKS_AUTH:
                return socks_auth(h);
        case PROXY_STEP_SOCKS_CONNECT:
                return socks_connect(h);
        default:
                return fail(h, -EPROTO, "internal error: no such step");
        }
}

static void http_queue_connect(ProxyHandshake *h, const ProxyUrl *url) {
        char dest[CIDR4_STRLEN + 6], pair[2 * PROXY_CREDENTIAL_MAX + 2],
                base64[sodium_base64_ENCODED_LEN(2 * PROXY_CREDENTIAL_MAX + 1, sodium_base64_VARIANT_ORIGINAL)],
                auth[sizeof base64 + 64] = "";

        if (url->has_credentials) {
                int n = snprintf(pair, sizeof pair, "%s:%s", url->user, url->password);
                sodium_bin2base64(base64, sizeof base64, (const unsigned char *) pair, (size_t) n,
                                  sodium_base64_VARIANT_ORIGINAL);
                snprintf(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", base64);
                explicit_bzero(pair, sizeof pair);
                explicit_bzero(base64, sizeof base64);
        }
        destination(h, dest);
        int n = snprintf((char *) h->out, sizeof h->out, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", dest, dest, auth);
        explicit_bzero(auth, sizeof auth);
        h->out_len = (size_t) n; /* fits: PROXY_HANDSHAKE_OUT_MAX is made for the longest */
        h->out_sent = 0;
        expect(h, PROXY_STEP_HTTP_HEAD, 0);
}

/* "HTTP/1.x NNN[ reason]\r\n…": 200 opens the tunnel, any other status is a refusal. */
static int http_head(ProxyHandshake *h) {
        char dest[CIDR4_STRLEN + 6];
        const uint8_t *s = h->in;

        if (h->in_len < 13 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
            s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
            (s[12] != ' ' && s[12] != '\r'))
                return fail(h, -EPROTO, "not an HTTP/1.0 or HTTP/1.1 proxy answer");
        unsigned status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
        if (status == 407)
                return fail(h, -EACCES, "HTTP proxy answered 407 (%s)",
                            h->has_credentials ? "it refused the credentials" : "it wants credentials");
        if (status == 403)
                return fail(h, -EACCES, "HTTP proxy answered 403 for %s", destination(h, dest));
        if (status != 200)
                return fail(h, status >= 400 ? -ECONNREFUSED : -EPROTO, "HTTP proxy answered %u for %s", status,
                            destination(h, dest));
        h->step = PROXY_STEP_DONE;
        explicit_bzero(h->in, h->in_len);
        h->in_len = 0;
        return 1;
}

/* One byte of the answer head: kept, and the end ("\r\n\r\n") looked for as it comes. */
static int http_take(ProxyHandshake *h, uint8_t c) {
        static const char end[] = "\r\n\r\n";

        h->in[h->in_len++] = c;
        if (c == (uint8_t) end[h->crlf])
                h->crlf++;
        else
                h->crlf = c == '\r';
        return h->crlf == 4 ? http_head(h) : 0;
}

void proxy_handshake_start(ProxyHandshake *h, const ProxyUrl *url, uint32_t dest_address, uint16_t dest_port) {
        proxy_handshake_wipe(h);
        h->kind = url->kind;
        h->dest_address = dest_address;
        h->dest_port = dest_port;
        h->has_credentials = url->has_credentials;
        if (url->kind == PROXY_HTTP) {
                http_queue_connect(h, url);
                return;
        }
        if (url->has_credentials) {
                static const uint8_t hello[] = { SOCKS_VERSION, 2, SOCKS_METHOD_NONE, SOCKS_METHOD_USER };
                memcpy(h->user, url->user, sizeof h->user);
                memcpy(h->password, url->password, sizeof h->password);
                queue(h, hello, sizeof hello);
        } else {
                static const uint8_t hello[] = { SOCKS_VERSION, 1, SOCKS_METHOD_NONE };
                queue(h, hello, sizeof hello);
        }
        expect(h, PROXY_STEP_SOCKS_METHOD, 2);
}

const uint8_t *proxy_handshake_output(const ProxyHandshake *h, size_t *ret_len) {
        *ret_len = h->out_len - h->out_sent;
        return h->out + h->out_sent;
}

void proxy_handshake_advance(ProxyHandshake *h, size_t n) {
        h->out_sent += MIN(n, h->out_len - h->out_sent);
        if (h->out_sent == h->out_len) {
                explicit_bzero(h->out, h->out_len);
                h->out_len = h->out_sent = 0;
        }
}

int proxy_handshake_feed(ProxyHandshake *h, const void *data, size_t len, size_t *ret_consumed) {
        const uint8_t *p = data;
        size_t used = 0;
        int r = 0;

        *ret_consumed = 0;
        if (h->step == PROXY_STEP_DONE)
                return 1;
        if (h->step == PROXY_STEP_FAILED)
                return h->error;
        if (len > 0 && h->step != PROXY_STEP_HTTP_HEAD && h->out_sent < h->out_len)
                return fail(h, -EPROTO, "SOCKS5 proxy answered before the request was complete");

        while (used < len && r == 0) {
                if (h->step == PROXY_STEP_HTTP_HEAD) {
                        if (h->in_len >= sizeof h->in)
                                r = fail(h, -EPROTO, "HTTP proxy's answer head is longer than %u bytes",
                                         PROXY_HANDSHAKE_HEAD_MAX);
                        else
                                r = http_take(h, p[used++]);
                        continue;
                }
                size_t n = MIN(len - used, h->in_need - h->in_len);
                memcpy(h->in + h->in_len, p + used, n);
                h->in_len += n;
                used += n;
                if (h->in_len == h->in_need)
                        r = socks_step(h);
                if (r == 0 && h->out_sent < h->out_len && used < len)
                        r = fail(h, -EPROTO, "SOCKS5 proxy answered before the request was complete");
        }
        *ret_consumed = used;
        return r;
}

void proxy_handshake_wipe(ProxyHandshake *h) {
        explicit_bzero(h, sizeof *h);
}
