/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "host-check.h"
#include "macro.h"

static bool name_valid(const char *name) {
        if (name[0] == '[')
                return name[strlen(name) - 1] == ']' && strspn(name + 1, "0123456789abcdefABCDEF:.") == strlen(name) - 2;
        return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(name);
}

int host_port_split(const char *s, char *name, size_t size, unsigned *port) {
        const char *colon;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end)
                        return -EINVAL;
                colon = end[1] ? end + 1 : NULL;
                if (colon && *colon != ':')
                        return -EINVAL;
        } else
                colon = strchr(s, ':');
        size_t n = colon ? (size_t) (colon - s) : strlen(s);
        if (n == 0 || n >= size)
                return -EINVAL;
        memcpy(name, s, n);
        name[n] = 0;
        if (!name_valid(name))
                return -EINVAL;
        *port = 0;
        if (!colon)
                return 0;
        const char *p = colon + 1;
        size_t pl = strlen(p);
        if (pl == 0 || pl > 5 || p[0] == '0' || strspn(p, "0123456789") != pl)
                return -EINVAL;
        unsigned long v = strtoul(p, NULL, 10);
        if (v > 65535)
                return -EINVAL;
        *port = (unsigned) v;
        return 0;
}

/* @name is @local's address written as a number ("192.0.2.1", "[2001:db8::1]"). */
static bool name_is_address(const char *name, const struct sockaddr *local) {
        unsigned char a[16];

        if (name[0] == '[') {
                char inner[INET6_ADDRSTRLEN];
                size_t n = strlen(name) - 2;
                if (n >= sizeof inner)
                        return false;
                memcpy(inner, name + 1, n);
                inner[n] = 0;
                return local->sa_family == AF_INET6 && inet_pton(AF_INET6, inner, a) == 1 &&
                        memcmp(a, &((const struct sockaddr_in6 *) local)->sin6_addr, 16) == 0;
        }
        if (inet_pton(AF_INET, name, a) != 1)
                return false;
        if (local->sa_family == AF_INET)
                return memcmp(a, &((const struct sockaddr_in *) local)->sin_addr, 4) == 0;
        const struct in6_addr *l6 = &((const struct sockaddr_in6 *) local)->sin6_addr;
        return local->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(l6) && memcmp(a, l6->s6_addr + 12, 4) == 0;
}

bool host_allowed(const char *host, char *const *allowed, const struct sockaddr *local) {
        return host_allowed_scheme(host, false, allowed, local);
}

bool host_allowed_scheme(const char *host, bool https, char *const *allowed, const struct sockaddr *local) {
        char name[256], entry_name[256];
        unsigned port, entry_port, local_port;

        if (!host || host_port_split(host, name, sizeof name, &port) < 0)
                return false;
        port = port ?: (https ? 443 : 80);
        for (char *const *a = allowed; a && *a; a++)
                if (host_port_split(*a, entry_name, sizeof entry_name, &entry_port) >= 0 &&
                    strcasecmp(name, entry_name) == 0 && (entry_port == 0 || entry_port == port))
                        return true;

        if (local->sa_family == AF_INET)
                local_port = ntohs(((const struct sockaddr_in *) local)->sin_port);
        else if (local->sa_family == AF_INET6)
                local_port = ntohs(((const struct sockaddr_in6 *) local)->sin6_port);
        else
                return false;
        if (port != local_port)
                return false;
        return strcasecmp(name, "localhost") == 0 || streq(name, "127.0.0.1") || streq(name, "[::1]") ||
                name_is_address(name, local);
}

bool origin_allowed(const char *origin, char *const *allowed, const struct sockaddr *local) {
        return strncmp(origin, "http://", 7) == 0 && host_allowed(origin + 7, allowed, local);
}

bool origin_matches_host(const char *origin, bool https, const char *host) {
        const char *scheme = https ? "https://" : "http://";
        char origin_name[256], host_name[256];
        unsigned origin_port, host_port, default_port = https ? 443 : 80;

        if (!origin || !host || strncmp(origin, scheme, strlen(scheme)) != 0 ||
            host_port_split(origin + strlen(scheme), origin_name, sizeof origin_name, &origin_port) < 0 ||
            host_port_split(host, host_name, sizeof host_name, &host_port) < 0)
                return false;
        return strcasecmp(origin_name, host_name) == 0 && (origin_port ?: default_port) == (host_port ?: default_port);
}
