/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an admin gives for an exit of type "sshuttle", read strictly: the
 * server as user@a.b.c.d[:port] (an IPv4 address: PIC resolves no names for
 * an exit), an OpenSSH private key without a passphrase (the tunnel starts
 * unattended; one with a passphrase is refused by name) and the server's
 * public host key, so the tunnel talks to that server and no other. Model
 * code: no I/O. Messages never quote a key. */

#include <stddef.h>
#include <stdint.h>

#define SSH_KEY_TEXT_MAX (16 * 1024)
#define SSH_HOST_KEY_MAX 2048
#define SSH_USER_MAX 32

typedef struct SshTarget {
        char user[SSH_USER_MAX + 1];
        uint32_t address; /* host order */
        uint16_t port;
} SshTarget;

/* "user@a.b.c.d" or "user@a.b.c.d:port"; -EINVAL with a message in buf. */
int ssh_target_parse(const char *text, SshTarget *ret, char *buf, size_t size);
/* An unencrypted private key in OpenSSH's format; -EINVAL with a message. */
int ssh_private_key_check(const char *text, char *buf, size_t size);
/* "TYPE BASE64 [comment]" as ssh-keyscan or a .pub file has it: the type and
 * the key written to out as "TYPE BASE64"; -EINVAL with a message. */
int ssh_host_key_parse(const char *text, char *out, size_t out_size, char *buf, size_t size);
