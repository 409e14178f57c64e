/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "names.h"

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool peer_name_is_valid(const char *s) {
        if (!s || !is_alnum(s[0]))
                return false;
        size_t n = 0;
        for (; s[n]; n++)
                if (!is_alnum(s[n]) && s[n] != '-' && s[n] != '_')
                        return false;
        return n <= PEER_NAME_MAX;
}

static bool label_is_valid(const char *s, size_t len) {
        if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool dns_label_is_valid(const char *s) {
        return s && label_is_valid(s, strlen(s));
}

bool dns_domain_is_valid(const char *s) {
        if (!s)
                return false;
        size_t len = strlen(s);
        if (len == 0 || len > 253)
                return false;
        for (const char *p = s;;) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t) (dot - p) : strlen(p);
                if (!label_is_valid(p, l))
                        return false;
                if (!dot)
                        return true;
                p = dot + 1;
        }
}

bool string_is_printable_ascii(const char *s, size_t max_len) {
        if (!s)
                return false;
        size_t n = 0;
        for (; s[n]; n++)
                if (s[n] < 0x20 || s[n] > 0x7e)
                        return false;
        return n <= max_len;
}

static bool host_char_ok(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* Dot-separated labels of 1-63 letters, digits and '-', no '-' at either end
 * (a dotted IPv4 address is such a name too). */
static bool host_name_is_valid(const char *s, size_t len) {
        size_t label = 0;
        if (len == 0 || len > 253)
                return false;
        for (size_t i = 0; i <= len; i++) {
                if (i == len || s[i] == '.') {
                        if (label == 0 || s[i - label] == '-' || s[i - 1] == '-')
                                return false;
                        label = 0;
                } else if (!host_char_ok(s[i]) || ++label > 63)
                        return false;
        }
        return true;
}

/* 1-65535 in plain decimal: strtoul() alone would take " 1", "+1" and "0x1". */
static bool port_is_valid(const char *s) {
        unsigned long port = 0;
        size_t n = 0;
        for (; s[n]; n++) {
                if (s[n] < '0' || s[n] > '9' || n >= 5)
                        return false;
                port = port * 10 + (unsigned long) (s[n] - '0');
        }
        return n > 0 && s[0] != '0' && port <= 65535;
}

/* "host:port" or "[v6]:port"; the host is a DNS name or an address. */
int endpoint_validate(const char *s) {
        if (strlen(s) > ENDPOINT_MAX)
                return -EINVAL;
        const char *colon = strrchr(s, ':');
        if (!colon || colon == s || !port_is_valid(colon + 1))
                return -EINVAL;
        if (s[0] == '[') {
                char v6[INET6_ADDRSTRLEN];
                struct in6_addr a;
                size_t len = (size_t) (colon - s) - 2;
                if (colon[-1] != ']' || colon - s < 4 || len >= sizeof v6)
                        return -EINVAL;
                memcpy(v6, s + 1, len);
                v6[len] = 0;
                return inet_pton(AF_INET6, v6, &a) == 1 ? 0 : -EINVAL;
        }
        return host_name_is_valid(s, (size_t) (colon - s)) ? 0 : -EINVAL;
}

int utf8_prefix_len(const char *s, int max) {
        int n = 0;
        while (n < max && s[n])
                n++;
        /* cut inside a sequence: step back to the byte that starts it */
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        return n;
}
