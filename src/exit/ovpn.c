/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "ovpn.h"
#include "strv.h"

#define LINE_MAX_LEN 1024
#define ARGS_MAX 4

void ovpn_done(OvpnConfig *c) {
        if (c->text) {
                explicit_bzero(c->text, strlen(c->text)); /* holds the client's key */
                free(c->text);
        }
        free(c->remote);
        strv_free(c->dns);
        *c = (OvpnConfig) {};
}

/* What a directive may be given: its arguments' count and kind. */
typedef enum ArgKind {
        ARG_WORD,    /* a safe word: letters, digits and . _ : + / = - */
        ARG_NUMBER,  /* 0 … 2^31-1 */
        ARG_PORT,    /* 1 … 65535 */
} ArgKind;

typedef struct Directive {
        const char *name;
        unsigned min_args, max_args;
        ArgKind kind;
        bool keep;   /* passed to OpenVPN; else read and dropped (PIC decides what it would do) */
} Directive;

static const Directive allowed[] = {
        { "client", 0, 0, ARG_WORD, true },
        { "tls-client", 0, 0, ARG_WORD, true },
        { "pull", 0, 0, ARG_WORD, true },
        { "nobind", 0, 0, ARG_WORD, true },
        { "float", 0, 0, ARG_WORD, true },
        { "persist-key", 0, 0, ARG_WORD, true },
        { "persist-tun", 0, 0, ARG_WORD, true },
        { "auth-nocache", 0, 0, ARG_WORD, true },
        { "remote-random", 0, 0, ARG_WORD, true },
        { "mute-replay-warnings", 0, 0, ARG_WORD, true },
        { "fast-io", 0, 0, ARG_WORD, true },
        { "remote", 1, 3, ARG_WORD, true },
        { "port", 1, 1, ARG_PORT, true },
        { "rport", 1, 1, ARG_PORT, true },
        { "proto", 1, 1, ARG_WORD, true },
        { "resolv-retry", 1, 1, ARG_WORD, true },
        { "connect-retry", 1, 2, ARG_NUMBER, true },
        { "connect-retry-max", 1, 1, ARG_NUMBER, true },
        { "connect-timeout", 1, 1, ARG_NUMBER, true },
        { "server-poll-timeout", 1, 1, ARG_NUMBER, true },
        { "keepalive", 2, 2, ARG_NUMBER, true },
        { "ping", 1, 1, ARG_NUMBER, true },
        { "ping-restart", 1, 1, ARG_NUMBER, true },
        { "reneg-sec", 1, 1, ARG_NUMBER, true },
        { "tun-mtu", 1, 1, ARG_NUMBER, true },
        { "mssfix", 0, 1, ARG_NUMBER, true },
        { "sndbuf", 1, 1, ARG_NUMBER, true },
        { "rcvbuf", 1, 1, ARG_NUMBER, true },
        { "verb", 1, 1, ARG_NUMBER, true },
        { "mute", 1, 1, ARG_NUMBER, true },
        { "explicit-exit-notify", 0, 1, ARG_NUMBER, true },
        { "remote-cert-tls", 1, 1, ARG_WORD, true },
        { "ns-cert-type", 1, 1, ARG_WORD, true },
        { "remote-cert-eku", 1, 1, ARG_WORD, true },
        { "remote-cert-ku", 1, ARGS_MAX, ARG_WORD, true },
        { "verify-x509-name", 1, 2, ARG_WORD, true },
        { "tls-version-min", 1, 2, ARG_WORD, true },
        { "tls-version-max", 1, 1, ARG_WORD, true },
        { "tls-cipher", 1, 1, ARG_WORD, true },
        { "tls-ciphersuites", 1, 1, ARG_WORD, true },
        { "cipher", 1, 1, ARG_WORD, true },
        { "data-ciphers", 1, 1, ARG_WORD, true },
        { "data-ciphers-fallback", 1, 1, ARG_WORD, true },
        { "ncp-ciphers", 1, 1, ARG_WORD, true },
        { "auth", 1, 1, ARG_WORD, true },
        { "key-direction", 1, 1, ARG_NUMBER, true },
        { "topology", 1, 1, ARG_WORD, true },
        /* PIC's to decide: the device is its own, routes are its policy rules, DNS is read here */
        { "dev", 1, 1, ARG_WORD, false },
        { "dev-type", 1, 1, ARG_WORD, false },
        { "redirect-gateway", 0, ARGS_MAX, ARG_WORD, false },
        { "dhcp-option", 2, 2, ARG_WORD, false },
};

static const char *const inline_blocks[] = { "ca", "cert", "key", "tls-auth", "tls-crypt", "tls-crypt-v2",
                                             "extra-certs", NULL };

/* Refused by name, each with why. */
static const struct {
        const char *const *names;
        const char *why;
} refused[] = {
        { (const char *const[]) { "script-security", "up", "down", "up-delay", "up-restart", "route-up", "route-pre-down",
                                  "ipchange", "tls-verify", "auth-user-pass-verify", "client-connect",
                                  "client-disconnect", "learn-address", "plugin", "iproute", "tls-export-cert", NULL },
          "runs a program: PIC never runs an exit's commands" },
        { (const char *const[]) { "management", "management-client", "management-hold", "management-query-passwords",
                                  "management-signal", "management-forget-disconnect", NULL },
          "opens a management interface: PIC runs OpenVPN with its own" },
        { (const char *const[]) { "config", "cd", "chroot", "daemon", "log", "log-append", "status", "writepid",
                                  "tmp-dir", "askpass", "auth-user-pass", "pkcs12", "secret", "crl-verify", "dh",
                                  "replay-persist", "syslog", "machine-readable-output", NULL },
          "reads or writes files of the cell's: certificates and keys go inline (<ca>…</ca>)" },
        { (const char *const[]) { "route", "route-ipv6", "route-nopull", "route-noexec", "route-delay",
                                  "route-gateway", "route-metric", "ifconfig", "ifconfig-ipv6", "ifconfig-noexec",
                                  "ifconfig-nowarn", "lladdr", "dev-node", "mark", "tun-ipv6", "setenv",
                                  "setenv-safe", "pull-filter", "user", "group", "nice", NULL },
          "is PIC's to decide (its device, routes, environment and privileges)" },
        { (const char *const[]) { "comp-lzo", "compress", "allow-compression", NULL },
          "turns on compression, which leaks what is sent (VORACLE): refused" },
        { (const char *const[]) { "server", "server-bridge", "mode", "push", "client-to-client", "client-config-dir",
                                  "ifconfig-pool", "ifconfig-pool-persist", "duplicate-cn", NULL },
          "is a server's: an exit takes a client's file" },
};

typedef struct Parser {
        OvpnConfig *c;
        unsigned line;
        char *buf;
        size_t size;
        FILE *out;
        const char *block;  /* inside <block>…</block> */
        unsigned seen_blocks; /* bit per inline_blocks entry */
        bool any_remote;
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

static bool is_text(const char *s) {
        for (; *s; s++)
                if ((*s < 0x20 || *s > 0x7e) && *s != '\t')
                        return false;
        return true;
}

static bool is_word(const char *s) {
        if (!*s || strlen(s) > 128)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("._:+/=-", *s)))
                        return false;
        return true;
}

static bool is_number(const char *s, unsigned long min, unsigned long max) {
        char *end;
        if (!*s || strlen(s) > 10 || *s == '+' || *s == '-')
                return false;
        unsigned long n = strtoul(s, &end, 10);
        return !*end && n >= min && n <= max;
}

static int block_index(const char *name, size_t len) {
        for (int i = 0; inline_blocks[i]; i++)
                if (strlen(inline_blocks[i]) == len && strncmp(inline_blocks[i], name, len) == 0)
                        return i;
        return -1;
}

static int check_args(Parser *p, const Directive *d, char **argv, unsigned argc) {
        if (argc < d->min_args || argc > d->max_args)
                return refuse(p, "'%s' takes %u to %u values, not %u.", d->name, d->min_args, d->max_args, argc);
        for (unsigned i = 0; i < argc; i++) {
                bool ok = d->kind == ARG_NUMBER ? is_number(argv[i], 0, 0x7fffffff) :
                          d->kind == ARG_PORT   ? is_number(argv[i], 1, 65535) : is_word(argv[i]);
                if (!ok)
                        return refuse(p, "'%s': value %u is not %s.", d->name, i + 1,
                                      d->kind == ARG_WORD ? "a plain word (letters, digits and . _ : + / = -)" :
                                      d->kind == ARG_PORT ? "a port (1-65535)" : "a number");
        }
        return 0;
}

/* What a kept or read directive says beyond its form. */
static int take_directive(Parser *p, const Directive *d, char **argv, unsigned argc) {
        OvpnConfig *c = p->c;
        unsigned char addr[4];

        if (streq(d->name, "remote")) {
                if (argc >= 2 && !is_number(argv[1], 1, 65535))
                        return refuse(p, "'remote': '%.16s' is not a port.", argv[1]);
                if (argc == 3 && !strstr(" udp tcp udp4 tcp4 udp6 tcp6 tcp-client ", argv[2]))
                        return refuse(p, "'remote': '%.16s' is not a protocol.", argv[2]);
                char remote[300];
                snprintf(remote, sizeof remote, "%s %s", argv[0], argc >= 2 ? argv[1] : "1194"); /* words ≤ 128 */
                if (!c->remote && !(c->remote = strdup(remote)))
                        return -ENOMEM;
                p->any_remote = true;
        } else if (streq(d->name, "proto") && !strstr(" udp tcp udp4 tcp4 udp6 tcp6 tcp-client ", argv[0]))
                return refuse(p, "'proto': '%.16s' is not a protocol (udp, tcp).", argv[0]);
        else if ((streq(d->name, "dev") && strncmp(argv[0], "tun", 3) != 0) ||
                 (streq(d->name, "dev-type") && !streq(argv[0], "tun")))
                return refuse(p, "'%s %.16s': an exit carries IP (a tun device), not Ethernet.", d->name, argv[0]);
        else if (streq(d->name, "dhcp-option") && streq(argv[0], "DNS")) {
                if (inet_pton(AF_INET, argv[1], addr) != 1)
                        return refuse(p, "'dhcp-option DNS %.40s': an exit's resolver must be an IPv4 address.", argv[1]);
                if (strv_length(c->dns) >= OVPN_DNS_MAX)
                        return refuse(p, "more than %d 'dhcp-option DNS' lines.", OVPN_DNS_MAX);
                if (strv_extend(&c->dns, argv[1]) < 0)
                        return -ENOMEM;
        }
        if (!d->keep)
                return 0;
        fputs(d->name, p->out);
        for (unsigned i = 0; i < argc; i++)
                fprintf(p->out, " %s", argv[i]);
        fputc('\n', p->out);
        return 0;
}

static int parse_directive(Parser *p, char *line) {
        char *argv[ARGS_MAX + 2];
        unsigned argc = 0;

        if (strpbrk(line, "\"'\\"))
                return refuse(p, "quotes and backslashes are not needed by any directive an exit takes.");
        for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t")) {
                if (argc == ELEMENTSOF(argv))
                        return refuse(p, "'%.32s': too many values.", argv[0]);
                argv[argc++] = tok;
        }
        const char *name = argv[0];
        if (strncmp(name, "--", 2) == 0)
                return refuse(p, "'%.32s': a file's directives have no leading '--'.", name);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                for (const char *const *n = refused[i].names; *n; n++)
                        if (streq(*n, name))
                                return refuse(p, "'%s' %s.", name, refused[i].why);
        if (block_index(name, strlen(name)) >= 0)
                return refuse(p, "'%s' names a file: give it inline instead (<%s>…</%s>).", name, name, name);
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (streq(allowed[i].name, name)) {
                        int r = check_args(p, &allowed[i], argv + 1, argc - 1);
                        return r < 0 ? r : take_directive(p, &allowed[i], argv + 1, argc - 1);
                }
        return refuse(p, "'%.32s' is not a directive PIC runs an exit with.", name);
}

static int parse_line(Parser *p, char *line) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\r')
                line[--n] = 0;
        if (n > LINE_MAX_LEN)
                return refuse(p, "longer than %d characters.", LINE_MAX_LEN);
        if (!is_text(line))
                return refuse(p, "not text (control characters or bytes beyond ASCII).");
        while (*line == ' ' || *line == '\t')
                line++;
        if (p->block) {
                char end[32];
                snprintf(end, sizeof end, "</%s>", p->block);
                if (streq(line, end)) {
                        p->block = NULL;
                        fprintf(p->out, "%s\n", end);
                } else if (line[0] == '<')
                        return refuse(p, "<%s> is not closed before this line.", p->block);
                else
                        fprintf(p->out, "%s\n", line);
                return 0;
        }
        if (!*line || *line == '#' || *line == ';')
                return 0;
        if (*line == '<') {
                char *close = strchr(line, '>');
                int i = close ? block_index(line + 1, (size_t) (close - line - 1)) : -1;
                if (i < 0 || close[1])
                        return refuse(p, "'%.32s' is not an inline block an exit takes (ca, cert, key, tls-auth, "
                                      "tls-crypt, tls-crypt-v2, extra-certs).", line);
                if (p->seen_blocks & (1U << i))
                        return refuse(p, "<%s> is given twice.", inline_blocks[i]);
                p->seen_blocks |= 1U << i;
                p->block = inline_blocks[i];
                fprintf(p->out, "<%s>\n", p->block);
                return 0;
        }
        return parse_directive(p, line);
}

int ovpn_parse(const char *text, OvpnConfig *ret, char *buf, size_t size) {
        _cleanup_(ovpn_done) OvpnConfig c = {};
        Parser p = { .c = &c, .buf = buf, .size = size };
        size_t out_size = 0;
        int r = 0;

        if (strnlen(text, OVPN_TEXT_MAX + 1) > OVPN_TEXT_MAX)
                return -E2BIG;
        _cleanup_(freep) char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        p.out = open_memstream(&c.text, &out_size);
        if (!p.out)
                return -ENOMEM;
        for (char *line = copy, *next; line && r >= 0; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                p.line++;
                r = parse_line(&p, line);
        }
        explicit_bzero(copy, strlen(text));
        if (fclose(p.out) != 0 && r >= 0)
                r = -ENOMEM;
        p.line = 0;
        if (r >= 0 && p.block)
                r = refuse(&p, "<%s> is not closed.", p.block);
        if (r >= 0 && !p.any_remote)
                r = refuse(&p, "no 'remote': where is the server?");
        if (r >= 0 && (p.seen_blocks & 7) != 7)
                r = refuse(&p, "<ca>, <cert> and <key> must be given inline: the exit proves who it is with them.");
        if (r < 0)
                return r;
        *ret = c;
        c = (OvpnConfig) {};
        return 0;
}
