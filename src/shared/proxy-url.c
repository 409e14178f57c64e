/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "macro.h"
#include "proxy-url.h"

static int refuse(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        int n = snprintf(buf, size, "Proxy: ");
        va_start(ap, fmt);
        if (n >= 0 && (size_t) n < size)
                vsnprintf(buf + n, size - n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Decodes [s, end) into out (percent escapes); -EINVAL for a bad escape, a
 * forbidden or unprintable character, or an empty or overlong result. */
static int decode_credential(const char *s, const char *end, char out[static PROXY_CREDENTIAL_MAX + 1]) {
        size_t n = 0;

        while (s < end) {
                int c = (unsigned char) *s++;
                if (c == '%') {
                        int hi = end - s >= 2 ? hex_digit_value(s[0]) : -1, lo = end - s >= 2 ? hex_digit_value(s[1]) : -1;
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = hi * 16 + lo;
                        s += 2;
                }
                if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || n >= PROXY_CREDENTIAL_MAX)
                        return -EINVAL;
                out[n++] = (char) c;
        }
        out[n] = 0;
        return n > 0 ? 0 : -EINVAL;
}

int proxy_url_parse(const char *text, ProxyUrl *ret, char *buf, size_t size) {
        ProxyUrl u = {};
        const char *p;

        if (!text || strnlen(text, PROXY_URL_MAX + 1) > PROXY_URL_MAX)
                return refuse(buf, size, "a proxy URL is at most %u characters.", PROXY_URL_MAX);
        if (strncmp(text, "socks5://", 9) == 0) {
                u.kind = PROXY_SOCKS5;
                p = text + 9;
        } else if (strncmp(text, "http://", 7) == 0) {
                u.kind = PROXY_HTTP;
                p = text + 7;
        } else
                return refuse(buf, size, "the URL must start with socks5:// or http:// (an HTTP proxy that "
                              "takes CONNECT).");

        const char *at = strrchr(p, '@');
        if (at) {
                const char *colon = memchr(p, ':', at - p);
                if (!colon)
                        return refuse(buf, size, "credentials are user:password@ (both, percent-encoded where "
                                      "needed).");
                if (decode_credential(p, colon, u.user) < 0 || decode_credential(colon + 1, at, u.password) < 0) {
                        proxy_url_wipe(&u);
                        return refuse(buf, size, "the user and the password must each be 1-%u printable "
                                      "characters without '\"' or '\\' (percent-encoded where needed).",
                                      PROXY_CREDENTIAL_MAX);
                }
                u.has_credentials = true;
                p = at + 1;
        }

        /* a.b.c.d:port, then nothing or "/" */
        const char *colon = strchr(p, ':');
        char host[16];
        size_t host_len = colon ? (size_t) (colon - p) : 0;
        if (!colon || host_len == 0 || host_len >= sizeof host) {
                proxy_url_wipe(&u);
                return refuse(buf, size, "the host must be an IPv4 address with a port, such as "
                              "socks5://192.0.2.10:1080; PIC does not resolve names for an exit.");
        }
        memcpy(host, p, host_len);
        host[host_len] = 0;
        const char *q = colon + 1;
        unsigned long port = 0;
        size_t digits = 0;
        while (*q >= '0' && *q <= '9' && digits < 6)
                port = port * 10 + (unsigned long) (*q++ - '0'), digits++;
        bool tail_ok = *q == 0 || (q[0] == '/' && q[1] == 0);
        if (ipv4_parse(host, &u.address) < 0 || digits == 0 || digits > 5 || port == 0 || port > 65535 ||
            !tail_ok) {
                proxy_url_wipe(&u);
                return refuse(buf, size, "the host must be an IPv4 address with a port 1-65535 and nothing "
                              "after, such as socks5://192.0.2.10:1080; PIC does not resolve names for an exit.");
        }
        u.port = (uint16_t) port;
        *ret = u;
        proxy_url_wipe(&u);
        return 0;
}

void proxy_url_wipe(ProxyUrl *u) {
        explicit_bzero(u->user, sizeof u->user);
        explicit_bzero(u->password, sizeof u->password);
}

const char *proxy_kind_to_string(ProxyKind k) {
        return k == PROXY_HTTP ? "http" : "socks5";
}
