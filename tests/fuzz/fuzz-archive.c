/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for backup archives (what Manager.Restore reads from a caller's file):
 * the input is an archive, read whole with the passphrase "fuzz" (and without, when it
 * is plain). Headers asking for more than libsodium's cheapest key derivation are
 * skipped: the reader's own bound (libsodium's "sensitive") is seconds per input.
 *
 * PIC_FUZZ_SEEDS=DIR: writes a plain and an encrypted archive to DIR and exits. */

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/archive.h"

#define PASSPHRASE "fuzz"
#define KDF_OFFSET (9 + 4 + crypto_pwhash_SALTBYTES)

typedef struct Input {
        const uint8_t *data;
        size_t size, pos;
} Input;

static ssize_t input_read(void *userdata, void *buf, size_t size) {
        Input *in = userdata;
        size_t n = size < in->size - in->pos ? size : in->size - in->pos;
        memcpy(buf, in->data + in->pos, n);
        in->pos += n;
        return (ssize_t) n;
}

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Input in = { data, size, 0 };
        char error[ARCHIVE_ERROR_MAX];
        ArchiveReader *r = NULL;
        const char *path;
        const void *content;
        size_t content_size;

        if (size >= KDF_OFFSET + 16 && data[10] == 1 &&
            (le64(data + KDF_OFFSET) > crypto_pwhash_OPSLIMIT_MIN || le64(data + KDF_OFFSET + 8) > crypto_pwhash_MEMLIMIT_MIN))
                return 0;
        if (archive_reader_new(&r, PASSPHRASE, input_read, &in, error) < 0)
                return 0;
        while (archive_reader_next(r, &path, &content, &content_size, error) > 0)
                if (!archive_path_is_valid(path) || content_size > ARCHIVE_FILE_MAX)
                        abort();
        archive_reader_free(r);
        return 0;
}

typedef struct Seed {
        int fd;
} Seed;

static int seed_write(void *userdata, const void *data, size_t size) {
        return write(((Seed *) userdata)->fd, data, size) == (ssize_t) size ? 0 : -EIO;
}

static void write_seed(const char *dir, const char *name, const char *passphrase) {
        static const ArchiveKdf cheap = { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN };
        char path[4096];
        ArchiveWriter *w = NULL;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        Seed s = { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) };
        if (s.fd < 0 || archive_writer_new(&w, passphrase, &cheap, seed_write, &s) < 0 ||
            archive_writer_add(w, "cell.json", "{\"schema\":1}\n", 13) < 0 ||
            archive_writer_add(w, "peers/laptop.json", "{\"schema\":1,\"name\":\"laptop\"}\n", 30) < 0 ||
            archive_writer_add(w, "links/empty.json", "", 0) < 0 || archive_writer_finish(w) < 0) {
                fprintf(stderr, "cannot write %s\n", path);
                exit(EXIT_FAILURE);
        }
        archive_writer_free(w);
        close(s.fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *seeds = getenv("PIC_FUZZ_SEEDS");

        if (seeds) {
                write_seed(seeds, "seed-plain", NULL);
                write_seed(seeds, "seed-encrypted", PASSPHRASE);
                exit(EXIT_SUCCESS);
        }
        return 0;
}
