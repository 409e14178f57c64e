/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup-bus.h"
#include "backup.h"
#include "bus-api.h"
#include "bus-dict.h"
#include "cell-apply.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "polkit.h"
#include "thread-job.h"

#define PASSPHRASE_MIN 8

/* A backup being written by its thread. */
struct BackupJob {
        Manager *manager;
        sd_bus_message *message;
        int out_fd;
        char *passphrase; /* wiped when freed; NULL: plain, as asked */
        ThreadJob *thread;
        int result;
        BackupResult outcome;
};

static BackupJob *job_free(BackupJob *j) {
        if (!j)
                return NULL;
        sd_bus_message_unref(j->message);
        if (j->out_fd >= 0)
                close(j->out_fd);
        erase_and_freep(&j->passphrase);
        free(j);
        return NULL;
}

static void backup_work(void *userdata, int abort_fd) {
        BackupJob *j = userdata;
        j->result = backup_write_archive(j->manager->state_fd, j->out_fd, abort_fd, j->passphrase, NULL, &j->outcome);
}

static void job_end(Manager *m) {
        int r = backup_snapshot_remove(m->state_fd);
        if (r < 0)
                log_warning_errno(r, "Cannot remove the backup snapshot: %m");
        m->backup = NULL;
}

static void backup_done(void *userdata) {
        BackupJob *j = userdata;

        job_end(j->manager);
        if (j->result < 0) {
                log_warning("Backup failed: %s", j->outcome.error);
                (void) sd_bus_reply_method_errorf(j->message, PIC_ERROR_FAILED, "%s", j->outcome.error);
        } else {
                log_info("Backup written: %zu files, %llu bytes, %s.", j->outcome.files,
                         (unsigned long long) j->outcome.bytes, j->passphrase ? "encrypted" : "NOT encrypted (as asked)");
                (void) sd_bus_reply_method_return(j->message, "t", j->outcome.bytes);
        }
        job_free(j);
}

void backup_bus_abandon(Manager *m) {
        BackupJob *j = m->backup;

        if (!j)
                return;
        /* stopping: the thread ends at its next write, whatever the receiving end does */
        thread_job_abandon(j->thread);
        job_end(m);
        job_free(j);
}

typedef struct BackupOptions {
        const char *passphrase;
        bool has_passphrase;
        int unencrypted;
        bool has_unencrypted;
} BackupOptions;

static int read_options(sd_bus_message *message, BackupOptions *o, sd_bus_error *error) {
        const BusDictField fields[] = {
                { "Passphrase", 's', &o->passphrase, &o->has_passphrase },
                { "Unencrypted", 'b', &o->unencrypted, &o->has_unencrypted },
        };
        int r = bus_read_dict(message, fields, ELEMENTSOF(fields), error);
        if (r < 0)
                return r;
        if (o->has_passphrase && o->has_unencrypted && o->unencrypted)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Passphrase and Unencrypted: give one, not both.");
        if (!o->has_passphrase && !(o->has_unencrypted && o->unencrypted))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Passphrase: a backup is encrypted with one; without, say Unencrypted=true.");
        if (o->has_passphrase) {
                size_t len = strnlen(o->passphrase, ARCHIVE_PASSPHRASE_MAX + 1);
                if (len < PASSPHRASE_MIN || len > ARCHIVE_PASSPHRASE_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Passphrase: %d to %d characters.", PASSPHRASE_MIN,
                                                 ARCHIVE_PASSPHRASE_MAX);
        }
        return 0;
}

/* A duplicate of the caller's descriptor that can be written, or a named refusal. */
int backup_bus_take_fd(int fd, bool writing, sd_bus_error *error) {
        struct stat st;
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fstat(fd, &st) < 0)
                return sd_bus_error_set_errno(error, errno);
        if ((flags & O_ACCMODE) == (writing ? O_RDONLY : O_WRONLY) || S_ISDIR(st.st_mode))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        writing ? "fd: not open for writing (a file, a pipe or a socket to write the archive to)."
                                                : "fd: not open for reading (a file, a pipe or a socket to read the archive from).");
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        return copy < 0 ? sd_bus_error_set_errno(error, errno) : copy;
}

static int method_backup(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        BackupOptions o = {};
        int fd, r;

        r = sd_bus_message_read(message, "h", &fd);
        if (r < 0)
                return r;
        r = read_options(message, &o, error);
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_BACKUP, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 1: answered later */
        r = manager_wait_idle(m, message); /* an Apply is writing files: the snapshot waits for it */
        if (r <= 0)
                return r < 0 ? sd_bus_error_set_errno(error, r) : 1;
        if (m->backup || m->restore)
                return sd_bus_error_set(error, PIC_ERROR_CONFLICT, "A backup or a restore is under way; wait for it.");

        BackupJob *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->out_fd = -1;
        r = backup_bus_take_fd(fd, true, error);
        if (r < 0) {
                job_free(j);
                return r;
        }
        j->out_fd = r;
        if (o.has_passphrase && !(j->passphrase = strdup(o.passphrase))) {
                job_free(j);
                return -ENOMEM;
        }
        r = backup_snapshot_take(m->state_fd);
        if (r < 0) {
                job_free(j);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Cannot take a snapshot of the state: %s.",
                                         strerror(-r));
        }
        j->message = sd_bus_message_ref(message);
        r = thread_job_start(m->event, backup_work, backup_done, j, &j->thread);
        if (r < 0) {
                (void) backup_snapshot_remove(m->state_fd);
                job_free(j);
                return r;
        }
        m->backup = j;
        return 1;
}

static const sd_bus_vtable backup_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Backup", SD_BUS_ARGS("h", fd, "a{sv}", options), SD_BUS_RESULT("t", size),
                                method_backup, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END
};

int backup_bus_register(Manager *m) {
        /* a snapshot left by a daemon that stopped mid-backup */
        int r = backup_snapshot_remove(m->state_fd);
        if (r < 0)
                log_warning_errno(r, "Cannot remove a leftover backup snapshot: %m");
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, backup_vtable, m);
}
