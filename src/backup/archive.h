/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A cell's backup archive: named files (a state directory's relative paths
 * and contents) in one stream, encrypted with a passphrase (Argon2id, then
 * libsodium's secretstream in 64 KiB chunks, the last one tagged FINAL) or,
 * only when asked for, plain with a BLAKE2b checksum at the end. Streamed
 * both ways: memory does not grow with the archive. No I/O here: bytes go
 * out and come in through callbacks.
 *
 * Layout: "PICBACKUP" version(1) mode(1) reserved(2 zero), then for an
 * encrypted archive salt(16) opslimit(8, LE) memlimit(8, LE) and the
 * secretstream header(24), all of it authenticated with the first chunk.
 * Then chunks: length(4, LE) and that many bytes (a plain chunk starts with
 * a flag byte, 1 on the last one; the last plain chunk is followed by the
 * checksum of everything before it). Inside, entries: type(1: 1 a file, 0
 * the end), path length(2, LE), path, size(4, LE), contents. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARCHIVE_FORMAT_VERSION 1
#define ARCHIVE_PATH_MAX 255
#define ARCHIVE_FILE_MAX (1024 * 1024) /* a state file's bound (STATE_FILE_MAX) */
#define ARCHIVE_PASSPHRASE_MAX 1024
#define ARCHIVE_ERROR_MAX 256

typedef struct ArchiveKdf {
        uint64_t opslimit, memlimit; /* Argon2id's, as crypto_pwhash takes them */
} ArchiveKdf;

/* What a backup uses unless told otherwise (libsodium's "moderate"). */
ArchiveKdf archive_kdf_default(void);

/* Returns 0 or a negative errno (the write failed: the archive is unusable). */
typedef int (*ArchiveWriteFunc)(void *userdata, const void *data, size_t size);
/* Returns the bytes read (fewer only at the end), 0 at the end, or a negative errno. */
typedef ssize_t (*ArchiveReadFunc)(void *userdata, void *buf, size_t size);

typedef struct ArchiveWriter ArchiveWriter;
typedef struct ArchiveReader ArchiveReader;

/* passphrase NULL: a plain archive. kdf NULL: archive_kdf_default(). */
int archive_writer_new(ArchiveWriter **ret, const char *passphrase, const ArchiveKdf *kdf, ArchiveWriteFunc write,
                       void *userdata);
/* path: relative, of [A-Za-z0-9._-] parts joined by '/', none "." or "..". */
int archive_writer_add(ArchiveWriter *w, const char *path, const void *data, size_t size);
/* The end entry, the last chunk (and checksum): only then is the archive whole. */
int archive_writer_finish(ArchiveWriter *w);
ArchiveWriter *archive_writer_free(ArchiveWriter *w);

/* Reads the header (and derives the key). error: why not, for a person (never the passphrase).
 * -EBADMSG: not an archive or altered; -EPROTONOSUPPORT: a newer format; -ENOKEY: a passphrase is
 * needed; -EKEYREJECTED: the passphrase is wrong; -E2BIG: it asks for more than we allow. */
int archive_reader_new(ArchiveReader **ret, const char *passphrase, ArchiveReadFunc read, void *userdata,
                       char error[ARCHIVE_ERROR_MAX]);
/* 1 and the next file (valid until the next call), 0 at the verified end (nothing may follow),
 * or a negative errno with error set (-EBADMSG: altered or truncated). */
int archive_reader_next(ArchiveReader *r, const char **ret_path, const void **ret_data, size_t *ret_size,
                        char error[ARCHIVE_ERROR_MAX]);
bool archive_reader_encrypted(const ArchiveReader *r);
ArchiveReader *archive_reader_free(ArchiveReader *r);

/* Whether path is one archive_writer_add() takes (and the reader gives). */
bool archive_path_is_valid(const char *path);
