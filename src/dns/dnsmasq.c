/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmasq.h"
#include "macro.h"
#include "names.h"
#include "strv.h"

static bool path_is_plain_absolute(const char *p) {
        return p && p[0] == '/' && strlen(p) < 4096 && string_is_printable_ascii(p, 4096) && !strchr(p, ' ');
}

static bool bus_name_is_plain(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 255 || !strchr(s, '.'))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '_' || *p == '-'))
                        return false;
        return true;
}

int dnsmasq_argv(const DnsmasqCommand *c, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        char buf[4200];

        if (!path_is_plain_absolute(c->binary) || !path_is_plain_absolute(c->hosts_dir) ||
            !bus_name_is_plain(c->bus_name) || !c->interface || !*c->interface ||
            strlen(c->interface) >= IF_NAMESIZE || !string_is_printable_ascii(c->interface, IF_NAMESIZE))
                return -EINVAL;

        const char *fixed[] = {
                "--keep-in-foreground",
                "--conf-file=/dev/null", /* none of the host's configuration */
                "--no-hosts",
                "--no-resolv",
                "--no-poll",
                "--pid-file=",           /* no pid file: systemd knows the PID */
                "--log-facility=-",
                "--bind-dynamic",        /* only the interface's addresses, following them */
                "--domain-needed",
                "--bogus-priv",
                /* No --stop-dns-rebind: a linked cell's domain answers with private
                 * addresses, and forwards come at run time, where --rebind-domain-ok
                 * cannot follow them. */
                NULL,
        };
        if (strv_extend(&l, c->binary) < 0)
                return -ENOMEM;
        for (const char **f = fixed; *f; f++)
                if (strv_extend(&l, *f) < 0)
                        return -ENOMEM;
        snprintf(buf, sizeof buf, "--enable-dbus=%s", c->bus_name);
        if (strv_extend(&l, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof buf, "--hostsdir=%s", c->hosts_dir);
        if (strv_extend(&l, buf) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof buf, "--interface=%s", c->interface);
        if (strv_extend(&l, buf) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int dns_server_check(const char *s) {
        char address[DNS_SERVER_MAX_LEN];
        unsigned char bin[sizeof(struct in6_addr)];
        const char *port;
        size_t n;

        if (!s || (n = strlen(s)) == 0 || n >= sizeof address)
                return -EINVAL;
        port = strchr(s, '#');
        n = port ? (size_t) (port - s) : n;
        memcpy(address, s, n);
        address[n] = 0;
        if (inet_pton(AF_INET, address, bin) != 1 && inet_pton(AF_INET6, address, bin) != 1)
                return -EINVAL;
        if (port) {
                char *end;
                unsigned long p;

                port++;
                if (*port < '1' || *port > '9')
                        return -EINVAL;
                errno = 0;
                p = strtoul(port, &end, 10);
                if (errno != 0 || *end || p > 65535)
                        return -EINVAL;
        }
        return 0;
}

static int push_domain(char ***l, const char *domain, const char *server) {
        char buf[300 + DNS_SERVER_MAX_LEN];

        if (!dns_domain_is_valid(domain) || (server && dns_server_check(server) < 0))
                return -EINVAL;
        snprintf(buf, sizeof buf, "/%s/%s", domain, strempty(server));
        return strv_extend(l, buf);
}

int dnsmasq_server_list(const char *local_domain, char *const *upstreams, const DnsForward *forwards,
                        size_t n_forwards, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        if (local_domain && (r = push_domain(&l, local_domain, NULL)) < 0)
                return r;
        for (size_t i = 0; i < n_forwards; i++)
                if ((r = push_domain(&l, forwards[i].domain, forwards[i].server)) < 0)
                        return r;
        for (char *const *u = upstreams; u && *u; u++) {
                if (dns_server_check(*u) < 0)
                        return -EINVAL;
                if (strv_extend(&l, *u) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int resolv_conf_servers(const char *path, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));
        _cleanup_(fclosep) FILE *f = NULL;
        char line[512];

        if (!l)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f && errno != ENOENT)
                return -errno;
        while (f && strv_length(l) < DNS_SERVERS_MAX && fgets(line, sizeof line, f)) {
                char *p = line, *end;

                if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t'))
                        continue;
                p += 10;
                p += strspn(p, " \t");
                end = p + strcspn(p, " \t\r\n#;");
                *end = 0;
                if (dns_server_check(p) < 0 || strv_contains(l, p))
                        continue;
                if (strv_extend(&l, p) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
