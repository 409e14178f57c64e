/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "macro.h"
#include "ssh-settings.h"

#define KEY_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define KEY_END "-----END OPENSSH PRIVATE KEY-----"
#define KEY_MAGIC "openssh-key-v1" /* and its NUL */

static int refuse(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static int refuse(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool user_char(char c, bool first) {
        return (c >= 'a' && c <= 'z') || c == '_' || (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

int ssh_target_parse(const char *text, SshTarget *ret, char *buf, size_t size) {
        SshTarget t = { .port = 22 };
        const char *at = text ? strchr(text, '@') : NULL;
        char host[16];

        if (!at || at == text || at - text > SSH_USER_MAX)
                return refuse(buf, size, "Target must be user@address or user@address:port, such as "
                              "pic@192.0.2.10, with a user of 1-%d characters.", SSH_USER_MAX);
        for (const char *p = text; p < at; p++)
                if (!user_char(*p, p == text))
                        return refuse(buf, size, "Target: the user may have a-z, 0-9, '_', '-' and '.', "
                                      "starting with a letter or '_'.");
        memcpy(t.user, text, at - text);
        const char *colon = strchr(at + 1, ':');
        size_t host_len = colon ? (size_t) (colon - at - 1) : strlen(at + 1);
        if (host_len == 0 || host_len >= sizeof host)
                return refuse(buf, size, "Target: the server must be an IPv4 address; PIC does not resolve names "
                              "for an exit.");
        memcpy(host, at + 1, host_len);
        host[host_len] = 0;
        if (ipv4_parse(host, &t.address) < 0)
                return refuse(buf, size, "Target: the server must be an IPv4 address; PIC does not resolve names "
                              "for an exit.");
        if (colon) {
                unsigned long port = 0;
                const char *q = colon + 1;
                size_t digits = 0;
                while (*q >= '0' && *q <= '9' && digits < 6)
                        port = port * 10 + (unsigned long) (*q++ - '0'), digits++;
                if (*q || digits == 0 || port == 0 || port > 65535)
                        return refuse(buf, size, "Target: the port must be 1-65535.");
                t.port = (uint16_t) port;
        }
        *ret = t;
        return 0;
}

/* Reads an SSH "string" (a 32-bit big-endian length, then the bytes) at *p. */
static bool read_string(const uint8_t **p, const uint8_t *end, const uint8_t **ret, uint32_t *ret_len) {
        if (end - *p < 4)
                return false;
        uint32_t len = (uint32_t) (*p)[0] << 24 | (uint32_t) (*p)[1] << 16 | (uint32_t) (*p)[2] << 8 | (*p)[3];
        if ((size_t) (end - *p - 4) < len)
                return false;
        *ret = *p + 4;
        *ret_len = len;
        *p += 4 + (size_t) len;
        return true;
}

int ssh_private_key_check(const char *text, char *buf, size_t size) {
        static const char bad[] = "SshKey must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----, "
                                  "as ssh-keygen writes it).";
        size_t len = text ? strnlen(text, SSH_KEY_TEXT_MAX + 1) : 0;
        if (len > SSH_KEY_TEXT_MAX)
                return refuse(buf, size, "SshKey: the key is over %d bytes.", SSH_KEY_TEXT_MAX);
        if (len < strlen(KEY_BEGIN) || strncmp(text, KEY_BEGIN, strlen(KEY_BEGIN)) != 0)
                return refuse(buf, size, bad);
        const char *body = text + strlen(KEY_BEGIN), *end = strstr(body, KEY_END);
        if (!end)
                return refuse(buf, size, bad);
        for (const char *p = end + strlen(KEY_END); *p; p++)
                if (*p != '\n' && *p != '\r')
                        return refuse(buf, size, "SshKey: one key, and nothing after it.");

        size_t max = (size_t) (end - body);
        uint8_t *bin = malloc(max + 1);
        size_t n = 0;
        if (!bin)
                return -ENOMEM;
        int r = sodium_base642bin(bin, max + 1, body, (size_t) (end - body), "\r\n", &n, NULL,
                                  sodium_base64_VARIANT_ORIGINAL);
        const uint8_t *p = bin, *stop = bin + n, *cipher = NULL, *kdf = NULL, *kdf_options = NULL;
        uint32_t cipher_len = 0, kdf_len = 0, kdf_options_len = 0;
        bool ok = r == 0 && n > sizeof KEY_MAGIC && memcmp(bin, KEY_MAGIC, sizeof KEY_MAGIC) == 0;
        if (ok) {
                p += sizeof KEY_MAGIC;
                ok = read_string(&p, stop, &cipher, &cipher_len) && read_string(&p, stop, &kdf, &kdf_len) &&
                     read_string(&p, stop, &kdf_options, &kdf_options_len) && stop - p >= 4;
        }
        bool encrypted = ok && !(cipher_len == 4 && memcmp(cipher, "none", 4) == 0);
        bool one_key = ok && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 1;
        sodium_memzero(bin, max + 1);
        free(bin);
        if (!ok)
                return refuse(buf, size, bad);
        if (encrypted)
                return refuse(buf, size, "SshKey: the key is protected by a passphrase; PIC starts the tunnel "
                              "unattended and needs a key without one (ssh-keygen -p -N '' -f KEY makes a copy "
                              "without it).");
        if (!one_key)
                return refuse(buf, size, "SshKey: the file must hold exactly one key.");
        return 0;
}

int ssh_host_key_parse(const char *text, char *out, size_t out_size, char *buf, size_t size) {
        static const char *const types[] = { "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                             "ecdsa-sha2-nistp521", "ssh-rsa" };
        static const char bad[] = "HostKey must be the server's public key as ssh-keyscan prints it: a type "
                                  "(ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa), a space and the key in "
                                  "base64.";
        size_t len = text ? strnlen(text, SSH_HOST_KEY_MAX + 1) : 0;
        if (len == 0 || len > SSH_HOST_KEY_MAX)
                return refuse(buf, size, bad);
        const char *space = strchr(text, ' ');
        size_t type_len = space ? (size_t) (space - text) : 0;
        const char *type = NULL;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (type_len == strlen(types[i]) && strncmp(text, types[i], type_len) == 0)
                        type = types[i];
        if (!type)
                return refuse(buf, size, bad);
        /* one line of printable text (a comment may follow the key), one newline at most at its end */
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) text[i] < 0x20 || (unsigned char) text[i] > 0x7e) &&
                    !(text[i] == '\n' && i == len - 1))
                        return refuse(buf, size, bad);
        const char *b64 = space + 1, *b64_end = b64 + strcspn(b64, " \n");
        uint8_t bin[SSH_HOST_KEY_MAX];
        size_t n = 0;
        const uint8_t *p = bin, *blob_type = NULL;
        uint32_t blob_type_len = 0;
        if (b64 == b64_end ||
            sodium_base642bin(bin, sizeof bin, b64, (size_t) (b64_end - b64), NULL, &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            !read_string(&p, bin + n, &blob_type, &blob_type_len) || blob_type_len != strlen(type) ||
            memcmp(blob_type, type, blob_type_len) != 0)
                return refuse(buf, size, "HostKey: the key is not a %s key in base64.", type);
        if ((size_t) (b64_end - text) + 1 > out_size)
                return refuse(buf, size, bad);
        memcpy(out, text, (size_t) (b64_end - text));
        out[b64_end - text] = 0;
        return 0;
}
