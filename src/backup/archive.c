/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "archive.h"
#include "macro.h"

#define MAGIC "PICBACKUP"
#define MAGIC_LEN (sizeof MAGIC - 1)
#define FIXED_HEADER_LEN (MAGIC_LEN + 4)
#define KDF_HEADER_LEN (crypto_pwhash_SALTBYTES + 16 + crypto_secretstream_xchacha20poly1305_HEADERBYTES)
#define HEADER_MAX (FIXED_HEADER_LEN + KDF_HEADER_LEN)
#define MODE_PLAIN 0
#define MODE_PASSPHRASE 1
#define CHUNK_PLAIN 65536
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CHUNK_MAX (CHUNK_PLAIN + ABYTES) /* either kind's largest chunk on the wire */
#define CHECKSUM_LEN crypto_generichash_BYTES
#define ENTRY_FILE 1
#define ENTRY_END 0
#define ENTRY_HEAD_MAX (1 + 2 + ARCHIVE_PATH_MAX + 4)
/* What an archive may ask of the reader's memory and time: libsodium's "sensitive" at most. */
#define KDF_OPSLIMIT_MAX crypto_pwhash_OPSLIMIT_SENSITIVE
#define KDF_MEMLIMIT_MAX crypto_pwhash_MEMLIMIT_SENSITIVE

struct ArchiveWriter {
        ArchiveWriteFunc write;
        void *userdata;
        bool encrypted, first, finished;
        int error; /* sticky: once a write failed, nothing more goes out */
        crypto_secretstream_xchacha20poly1305_state stream;
        crypto_generichash_state checksum;
        uint8_t header[HEADER_MAX];
        size_t header_len;
        uint8_t plain[CHUNK_PLAIN];
        size_t plain_len;
        uint8_t out[4 + 1 + CHUNK_MAX];
};

struct ArchiveReader {
        ArchiveReadFunc read;
        void *userdata;
        bool encrypted, final, ended;
        uint64_t offset; /* of the next chunk, for messages */
        crypto_secretstream_xchacha20poly1305_state stream;
        crypto_generichash_state checksum;
        uint8_t header[HEADER_MAX];
        size_t header_len;
        uint8_t wire[4 + CHUNK_MAX];
        uint8_t *plain; /* entries not yet handed out, from consumed on */
        size_t plain_len, consumed, plain_size;
        char path[ARCHIVE_PATH_MAX + 1];
};

ArchiveKdf archive_kdf_default(void) {
        return (ArchiveKdf) { crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE };
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

bool archive_path_is_valid(const char *path) {
        size_t len = strnlen(path, ARCHIVE_PATH_MAX + 1), part = 0;

        if (len == 0 || len > ARCHIVE_PATH_MAX)
                return false;
        for (size_t i = 0; i <= len; i++) {
                char c = path[i];
                if (c == '/' || c == 0) {
                        /* no empty, "." or ".." part (nor a leading or trailing '/') */
                        if (part == 0 || (part == 1 && path[i - 1] == '.') ||
                            (part == 2 && path[i - 1] == '.' && path[i - 2] == '.'))
                                return false;
                        part = 0;
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                           c == '_' || c == '-')
                        part++;
                else
                        return false;
        }
        return true;
}

/* ---- writing ---- */

static int emit(ArchiveWriter *w, const void *data, size_t size) {
        if (w->error == 0)
                w->error = w->write(w->userdata, data, size);
        return w->error;
}

static int flush_chunk(ArchiveWriter *w, bool final) {
        size_t len;

        if (w->encrypted) {
                unsigned long long clen;
                crypto_secretstream_xchacha20poly1305_push(
                        &w->stream, w->out + 4, &clen, w->plain, w->plain_len, w->first ? w->header : NULL,
                        w->first ? w->header_len : 0,
                        final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
                len = (size_t) clen;
        } else {
                w->out[4] = final;
                memcpy(w->out + 5, w->plain, w->plain_len);
                len = 1 + w->plain_len;
        }
        put_le(w->out, len, 4);
        if (!w->encrypted)
                crypto_generichash_update(&w->checksum, w->out, 4 + len);
        w->first = false;
        sodium_memzero(w->plain, w->plain_len);
        w->plain_len = 0;
        return emit(w, w->out, 4 + len);
}

static int append(ArchiveWriter *w, const void *data, size_t size) {
        const uint8_t *p = data;

        while (size > 0) {
                size_t n = MIN(size, sizeof w->plain - w->plain_len);
                memcpy(w->plain + w->plain_len, p, n);
                w->plain_len += n;
                p += n;
                size -= n;
                if (w->plain_len == sizeof w->plain) {
                        int r = flush_chunk(w, false);
                        if (r < 0)
                                return r;
                }
        }
        return w->error;
}

int archive_writer_new(ArchiveWriter **ret, const char *passphrase, const ArchiveKdf *kdf, ArchiveWriteFunc write,
                       void *userdata) {
        ArchiveKdf k = kdf ? *kdf : archive_kdf_default();
        uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];

        if (sodium_init() < 0)
                return -EIO;
        if (passphrase && strnlen(passphrase, ARCHIVE_PASSPHRASE_MAX + 1) > ARCHIVE_PASSPHRASE_MAX)
                return -E2BIG;
        ArchiveWriter *w = calloc(1, sizeof *w); /* wiped when freed: it holds the stream key and plaintext */
        if (!w)
                return -ENOMEM;
        w->write = write;
        w->userdata = userdata;
        w->encrypted = passphrase != NULL;
        w->first = true;

        memcpy(w->header, MAGIC, MAGIC_LEN);
        w->header[MAGIC_LEN] = ARCHIVE_FORMAT_VERSION;
        w->header[MAGIC_LEN + 1] = w->encrypted ? MODE_PASSPHRASE : MODE_PLAIN;
        w->header_len = FIXED_HEADER_LEN;
        if (w->encrypted) {
                uint8_t *salt = w->header + FIXED_HEADER_LEN;
                randombytes_buf(salt, crypto_pwhash_SALTBYTES);
                put_le(salt + crypto_pwhash_SALTBYTES, k.opslimit, 8);
                put_le(salt + crypto_pwhash_SALTBYTES + 8, k.memlimit, 8);
                if (crypto_pwhash(key, sizeof key, passphrase, strlen(passphrase), salt, k.opslimit, (size_t) k.memlimit,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
                        archive_writer_free(w);
                        return -ENOMEM; /* libsodium: out of memory for the KDF */
                }
                crypto_secretstream_xchacha20poly1305_init_push(&w->stream, salt + crypto_pwhash_SALTBYTES + 16, key);
                sodium_memzero(key, sizeof key);
                w->header_len += KDF_HEADER_LEN;
        } else {
                crypto_generichash_init(&w->checksum, NULL, 0, CHECKSUM_LEN);
                crypto_generichash_update(&w->checksum, w->header, w->header_len);
        }
        int r = emit(w, w->header, w->header_len);
        if (r < 0) {
                archive_writer_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

int archive_writer_add(ArchiveWriter *w, const char *path, const void *data, size_t size) {
        uint8_t head[ENTRY_HEAD_MAX];
        size_t len;

        if (w->finished)
                return -EINVAL;
        if (!archive_path_is_valid(path))
                return -EINVAL;
        if (size > ARCHIVE_FILE_MAX)
                return -EFBIG;
        len = strlen(path);
        head[0] = ENTRY_FILE;
        put_le(head + 1, len, 2);
        memcpy(head + 3, path, len);
        put_le(head + 3 + len, size, 4);
        int r = append(w, head, 3 + len + 4);
        return r < 0 ? r : append(w, data, size);
}

int archive_writer_finish(ArchiveWriter *w) {
        uint8_t end = ENTRY_END, checksum[CHECKSUM_LEN];

        if (w->finished)
                return -EINVAL;
        w->finished = true;
        int r = append(w, &end, 1);
        if (r >= 0)
                r = flush_chunk(w, true);
        if (r >= 0 && !w->encrypted) {
                crypto_generichash_final(&w->checksum, checksum, sizeof checksum);
                r = emit(w, checksum, sizeof checksum);
        }
        return r;
}

ArchiveWriter *archive_writer_free(ArchiveWriter *w) {
        if (w) {
                sodium_memzero(w, sizeof *w);
                free(w);
        }
        return NULL;
}

/* ---- reading ---- */

static int fail(char error[ARCHIVE_ERROR_MAX], int r, const char *format, ...) _printf_(3, 4);
static int fail(char error[ARCHIVE_ERROR_MAX], int r, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(error, ARCHIVE_ERROR_MAX, format, ap);
        va_end(ap);
        return r;
}

/* 1: all of it; 0: nothing was left; -EPIPE: it ended part way; other: the read failed. */
static int read_exact(ArchiveReader *r, void *buf, size_t size) {
        size_t got = 0;

        while (got < size) {
                ssize_t n = r->read(r->userdata, (uint8_t *) buf + got, size - got);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        return got == 0 ? 0 : -EPIPE;
                got += (size_t) n;
        }
        return 1;
}

static int read_failed(int k, char error[ARCHIVE_ERROR_MAX]) {
        if (k == 0 || k == -EPIPE)
                return fail(error, -EBADMSG, "The archive is truncated: it ends before its last part.");
        return fail(error, k, "Cannot read the archive: %s.", strerror(-k));
}

/* Reads and opens the next chunk, its plaintext appended to r->plain. */
static int read_chunk(ArchiveReader *r, char error[ARCHIVE_ERROR_MAX]) {
        uint8_t len_le[4];
        int k = read_exact(r, len_le, sizeof len_le);
        if (k <= 0)
                return read_failed(k, error);
        size_t len = (size_t) get_le(len_le, 4);
        if (len < (r->encrypted ? ABYTES : 1) || len > (r->encrypted ? CHUNK_MAX : 1 + CHUNK_PLAIN))
                return fail(error, -EBADMSG, "The archive is damaged: a part at byte %llu has an impossible size.",
                            (unsigned long long) r->offset);
        k = read_exact(r, r->wire, len);
        if (k <= 0)
                return read_failed(k, error);

        /* room for it: what was handed out goes first */
        if (r->consumed > 0) {
                memmove(r->plain, r->plain + r->consumed, r->plain_len - r->consumed);
                r->plain_len -= r->consumed;
                r->consumed = 0;
        }
        if (r->plain_len + CHUNK_PLAIN > r->plain_size) {
                size_t size = r->plain_len + CHUNK_PLAIN;
                uint8_t *p = realloc(r->plain, size);
                if (!p)
                        return fail(error, -ENOMEM, "Out of memory reading the archive.");
                r->plain = p;
                r->plain_size = size;
        }
        if (r->encrypted) {
                unsigned long long mlen;
                unsigned char tag;
                bool first = r->offset == r->header_len;
                if (crypto_secretstream_xchacha20poly1305_pull(&r->stream, r->plain + r->plain_len, &mlen, &tag, r->wire,
                                                               len, first ? r->header : NULL,
                                                               first ? r->header_len : 0) != 0)
                        return first ? fail(error, -EKEYREJECTED,
                                            "The passphrase is wrong (or the archive's beginning was altered).")
                                     : fail(error, -EBADMSG,
                                            "The archive was altered or damaged: its part at byte %llu does not verify.",
                                            (unsigned long long) r->offset);
                r->final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
                r->plain_len += (size_t) mlen;
        } else {
                if (r->wire[0] > 1)
                        return fail(error, -EBADMSG, "The archive is damaged: a part at byte %llu has a bad flag.",
                                    (unsigned long long) r->offset);
                crypto_generichash_update(&r->checksum, len_le, sizeof len_le);
                crypto_generichash_update(&r->checksum, r->wire, len);
                r->final = r->wire[0] == 1;
                memcpy(r->plain + r->plain_len, r->wire + 1, len - 1);
                r->plain_len += len - 1;
        }
        r->offset += sizeof len_le + len;
        return 0;
}

int archive_reader_new(ArchiveReader **ret, const char *passphrase, ArchiveReadFunc read, void *userdata,
                       char error[ARCHIVE_ERROR_MAX]) {
        uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
        int k;

        if (sodium_init() < 0)
                return fail(error, -EIO, "libsodium cannot start.");
        ArchiveReader *r = calloc(1, sizeof *r);
        if (!r)
                return fail(error, -ENOMEM, "Out of memory reading the archive.");
        r->read = read;
        r->userdata = userdata;

        k = read_exact(r, r->header, FIXED_HEADER_LEN);
        if (k < 0 && k != -EPIPE) {
                read_failed(k, error);
                goto fail;
        }
        if (k <= 0 || memcmp(r->header, MAGIC, MAGIC_LEN) != 0) {
                k = fail(error, -EBADMSG, "This is not a PIC backup (it does not begin as one).");
                goto fail;
        }
        uint8_t version = r->header[MAGIC_LEN], mode = r->header[MAGIC_LEN + 1];
        if (version > ARCHIVE_FORMAT_VERSION) {
                k = fail(error, -EPROTONOSUPPORT,
                         "The backup was made by a newer PIC (archive format %u; this one reads format %u at most).",
                         version, ARCHIVE_FORMAT_VERSION);
                goto fail;
        }
        if (version == 0 || mode > MODE_PASSPHRASE || r->header[MAGIC_LEN + 2] || r->header[MAGIC_LEN + 3]) {
                k = fail(error, -EBADMSG, "The archive's header is damaged.");
                goto fail;
        }
        r->header_len = FIXED_HEADER_LEN;
        r->encrypted = mode == MODE_PASSPHRASE;
        if (r->encrypted) {
                uint8_t *salt = r->header + FIXED_HEADER_LEN;
                k = read_exact(r, salt, KDF_HEADER_LEN);
                if (k <= 0) {
                        read_failed(k, error);
                        k = k < 0 && k != -EPIPE ? k : -EBADMSG;
                        goto fail;
                }
                r->header_len += KDF_HEADER_LEN;
                uint64_t ops = get_le(salt + crypto_pwhash_SALTBYTES, 8), mem = get_le(salt + crypto_pwhash_SALTBYTES + 8, 8);
                if (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN || ops > KDF_OPSLIMIT_MAX ||
                    mem > KDF_MEMLIMIT_MAX) {
                        k = fail(error, -E2BIG, "The archive asks for a key derivation beyond what a backup may "
                                                "(at most %llu passes and %llu MiB).",
                                 (unsigned long long) KDF_OPSLIMIT_MAX, (unsigned long long) (KDF_MEMLIMIT_MAX >> 20));
                        goto fail;
                }
                if (!passphrase) {
                        k = fail(error, -ENOKEY, "The archive is encrypted: its passphrase is needed.");
                        goto fail;
                }
                if (crypto_pwhash(key, sizeof key, passphrase, strlen(passphrase), salt, ops, (size_t) mem,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
                        k = fail(error, -ENOMEM, "Out of memory deriving the archive's key.");
                        goto fail;
                }
                k = crypto_secretstream_xchacha20poly1305_init_pull(&r->stream, salt + crypto_pwhash_SALTBYTES + 16, key);
                sodium_memzero(key, sizeof key);
                if (k != 0) {
                        k = fail(error, -EBADMSG, "The archive's header is damaged.");
                        goto fail;
                }
        } else {
                crypto_generichash_init(&r->checksum, NULL, 0, CHECKSUM_LEN);
                crypto_generichash_update(&r->checksum, r->header, r->header_len);
        }
        r->offset = r->header_len;
        k = read_chunk(r, error); /* a wrong passphrase shows here, before any file */
        if (k < 0)
                goto fail;
        *ret = r;
        return 0;
fail:
        archive_reader_free(r);
        return k;
}

/* After the last chunk: the checksum (plain) and nothing more. */
static int verify_end(ArchiveReader *r, char error[ARCHIVE_ERROR_MAX]) {
        uint8_t byte;

        if (!r->encrypted) {
                uint8_t want[CHECKSUM_LEN], got[CHECKSUM_LEN];
                int k = read_exact(r, got, sizeof got);
                if (k <= 0)
                        return read_failed(k, error);
                crypto_generichash_final(&r->checksum, want, sizeof want);
                if (sodium_memcmp(want, got, sizeof want) != 0)
                        return fail(error, -EBADMSG, "The archive was altered or damaged: its checksum does not match.");
        }
        int k = read_exact(r, &byte, 1);
        if (k < 0 && k != -EPIPE)
                return read_failed(k, error);
        if (k > 0)
                return fail(error, -EBADMSG, "Something follows the end of the archive: it was altered.");
        r->ended = true;
        return 0;
}

/* At least n bytes of plaintext from consumed on, or an error. */
static int need(ArchiveReader *r, size_t n, char error[ARCHIVE_ERROR_MAX]) {
        while (r->plain_len - r->consumed < n) {
                if (r->final)
                        return fail(error, -EBADMSG, "The archive is damaged: it ends inside a file.");
                int k = read_chunk(r, error);
                if (k < 0)
                        return k;
        }
        return 0;
}

int archive_reader_next(ArchiveReader *r, const char **ret_path, const void **ret_data, size_t *ret_size,
                        char error[ARCHIVE_ERROR_MAX]) {
        int k;

        if (r->ended)
                return 0;
        k = need(r, 1, error);
        if (k < 0)
                return k;
        uint8_t type = r->plain[r->consumed];
        if (type == ENTRY_END) {
                r->consumed++;
                if (r->consumed != r->plain_len || !r->final)
                        return fail(error, -EBADMSG, "The archive is damaged: something follows its end mark.");
                return verify_end(r, error);
        }
        if (type != ENTRY_FILE)
                return fail(error, -EBADMSG, "The archive is damaged: an entry of unknown type %u.", type);
        k = need(r, 3, error);
        if (k < 0)
                return k;
        size_t path_len = (size_t) get_le(r->plain + r->consumed + 1, 2);
        if (path_len == 0 || path_len > ARCHIVE_PATH_MAX)
                return fail(error, -EBADMSG, "The archive is damaged: a file name of %zu bytes.", path_len);
        k = need(r, 3 + path_len + 4, error);
        if (k < 0)
                return k;
        memcpy(r->path, r->plain + r->consumed + 3, path_len);
        r->path[path_len] = 0;
        if (!archive_path_is_valid(r->path))
                return fail(error, -EBADMSG, "The archive is damaged: a file name that is not a state file's.");
        size_t size = (size_t) get_le(r->plain + r->consumed + 3 + path_len, 4);
        if (size > ARCHIVE_FILE_MAX)
                return fail(error, -EBADMSG, "The archive is damaged: %s would be %zu bytes (at most %d).", r->path,
                            size, ARCHIVE_FILE_MAX);
        k = need(r, 3 + path_len + 4 + size, error);
        if (k < 0)
                return k;
        *ret_path = r->path;
        *ret_data = r->plain + r->consumed + 3 + path_len + 4;
        *ret_size = size;
        r->consumed += 3 + path_len + 4 + size;
        return 1;
}

bool archive_reader_encrypted(const ArchiveReader *r) {
        return r->encrypted;
}

ArchiveReader *archive_reader_free(ArchiveReader *r) {
        if (!r)
                return NULL;
        if (r->plain) {
                sodium_memzero(r->plain, r->plain_size);
                free(r->plain);
        }
        sodium_memzero(r, sizeof *r);
        free(r);
        return NULL;
}
