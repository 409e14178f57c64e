/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl backup: the cell's state as one archive on standard output (Manager.Backup writes it to the
 * descriptor it is given), and picctl backup inspect: an archive read and verified here with the
 * archive library, pic-celld not asked. picctl restore: an archive's descriptor given to
 * Manager.Restore, then the restarted pic-celld waited for. A passphrase comes from a file or the
 * terminal, is never shown, and is wiped once used. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "archive.h"
#include "picctl.h"
#include "picctl-format.h"
#include "picctl-input.h"
#include "time-util.h"

/* Argon2id on the daemon's side takes seconds, and a polkit password may be typed meanwhile. */
#define BACKUP_CALL_TIMEOUT_USEC (120ULL * 1000ULL * 1000ULL)

#define BACKUP_SYNOPSIS "[--passphrase-file FILE | --no-encrypt] > FILE"
#define INSPECT_SYNOPSIS "[--passphrase-file FILE] [--file FILE | < FILE]"
#define RESTORE_SYNOPSIS "[--passphrase-file FILE] [--replace] [--no-wait] [--file FILE | < FILE]"

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

/* The passphrase typed on the terminal @tty_fd; @twice: typed again, and the same. */
static int ask_passphrase(int tty_fd, const char *prompt, bool twice, char **ret) {
        _cleanup_(erase_and_freep) char *first = NULL, *again = NULL;
        int r = ask_secret(tty_fd, prompt, ARCHIVE_PASSPHRASE_MAX, &first);

        if (r >= 0 && twice)
                r = ask_secret(tty_fd, "The same passphrase again: ", ARCHIVE_PASSPHRASE_MAX, &again);
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
                r = ask_passphrase(STDIN_FILENO, "Passphrase to encrypt the backup with: ", true, &passphrase);
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
/* Where inspect and restore read the archive: --file FILE, else standard input (never a terminal
 * or a closed one). 0: *ret_fd (and *ret_owned_fd for a file) and *ret_what set; else what the verb returns. */
static int open_archive_input(const char *verb, int argc, char *argv[], const char *file, const char *passphrase_file,
                              int *ret_owned_fd, int *ret_fd, const char **ret_what) {
        if (optind < argc)
                return usage_error(verb, "unexpected argument '%s' (give the archive with --file FILE or on "
                                   "standard input)", argv[optind]);
        if (!file && passphrase_file && streq(passphrase_file, "-"))
                return usage_error(verb, "standard input is the archive: the passphrase cannot come from it "
                                   "too (give --file FILE)");
        if (file) {
                int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        int r = negative_errno();
                        return report_error(r, "cannot open %s: %s", file, strerror(-r));
                }
                *ret_owned_fd = *ret_fd = fd;
                *ret_what = file;
                return 0;
        }
        if (fcntl(STDIN_FILENO, F_GETFL) < 0)
                return usage_error(verb, "standard input is closed: give the archive with --file FILE or < FILE");
        if (isatty(STDIN_FILENO))
                return usage_error(verb, "standard input is a terminal: give the archive with --file FILE or "
                                   "< FILE");
        return 0;
}

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
        r = open_archive_input("backup inspect", argc, argv, file, passphrase_file, &file_fd, &fd, &what);
        if (r != 0)
                return r;

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
                r = ask_passphrase(STDIN_FILENO, "Passphrase of the backup: ", false, &passphrase);
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

/* --- picctl restore --- */

/* A restore reads the archive and derives its key (Argon2id), and polkit may ask for a password. */
#define RESTORE_CALL_TIMEOUT_USEC BACKUP_CALL_TIMEOUT_USEC
/* How long pic-celld may take to stop and start again with the restored state. */
#define RESTORE_WAIT_USEC (30ULL * 1000ULL * 1000ULL)
#define RESTORE_POLL_USEC (100ULL * 1000ULL)
/* "PICBACKUP", the format version, the mode: 0 plain, 1 encrypted (archive.h) */
#define HEADER_MAGIC "PICBACKUP"
#define HEADER_MAGIC_LEN (sizeof HEADER_MAGIC - 1)
#define HEADER_LEN (HEADER_MAGIC_LEN + 2)
#define HEADER_MODE_PASSPHRASE 1

static void help_restore(void) {
        printf("picctl restore " RESTORE_SYNOPSIS "\n"
               "\n"
               "Make a backup the cell's state: all the cell has (its settings, keys, peers,\n"
               "links and exits) is replaced by what the archive holds, all of it or nothing.\n"
               "pic-celld then restarts to load it, and picctl waits until it serves again.\n"
               "Nothing changes when the archive does not verify to its end.\n"
               "\n"
               "  --file FILE             Read the archive from FILE, not standard input\n"
               "  --passphrase-file FILE  The passphrase of an encrypted archive is the first\n"
               "                          line of FILE; without it, it is asked for on the\n"
               "                          terminal (with the archive on standard input, the\n"
               "                          controlling terminal), else the restore is refused\n"
               "  --replace               Replace the cell that is set up here: without it, a\n"
               "                          restore is refused on a cell that is set up\n"
               "  --no-wait               Do not wait for pic-celld to serve again\n");
}

/* Whether the archive's first bytes say it is encrypted. Anything else (plain, not an archive, a
 * newer format, too short) is pic-celld's to name: a passphrase would not change its answer. */
static bool header_encrypted(const uint8_t *head, size_t n) {
        return n >= HEADER_LEN && memcmp(head, HEADER_MAGIC, HEADER_MAGIC_LEN) == 0 &&
               head[HEADER_MAGIC_LEN] >= 1 && head[HEADER_MAGIC_LEN] <= ARCHIVE_FORMAT_VERSION &&
               head[HEADER_MAGIC_LEN + 1] == HEADER_MODE_PASSPHRASE;
}

/* Reads the archive's header from @fd: in place from a regular file (its offset, which pic-celld
 * shares, does not move: *ret_consumed false), else from the stream (*ret_consumed true: those
 * bytes must reach pic-celld another way, relay_start()). Returns how many bytes were read. */
static ssize_t peek_header(int fd, uint8_t head[static HEADER_LEN], bool *ret_consumed) {
        struct stat st;
        off_t offset;
        size_t got = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (offset = lseek(fd, 0, SEEK_CUR)) < 0) {
                *ret_consumed = true;
                return read_archive_fd(&fd, head, HEADER_LEN);
        }
        *ret_consumed = false;
        while (got < HEADER_LEN) {
                ssize_t n = pread(fd, head + got, HEADER_LEN - got, offset + (off_t) got);
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

static int write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* A stream whose header was read here: a child writes it and then the rest of the stream into a
 * pipe, whose reading end goes to pic-celld instead. Memory does not grow with the archive. */
typedef struct Relay {
        int read_fd;
        pid_t pid;
} Relay;

static int relay_start(int in_fd, const uint8_t *head, size_t n, Relay *ret) {
        pid_t parent = getpid(), pid;
        int p[2], r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                static uint8_t buf[64 * 1024];

                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_FAILURE);
                (void) signal(SIGPIPE, SIG_DFL); /* pic-celld stopped reading: done */
                close(p[0]);
                if (write_all(p[1], head, n) < 0)
                        _exit(EXIT_FAILURE);
                for (;;) {
                        ssize_t k = read(in_fd, buf, sizeof buf);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                _exit(k < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
                        if (write_all(p[1], buf, (size_t) k) < 0)
                                _exit(EXIT_FAILURE);
                }
        }
        close(p[1]);
        *ret = (Relay) { .read_fd = p[0], .pid = pid };
        return 0;
}

/* Once pic-celld answered: the child is done, or is no longer needed. */
static void relay_stop(Relay *relay) {
        if (relay->read_fd >= 0)
                close(TAKE_FD(relay->read_fd));
        if (relay->pid > 0) {
                (void) kill(relay->pid, SIGTERM);
                while (waitpid(relay->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                relay->pid = 0;
        }
}

/* The passphrase of an encrypted archive: from --passphrase-file, else typed on a terminal: standard
 * input unless it is the archive, else the controlling terminal, else refused. */
static int restore_passphrase(const char *passphrase_file, bool archive_on_stdin, const char *what, char **ret) {
        _cleanup_(closep) int tty_fd = -EBADF;

        if (passphrase_file)
                return read_passphrase_file(passphrase_file, ret);
        if (!archive_on_stdin && isatty(STDIN_FILENO))
                return ask_passphrase(STDIN_FILENO, "Passphrase of the backup: ", false, ret);
        tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (tty_fd >= 0 && isatty(tty_fd))
                return ask_passphrase(tty_fd, "Passphrase of the backup: ", false, ret);
        return report_error(-ENOKEY, "%s is encrypted: give its passphrase with --passphrase-file FILE (there is "
                            "no terminal to ask on)", what);
}

typedef struct CellSetup {
        bool setup_complete;
        char *name;
} CellSetup;

/* pic-celld refuses a restore onto a cell that is set up without Replace: said before a passphrase
 * is typed for nothing. */
static int refuse_without_replace(Context *c) {
        static const BusProperty properties[] = {
                { "SetupComplete", "b", offsetof(CellSetup, setup_complete) },
                { "Name",          "s", offsetof(CellSetup, name)           },
                {}
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        CellSetup cell = {};
        int r;

        r = bus_get_all(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, properties, &cell);
        if (r < 0) {
                free(cell.name);
                return report_parse_error(r);
        }
        if (cell.setup_complete)
                r = report_error(-EEXIST, "Cell %s is set up: a restore replaces all it has (peers, links, exits, "
                                 "keys); give --replace to do that.", strempty(cell.name));
        free(cell.name);
        return r < 0 ? r : 0;
}

/* pic-celld's refusal, in picctl's words where its own name an option of the call ("Replace=true"). */
static int report_restore_error(sd_bus_message *m, const sd_bus_error *e, int r) {
        static const char replace[] = "Replace=true", say[] = "say ";
        const char *at;

        if (sd_bus_error_has_name(e, PIC_ERROR_CONFLICT) && e->message && (at = strstr(e->message, replace))) {
                size_t before = (size_t) (at - e->message);
                if (before >= strlen(say) && strncmp(at - strlen(say), say, strlen(say)) == 0)
                        before -= strlen(say);
                return report_error(r, "%.*sgive --replace%s", (int) before, e->message, at + strlen(replace));
        }
        return bus_report_call_error(m, e, r);
}

/* The unique name that owns org.pic.Cell1, NULL when none does. */
static int name_owner(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *owner;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", &error, &reply, "s", PIC_BUS_NAME);
        if (r < 0) {
                bool none = sd_bus_error_has_name(&error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
                sd_bus_error_free(&error);
                if (!none)
                        return r;
                *ret = NULL;
                return 0;
        }
        r = sd_bus_message_read(reply, "s", &owner);
        if (r < 0)
                return r;
        *ret = strdup(owner);
        return *ret ? 0 : -ENOMEM;
}

/* Whether @destination answers a property read of the Manager within @timeout_usec. */
static bool answers(sd_bus *bus, const char *destination, uint64_t timeout_usec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, destination, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                           "Get");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", PIC_MANAGER_INTERFACE, "Version");
        if (r >= 0)
                r = sd_bus_call(bus, m, timeout_usec, NULL, &reply);
        return r >= 0;
}

/* Until pic-celld is another process than @old_owner (the one that restored) and answers. The service
 * manager restarts it; where there is none, the daemon ended and the read starts it (bus activation). */
static int wait_for_restart(Context *c, const char *old_owner) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + RESTORE_WAIT_USEC, now;
        sd_bus *bus;
        int r;

        r = context_get_bus(c, &bus);
        if (r < 0)
                return r;
        while ((now = now_usec(CLOCK_MONOTONIC)) < deadline) {
                _cleanup_(freep) char *owner = NULL;

                r = name_owner(bus, &owner);
                if (r < 0)
                        return report_error(r, "cannot ask the system bus who serves %s: %s", PIC_BUS_NAME,
                                            strerror(-r));
                if (!owner || !streq_ptr(owner, old_owner)) {
                        uint64_t left = deadline - now;
                        if (answers(bus, owner ? owner : PIC_BUS_NAME, MIN(left, 25ULL * 1000ULL * 1000ULL)))
                                return 0;
                }
                (void) usleep(RESTORE_POLL_USEC);
        }
        return report_error(-ETIMEDOUT, "pic-celld does not serve again after %llu s (the restore itself is "
                            "done: see pic-celld's log)", RESTORE_WAIT_USEC / 1000000ULL);
}

static int append_restore_options(sd_bus_message *m, const char *passphrase, bool replace) {
        int r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && passphrase)
                r = sd_bus_message_append(m, "{sv}", "Passphrase", "s", passphrase);
        if (r >= 0 && replace)
                r = sd_bus_message_append(m, "{sv}", "Replace", "b", 1);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int verb_restore(int argc, char *argv[], Context *c) {
        enum { ARG_PASSPHRASE_FILE = ARG_FIRST_VERB_OPTION, ARG_FILE, ARG_REPLACE, ARG_NO_WAIT };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "passphrase-file", required_argument, NULL, ARG_PASSPHRASE_FILE },
                { "file",            required_argument, NULL, ARG_FILE            },
                { "replace",         no_argument,       NULL, ARG_REPLACE         },
                { "no-wait",         no_argument,       NULL, ARG_NO_WAIT         },
                {}
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(erase_and_freep) char *passphrase = NULL;
        _cleanup_(freep) char *cell = NULL, *old_owner = NULL;
        _cleanup_(closep) int file_fd = -EBADF;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *passphrase_file = NULL, *file = NULL, *what = "the archive on standard input", *name;
        bool replace = false, wait = true, consumed;
        Relay relay = { .read_fd = -EBADF };
        uint8_t head[HEADER_LEN];
        int fd = STDIN_FILENO, opt, r;
        ssize_t n;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_restore();
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
                case ARG_REPLACE:
                        replace = true;
                        break;
                case ARG_NO_WAIT:
                        wait = false;
                        break;
                default:
                        return getopt_usage_error("restore", opt, argv);
                }
        r = open_archive_input("restore", argc, argv, file, passphrase_file, &file_fd, &fd, &what);
        if (r != 0)
                return r;

        n = peek_header(fd, head, &consumed);
        if (n < 0)
                return report_error((int) n, "cannot read %s: %s", what, strerror((int) -n));

        if (header_encrypted(head, (size_t) n)) {
                if (!passphrase_file && !replace) {
                        r = refuse_without_replace(c);
                        if (r < 0)
                                return r;
                }
                r = restore_passphrase(passphrase_file, !file, what, &passphrase);
                if (r < 0)
                        return r;
        }

        if (consumed) {
                r = relay_start(fd, head, (size_t) n, &relay);
                if (r < 0)
                        return report_error(r, "cannot pass %s on to pic-celld: %s", what, strerror(-r));
                fd = relay.read_fd;
        }

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Restore", &m);
        if (r >= 0) {
                r = sd_bus_message_sensitive(m); /* its copy of the passphrase is wiped with it */
                if (r >= 0)
                        r = sd_bus_message_append(m, "h", fd);
                if (r >= 0)
                        r = append_restore_options(m, passphrase, replace);
                if (r < 0)
                        r = report_error(r, "cannot build the Restore call: %s", strerror(-r));
        }
        erase_and_freep(&passphrase);
        passphrase = NULL;
        if (r >= 0) {
                r = bus_call_unreported(c, m, true, RESTORE_CALL_TIMEOUT_USEC, &error, &reply);
                if (r < 0)
                        r = report_restore_error(m, &error, r);
                sd_bus_error_free(&error);
        }
        m = sd_bus_message_unref(m); /* its copy of the descriptor too */
        relay_stop(&relay);
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "s", &name);
        if (r < 0)
                return report_parse_error(r);
        cell = strdup(name);
        if (!cell || (sd_bus_message_get_sender(reply) && !(old_owner = strdup(sd_bus_message_get_sender(reply)))))
                return report_error(-ENOMEM, "out of memory");

        printf("Restored cell %s; pic-celld restarts to load it.\n", cell);
        fflush(stdout);
        if (!wait)
                return 0;
        r = wait_for_restart(c, old_owner);
        if (r < 0)
                return r;
        printf("Cell %s is serving again.\n", cell);
        return 0;
}

int verb_backup(int argc, char *argv[], Context *c) {
        if (argc >= 2 && streq(argv[1], "inspect"))
                return backup_inspect(argc - 1, argv + 1, c);
        return backup_write(argc, argv, c);
}
