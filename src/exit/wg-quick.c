/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "keys.h"
#include "macro.h"
#include "names.h"
#include "strv.h"
#include "wg-quick.h"

#define LINE_MAX_LEN 1024

void wg_quick_done(WgQuickConfig *c) {
        key_wipe(c->private_key);
        key_wipe(c->preshared_key);
        strv_free(c->addresses);
        strv_free(c->dns);
        strv_free(c->allowed_ips);
        free(c->endpoint);
        *c = (WgQuickConfig) {};
}

typedef struct Parser {
        WgQuickConfig *c;
        unsigned line;
        char *buf;
        size_t size;
        enum { NONE, INTERFACE, PEER } section;
        unsigned n_interface, n_peer;
        unsigned seen;  /* bit per single-valued key (KEYS below) */
} Parser;

static int refuse(Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(Parser *p, const char *fmt, ...) {
        va_list ap;
        int n = p->line ? snprintf(p->buf, p->size, "line %u: ", p->line) : 0;
        va_start(ap, fmt);
        if (n >= 0 && (size_t) n < p->size)
                vsnprintf(p->buf + n, p->size - (size_t) n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Printable ASCII, tabs and a CR before the newline: a text file, not bytes. */
static bool line_is_text(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\t' && !(s[i] == '\r' && i + 1 == n))
                        return false;
        return true;
}

static char *trim(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

/* "a.b.c.d[/n]" or "v6[/n]": 4 or 6, -1 when it is neither; the prefix (or the full one) in *prefix. */
static int parse_prefix_address(const char *s, bool want_prefix, unsigned *prefix) {
        char host[64];
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t) (slash - s) : strlen(s);
        unsigned char bytes[16];

        if (len == 0 || len >= sizeof host || (want_prefix && !slash))
                return -1;
        memcpy(host, s, len);
        host[len] = 0;
        int family = inet_pton(AF_INET, host, bytes) == 1 ? 4 : inet_pton(AF_INET6, host, bytes) == 1 ? 6 : -1;
        if (family < 0)
                return -1;
        unsigned max = family == 4 ? 32 : 128;
        *prefix = max;
        if (slash) {
                char *end;
                if (!slash[1] || slash[1] == '+' || slash[1] == '-' || (slash[1] == '0' && slash[2]))
                        return -1;
                unsigned long n = strtoul(slash + 1, &end, 10);
                if (*end || n > max)
                        return -1;
                *prefix = (unsigned) n;
        }
        return family;
}

/* Appends each comma-separated item of value to *list, checked by check (0 or a refusal). */
static int add_list(Parser *p, const char *key, char *value, char ***list,
                    int (*check)(Parser *p, const char *key, const char *item)) {
        bool any = false;
        for (char *item = value, *next; item; item = next) { /* strtok would skip empty entries */
                char *comma = strchr(item, ',');
                next = comma ? comma + 1 : NULL;
                if (comma)
                        *comma = 0;
                item = trim(item);
                if (!*item)
                        return refuse(p, "%s: an empty entry.", key);
                int r = check(p, key, item);
                if (r < 0)
                        return r;
                if (strv_length(*list) >= WG_QUICK_LIST_MAX)
                        return refuse(p, "%s: more than %d entries.", key, WG_QUICK_LIST_MAX);
                if (strv_extend(list, item) < 0)
                        return -ENOMEM;
                any = true;
        }
        return any ? 0 : refuse(p, "%s: no value.", key);
}

static int check_address(Parser *p, const char *key, const char *item) {
        unsigned prefix;
        return parse_prefix_address(item, false, &prefix) < 0 ?
                refuse(p, "%s: '%.64s' is not an address with an optional /prefix.", key, item) : 0;
}

static int check_network(Parser *p, const char *key, const char *item) {
        unsigned prefix;
        return parse_prefix_address(item, false, &prefix) < 0 ?
                refuse(p, "%s: '%.64s' is not a network (address/prefix).", key, item) : 0;
}

static int check_dns(Parser *p, const char *key, const char *item) {
        unsigned prefix;
        if (strchr(item, '/') || parse_prefix_address(item, false, &prefix) < 0)
                return refuse(p, "%s: '%.64s' is not a server address (search domains are not used by an exit).",
                              key, item);
        return 0;
}

static int parse_key(Parser *p, const char *key, const char *value, WgKey out) {
        if (key_from_base64(value, out) < 0)
                return refuse(p, "%s is not a WireGuard key (44 characters of base64).", key);
        return 0;
}

static int parse_number(Parser *p, const char *key, const char *value, unsigned long min, unsigned long max,
                        uint16_t *out) {
        char *end;
        if (value[0] < '0' || value[0] > '9' || (value[0] == '0' && value[1]))
                return refuse(p, "%s: '%.16s' is not a number.", key, value);
        unsigned long n = strtoul(value, &end, 10);
        if (*end || n < min || n > max)
                return refuse(p, "%s: '%.16s' is not a number from %lu to %lu.", key, value, min, max);
        *out = (uint16_t) n;
        return 0;
}

/* Keys that would run commands or take routing from PIC: refused with the reason. */
static const struct {
        const char *key, *why;
} refused_keys[] = {
        { "PreUp", "runs a command: PIC never runs an exit's commands" },
        { "PostUp", "runs a command: PIC never runs an exit's commands" },
        { "PreDown", "runs a command: PIC never runs an exit's commands" },
        { "PostDown", "runs a command: PIC never runs an exit's commands" },
        { "SaveConfig", "would write the file back: PIC keeps the exit's settings itself" },
        { "Table", "PIC routes the exit's peers itself (its own table)" },
        { "FwMark", "PIC marks the exit's traffic itself" },
};

enum { K_PRIVATE_KEY, K_MTU, K_LISTEN_PORT, K_PUBLIC_KEY, K_PRESHARED_KEY, K_ENDPOINT, K_KEEPALIVE };

static int once(Parser *p, unsigned bit, const char *key) {
        if (p->seen & (1U << bit))
                return refuse(p, "%s is given twice.", key);
        p->seen |= 1U << bit;
        return 0;
}

static int interface_key(Parser *p, const char *key, char *value) {
        WgQuickConfig *c = p->c;
        int r;

        if (strcasecmp(key, "PrivateKey") == 0)
                return (r = once(p, K_PRIVATE_KEY, key)) < 0 ? r : parse_key(p, key, value, c->private_key);
        if (strcasecmp(key, "Address") == 0)
                return add_list(p, key, value, &c->addresses, check_address);
        if (strcasecmp(key, "DNS") == 0)
                return add_list(p, key, value, &c->dns, check_dns);
        if (strcasecmp(key, "MTU") == 0)
                return (r = once(p, K_MTU, key)) < 0 ? r : parse_number(p, key, value, 576, 9200, &c->mtu);
        if (strcasecmp(key, "ListenPort") == 0)
                return (r = once(p, K_LISTEN_PORT, key)) < 0 ? r :
                        parse_number(p, key, value, 1, 65535, &c->listen_port);
        return 1;
}

static int peer_key(Parser *p, const char *key, char *value) {
        WgQuickConfig *c = p->c;
        int r;

        if (strcasecmp(key, "PublicKey") == 0) {
                if ((r = once(p, K_PUBLIC_KEY, key)) < 0 || (r = parse_key(p, key, value, c->peer_public_key)) < 0)
                        return r;
                return key_is_weak_public(c->peer_public_key) ? refuse(p, "PublicKey is a weak key.") : 0;
        }
        if (strcasecmp(key, "PresharedKey") == 0) {
                if ((r = once(p, K_PRESHARED_KEY, key)) < 0)
                        return r;
                c->has_preshared_key = true;
                return parse_key(p, key, value, c->preshared_key);
        }
        if (strcasecmp(key, "Endpoint") == 0) {
                if ((r = once(p, K_ENDPOINT, key)) < 0)
                        return r;
                if (endpoint_validate(value) < 0)
                        return refuse(p, "Endpoint: '%.64s' is not host:port.", value);
                return (c->endpoint = strdup(value)) ? 0 : -ENOMEM;
        }
        if (strcasecmp(key, "AllowedIPs") == 0)
                return add_list(p, key, value, &c->allowed_ips, check_network);
        if (strcasecmp(key, "PersistentKeepalive") == 0) {
                if ((r = once(p, K_KEEPALIVE, key)) < 0)
                        return r;
                if (strcasecmp(value, "off") == 0)
                        return 0;
                return parse_number(p, key, value, 0, 65535, &c->persistent_keepalive);
        }
        return 1;
}

static int parse_line(Parser *p, char *line) {
        char *hash = strchr(line, '#');
        if (hash)
                *hash = 0;
        line = trim(line);
        if (!*line)
                return 0;
        if (line[0] == '[') {
                if (strcasecmp(line, "[Interface]") == 0) {
                        p->section = INTERFACE;
                        return ++p->n_interface > 1 ? refuse(p, "a second [Interface].") : 0;
                }
                if (strcasecmp(line, "[Peer]") == 0) {
                        p->section = PEER;
                        return ++p->n_peer > 1 ? refuse(p, "a second [Peer]: an exit has one server.") : 0;
                }
                return refuse(p, "'%.32s' is not a section ([Interface] or [Peer]).", line);
        }
        char *eq = strchr(line, '=');
        if (!eq)
                return refuse(p, "not 'Key = value'.");
        *eq = 0;
        char *key = trim(line), *value = trim(eq + 1);
        if (!string_is_printable_ascii(key, 32))
                return refuse(p, "a key that is not a wg-quick key.");
        for (size_t i = 0; i < ELEMENTSOF(refused_keys); i++)
                if (strcasecmp(key, refused_keys[i].key) == 0)
                        return refuse(p, "%s is refused: %s.", refused_keys[i].key, refused_keys[i].why);
        if (p->section == NONE)
                return refuse(p, "%s before any [Interface] or [Peer].", key);
        if (!*value)
                return refuse(p, "%s has no value.", key);
        int r = p->section == INTERFACE ? interface_key(p, key, value) : peer_key(p, key, value);
        if (r > 0)
                return refuse(p, "'%s' is not a key of [%s] an exit takes.", key,
                              p->section == INTERFACE ? "Interface" : "Peer");
        return r;
}

static bool carries_the_internet(char **allowed) {
        bool low = false, high = false;
        for (char **a = allowed; a && *a; a++) {
                if (streq(*a, "0.0.0.0/0"))
                        return true;
                low = low || streq(*a, "0.0.0.0/1");
                high = high || streq(*a, "128.0.0.0/1");
        }
        return low && high;
}

static bool has_ipv4(char **addresses) {
        for (char **a = addresses; a && *a; a++)
                if (!strchr(*a, ':'))
                        return true;
        return false;
}

int wg_quick_parse(const char *text, WgQuickConfig *ret, char *buf, size_t size) {
        WgQuickConfig c = {};
        Parser p = { .c = &c, .buf = buf, .size = size };
        size_t len = strnlen(text, WG_QUICK_TEXT_MAX + 1);
        int r = 0;

        if (len > WG_QUICK_TEXT_MAX) {
                snprintf(buf, size, "The configuration is over %d bytes.", WG_QUICK_TEXT_MAX);
                return -E2BIG;
        }
        for (const char *s = text; *s && r >= 0;) {
                const char *nl = strchr(s, '\n');
                size_t n = nl ? (size_t) (nl - s) : strlen(s);
                char line[LINE_MAX_LEN + 1];
                p.line++;
                if (n > LINE_MAX_LEN)
                        r = refuse(&p, "longer than %d characters.", LINE_MAX_LEN);
                else if (!line_is_text(s, n))
                        r = refuse(&p, "holds a character that is not printable ASCII.");
                else {
                        memcpy(line, s, n);
                        line[n] = 0;
                        r = parse_line(&p, line);
                }
                s += n + (nl ? 1 : 0);
        }
        p.line = 0;
        if (r >= 0 && p.n_interface == 0)
                r = refuse(&p, "No [Interface] section.");
        else if (r >= 0 && p.n_peer == 0)
                r = refuse(&p, "No [Peer] section: the exit's server is missing.");
        else if (r >= 0 && !(p.seen & (1U << K_PRIVATE_KEY)))
                r = refuse(&p, "[Interface] has no PrivateKey.");
        else if (r >= 0 && !has_ipv4(c.addresses))
                r = refuse(&p, "[Interface] has no IPv4 Address.");
        else if (r >= 0 && !(p.seen & (1U << K_PUBLIC_KEY)))
                r = refuse(&p, "[Peer] has no PublicKey.");
        else if (r >= 0 && !c.endpoint)
                r = refuse(&p, "[Peer] has no Endpoint: the exit's server must be reachable.");
        else if (r >= 0 && !carries_the_internet(c.allowed_ips))
                r = refuse(&p, "[Peer] AllowedIPs must include 0.0.0.0/0: an exit carries the internet.");
        if (r < 0) {
                wg_quick_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}
