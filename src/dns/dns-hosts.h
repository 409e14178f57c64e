/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cell's DNS records as hosts files in a directory dnsmasq watches
 * (--hostsdir): it reads a new or replaced file at once and forgets the
 * records of a removed one. One file per object, so a peer's change rewrites
 * a line, not the whole zone. The files are derived from the state and
 * written again at start, so they are replaced atomically but not fsynced. */

#include <stddef.h>
#include <stdint.h>

#define DNS_HOSTS_FILE_MAX 64 /* a file's name: "peer-" and a peer name fit */

typedef struct DnsHostsText {
        char *data;
        size_t size, allocated;
} DnsHostsText;

void dns_hosts_text_done(DnsHostsText *t);

/* Appends "ADDRESS name…\n" (addr in host order). Names are host names
 * (letters, digits, '-', '_' and '.', at most 253 characters); anything else
 * is -EINVAL, so no name can add a line or a field of its own. */
int dns_hosts_text_add(DnsHostsText *t, uint32_t addr, const char *const *names);

/* Whether @file may name a hosts file: [A-Za-z0-9_-], not starting with '.',
 * shorter than DNS_HOSTS_FILE_MAX. */
int dns_hosts_file_name_check(const char *file);

/* Replaces dir_fd/file with text (0644, readable by an unprivileged dnsmasq). */
int dns_hosts_put(int dir_fd, const char *file, const DnsHostsText *text);
/* Removes dir_fd/file; a file already gone is not an error. */
int dns_hosts_remove(int dir_fd, const char *file);
/* Removes every file of dir_fd whose name is not in keep (NULL-terminated);
 * returns how many. Hidden files (dnsmasq skips them; ours are temp files)
 * go too. */
int dns_hosts_prune(int dir_fd, char *const *keep);
