/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dns-hosts.h"
#include "fileio.h"
#include "macro.h"
#include "strv.h"

#define HOST_NAME_MAX_LEN 253

void dns_hosts_text_done(DnsHostsText *t) {
        free(t->data);
        *t = (DnsHostsText) {};
}

static bool host_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > HOST_NAME_MAX_LEN || s[0] == '.' || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

static int text_append(DnsHostsText *t, const char *s, size_t n) {
        /* +1: the text stays NUL-terminated for debugging and tests. */
        int r = greedy_realloc((void **) &t->data, &t->allocated, t->size + n + 1, 1);
        if (r < 0)
                return r;
        memcpy(t->data + t->size, s, n);
        t->size += n;
        t->data[t->size] = 0;
        return 0;
}

int dns_hosts_text_add(DnsHostsText *t, uint32_t addr, const char *const *names) {
        struct in_addr a = { .s_addr = htonl(addr) };
        char address[INET_ADDRSTRLEN];
        size_t before = t->size;
        int r;

        if (!names || !names[0])
                return -EINVAL;
        for (const char *const *n = names; *n; n++)
                if (!host_name_is_valid(*n))
                        return -EINVAL;

        inet_ntop(AF_INET, &a, address, sizeof address);
        r = text_append(t, address, strlen(address));
        for (const char *const *n = names; r >= 0 && *n; n++) {
                r = text_append(t, " ", 1);
                if (r >= 0)
                        r = text_append(t, *n, strlen(*n));
        }
        if (r >= 0)
                r = text_append(t, "\n", 1);
        if (r < 0) {
                t->size = before; /* never half a line */
                if (t->data)
                        t->data[before] = 0;
        }
        return r;
}

int dns_hosts_file_name_check(const char *file) {
        size_t n = strlen(file);

        if (n == 0 || n >= DNS_HOSTS_FILE_MAX || file[0] == '.')
                return -EINVAL;
        for (const char *p = file; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '_'))
                        return -EINVAL;
        return 0;
}

int dns_hosts_put(int dir_fd, const char *file, const DnsHostsText *text) {
        int r = dns_hosts_file_name_check(file);
        if (r < 0)
                return r;
        return write_file_replace(dir_fd, file, text->data ? text->data : "", text->size, 0644);
}

int dns_hosts_remove(int dir_fd, const char *file) {
        int r = dns_hosts_file_name_check(file);
        if (r < 0)
                return r;
        if (unlinkat(dir_fd, file, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int dns_hosts_prune(int dir_fd, char *const *keep) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r, removed = 0;

        r = opendir_at(dir_fd, &d);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (strv_contains(keep, de->d_name))
                        continue;
                if (unlinkat(dir_fd, de->d_name, 0) < 0 && errno != ENOENT)
                        return -errno;
                removed++;
        }
        if (errno != 0)
                return -errno;
        return removed;
}
