/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl backup: the cell's state as one archive on standard output (Manager.Backup writes it to the
 * descriptor it is given), and picctl backup inspect: an archive read and verified here with the
 * archive library, pic-celld not asked. A passphrase comes from a file or the terminal, is never
 * shown, and is wiped once used. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "archive.h"
#include "picctl.h"
#include "picctl-format.h"
#include "picctl-input.h"

/* Argon2id on the daemon's side takes seconds, and a polkit password may be typed meanwhile. */
#define BACKUP_CALL_TIMEOUT_USEC (120ULL * 1000ULL * 1000ULL)

#define BACKUP_SYNOPSIS "[--passphrase-file FILE | --no-encrypt] > FILE"
#define INSPECT_SYNOPSIS "[--passphrase-file FILE] [--file FILE | < FILE]"

static void help_backup(void) {
        printf("picctl backup " BACKUP_SYNOPSIS "\n"
               "picctl backup inspect " INSPECT_SYNOPSIS "\n"
               "\n"
               "Write the cell's state (its settings, keys and peers) as one archive to standard\n"
               "output, encrypted with a passphrase: asked for twice when standard input is a\n"
               "terminal, or the first line of a file. Keep the archive and its passphrase\n"
               "apart: together they are the cell.\n"
               "\n"
               "  --passphrase-file FILE  The passphrase is the first line of FILE (8 to %d\n"
               "                          bytes; '-': standard input)\n"
               "  --no-encrypt            Write the archive in clear: it then holds the cell's\n"
               "                          private keys for anyone who can read it\n"
               "\n"
               "'picctl backup inspect' verifies an archive to its end and lists its files\n"
               "(see 'picctl backup inspect --help').\n",
               ARCHIVE_PASSPHRASE_MAX);
}

static void help_inspect(void) {
        printf("picctl backup inspect " INSPECT_SYNOPSIS "\n"
               "\n"
               "Read a backup here (pic-celld is not asked), verify all of it, and list its\n"
               "files and their sizes. Nothing is listed from an archive that does not verify.\n"
               "\n"
               "  --file FILE             Read the archive from FILE, not standard input\n"
               "  --passphrase-file FILE  The passphrase of an encrypted archive is the first\n"
               "                          line of FILE; without it, an archive given with --file\n"
               "                          asks for it when standard input is a terminal\n");
}

/* What a passphrase file held, or why not (never quoting it). */
static int read_passphrase_file(const char *path, char **ret) {
        const char *what = streq(path, "-") ? "standard input" : path;
        int r = read_secret_line_file(path, ARCHIVE_PASSPHRASE_MAX, ret);

        if (r == -EFBIG)
                return report_error(r, "the first line of %s is longer than %d bytes: too long for a passphrase",
                                    what, ARCHIVE_PASSPHRASE_MAX);
        if (r == -ENODATA)
                return report_error(r, "the first line of %s is empty: expected the passphrase", what);
        if (r == -EBADMSG)
                return report_error(r, "the first line of %s holds a control character or is not UTF-8: "
                                    "not a passphrase", what);
        if (r < 0)
                return report_error(r, "cannot read %s: %s", what, strerror(-r));
        return 0;
}

/* The passphrase typed on the terminal (standard input); @twice: typed again, and the same. */
static int ask_passphrase(const char *prompt, bool twice, char **ret) {
        _cleanup_(erase_and_freep) char *first = NULL, *again = NULL;
        int r = ask_secret(STDIN_FILENO, prompt, ARCHIVE_PASSPHRASE_MAX, &first);

        if (r >= 0 && twice)
                r = ask_secret(STDIN_FILENO, "The same passphrase again: ", ARCHIVE_PASSPHRASE_MAX, &again);
        if (r == -ENODATA)
                return report_error(r, "no passphrase was typed");
        if (r == -EFBIG)
                return report_error(r, "the passphrase is longer than %d bytes", ARCHIVE_PASSPHRASE_MAX);
        if (r == -EBADMSG)
                return report_error(r, "the passphrase holds a control character or is not UTF-8");
        if (r < 0)
                return report_error(r, "cannot ask for the passphrase on the terminal: %s", strerror(-r));
        if (twice && !streq(first, again))
                return report_error(-EINVAL, "the two passphrases differ; nothing was written");
        *ret = TAKE_PTR(first);
        return 0;
}

/* --- picctl backup --- */

static int append_backup_options(sd_bus_message *m, const char *passphrase) {
        int r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        if (passphrase)
                r = sd_bus_message_append(m, "{sv}", "Passphrase", "s", passphrase);
        else
                r = sd_bus_message_append(m, "{sv}", "Unencrypted", "b", 1);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int backup_write(int argc, char *argv[], Context *c) {
        enum { ARG_PASSPHRASE_FILE = ARG_FIRST_VERB_OPTION, ARG_NO_ENCRYPT };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "passphrase-file", required_argument, NULL, ARG_PASSPHRASE_FILE },
                { "no-encrypt",      no_argument,       NULL, ARG_NO_ENCRYPT      },
                {}
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(erase_and_freep) char *passphrase = NULL;
        const char *passphrase_file = NULL;
        bool no_encrypt = false;
        uint64_t size;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_backup();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_PASSPHRASE_FILE:
                        passphrase_file = optarg;
                        break;
                case ARG_NO_ENCRYPT:
                        no_encrypt = true;
                        break;
                default:
                        return getopt_usage_error("backup", opt, argv);
                }
        if (optind < argc)
                return usage_error("backup", "unexpected argument '%s' (the archive goes to standard output: "
                                   "picctl backup > FILE)", argv[optind]);
        if (passphrase_file && no_encrypt)
                return usage_error("backup", "give --passphrase-file or --no-encrypt, not both");

        /* the archive is binary and, unencrypted, holds private keys: never onto a screen */
        if (fcntl(STDOUT_FILENO, F_GETFL) < 0)
                return usage_error("backup", "standard output is closed: redirect it to a file "
                                   "(picctl backup > FILE)");
        if (isatty(STDOUT_FILENO))
                return usage_error("backup", "standard output is a terminal: redirect it to a file "
                                   "(picctl backup > FILE)");

        if (passphrase_file)
                r = read_passphrase_file(passphrase_file, &passphrase);
        else if (no_encrypt)
                r = 0;
        else if (isatty(STDIN_FILENO))
                r = ask_passphrase("Passphrase to encrypt the backup with: ", true, &passphrase);
        else
                return usage_error("backup", "a backup is encrypted with a passphrase: give --passphrase-file "
                                   "FILE, or --no-encrypt for an archive in clear (standard input is not a "
                                   "terminal to ask on)");
        if (r < 0)
                return r;

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Backup", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_sensitive(m); /* its copy of the passphrase is wiped with it */
        if (r >= 0)
                r = sd_bus_message_append(m, "h", STDOUT_FILENO);
        if (r >= 0)
                r = append_backup_options(m, passphrase);
        if (r < 0)
                return report_error(r, "cannot build the Backup call: %s", strerror(-r));
        erase_and_freep(&passphrase);
        passphrase = NULL;

        r = bus_call_timeout(c, m, true, BACKUP_CALL_TIMEOUT_USEC, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &size);
        if (r < 0)
                return report_parse_error(r);

        if (no_encrypt)
                fprintf(stderr, "WARNING: this archive is NOT encrypted: it holds the cell's private keys in clear.\n"
                                "Anyone who can read it can be this cell. Keep it where only you can read it.\n");
        fprintf(stderr, "Backup written: %" PRIu64 " bytes (%s).\n", size, no_encrypt ? "NOT encrypted" : "encrypted");
        return 0;
}

/* --- picctl backup inspect --- */

static ssize_t read_archive_fd(void *userdata, void *buf, size_t size) {
        int fd = *(int *) userdata;
        size_t got = 0;

        while (got < size) {
                ssize_t n = read(fd, (uint8_t *) buf + got, size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        return (ssize_t) got;
}

typedef struct ArchiveFile {
        char *path;
        size_t size;
} ArchiveFile;

typedef struct ArchiveListing {
        ArchiveFile *files;
        size_t n, allocated;
} ArchiveListing;

static void archive_listing_done(ArchiveListing *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->files[i].path);
        free(l->files);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(ArchiveReader *, archive_reader_free);

/* Reads every file to the verified end; @what names the input in messages. */
static int archive_list(ArchiveReader *reader, const char *what, ArchiveListing *l) {
        char error[ARCHIVE_ERROR_MAX] = "";
        const char *path;
        const void *data;
        size_t size;
        int r;

        while ((r = archive_reader_next(reader, &path, &data, &size, error)) > 0) {
                if (greedy_realloc((void **) &l->files, &l->allocated, l->n + 1, sizeof *l->files) < 0)
                        return report_error(-ENOMEM, "out of memory");
                l->files[l->n] = (ArchiveFile) { .path = strdup(path), .size = size };
                if (!l->files[l->n].path)
                        return report_error(-ENOMEM, "out of memory");
                l->n++;
        }
        if (r < 0)
                return report_error(r, "%s: %s", what, error);
        return 0;
}

static int compare_paths(const void *a, const void *b) {
        return strcmp(((const ArchiveFile *) a)->path, ((const ArchiveFile *) b)->path);
}

/* In path order (the archive has them in the state directory's). */
static void archive_listing_print(ArchiveListing *l, bool encrypted) {
        static const char *const header[2] = { "PATH", "BYTES" };
        size_t width[2] = { strlen(header[0]), strlen(header[1]) };
        char bytes[24];

        if (l->n > 1)
                qsort(l->files, l->n, sizeof *l->files, compare_paths);
        for (size_t i = 0; i < l->n; i++)
                width[0] = MAX(width[0], strlen(l->files[i].path));
        print_table_row(header, width, 2);
        for (size_t i = 0; i < l->n; i++) {
                snprintf(bytes, sizeof bytes, "%zu", l->files[i].size);
                print_table_row((const char *const[]) { l->files[i].path, bytes }, width, 2);
        }
        printf("Whole: %zu file%s, %s.\n", l->n, l->n == 1 ? "" : "s", encrypted ? "encrypted" : "NOT encrypted");
}

static int backup_inspect(int argc, char *argv[], Context *c) {
        enum { ARG_PASSPHRASE_FILE = ARG_FIRST_VERB_OPTION, ARG_FILE };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "passphrase-file", required_argument, NULL, ARG_PASSPHRASE_FILE },
                { "file",            required_argument, NULL, ARG_FILE            },
                {}
        };
        _cleanup_(archive_reader_freep) ArchiveReader *reader = NULL;
        _cleanup_(archive_listing_done) ArchiveListing listing = {};
        _cleanup_(erase_and_freep) char *passphrase = NULL;
        _cleanup_(closep) int file_fd = -EBADF;
        const char *passphrase_file = NULL, *file = NULL, *what = "standard input";
        char error[ARCHIVE_ERROR_MAX] = "";
        int fd = STDIN_FILENO, opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_inspect();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_PASSPHRASE_FILE:
                        passphrase_file = optarg;
                        break;
                case ARG_FILE:
                        file = optarg;
                        break;
                default:
                        return getopt_usage_error("backup inspect", opt, argv);
                }
        if (optind < argc)
                return usage_error("backup inspect", "unexpected argument '%s' (give the archive with --file FILE "
                                   "or on standard input)", argv[optind]);
        if (!file && passphrase_file && streq(passphrase_file, "-"))
                return usage_error("backup inspect", "standard input is the archive: the passphrase cannot come "
                                   "from it too (give --file FILE)");

        if (file) {
                file_fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (file_fd < 0) {
                        r = negative_errno();
                        return report_error(r, "cannot open %s: %s", file, strerror(-r));
                }
                fd = file_fd;
                what = file;
        } else if (isatty(STDIN_FILENO))
                return usage_error("backup inspect", "standard input is a terminal: give the archive with "
                                   "--file FILE or < FILE");

        if (passphrase_file) {
                r = read_passphrase_file(passphrase_file, &passphrase);
                if (r < 0)
                        return r;
        }

        r = archive_reader_new(&reader, passphrase, read_archive_fd, &fd, error);
        if (r == -ENOKEY && !passphrase_file) {
                /* encrypted: asked for once, then read again from its start, which standard input cannot */
                if (!file)
                        return report_error(r, "the archive is encrypted: --passphrase-file is needed for an "
                                            "encrypted archive on standard input");
                if (!isatty(STDIN_FILENO))
                        return report_error(r, "%s is encrypted: give its passphrase with --passphrase-file "
                                            "FILE (standard input is not a terminal to ask on)", file);
                if (lseek(fd, 0, SEEK_SET) < 0) {
                        r = negative_errno();
                        return report_error(r, "%s is encrypted and cannot be read again once asked (%s): give "
                                            "its passphrase with --passphrase-file FILE", file, strerror(-r));
                }
                r = ask_passphrase("Passphrase of the backup: ", false, &passphrase);
                if (r < 0)
                        return r;
                r = archive_reader_new(&reader, passphrase, read_archive_fd, &fd, error);
        }
        if (r < 0)
                return report_error(r, "%s: %s", what, error);
        erase_and_freep(&passphrase); /* the key is derived */
        passphrase = NULL;

        r = archive_list(reader, what, &listing);
        if (r < 0)
                return r;
        archive_listing_print(&listing, archive_reader_encrypted(reader));
        return 0;
}

int verb_backup(int argc, char *argv[], Context *c) {
        if (argc >= 2 && streq(argv[1], "inspect"))
                return backup_inspect(argc - 1, argv + 1, c);
        return backup_write(argc, argv, c);
}
