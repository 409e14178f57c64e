/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup-bus.h"
#include "bus-api.h"
#include "bus-dict.h"
#include "cell-apply.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "polkit.h"
#include "restore-bus.h"
#include "restore.h"
#include "thread-job.h"

#define SYSTEMD_BUS_NAME "org.freedesktop.systemd1"

/* A backup being read into the staging directory by its thread. */
struct RestoreJob {
        Manager *manager;
        sd_bus_message *message;
        int in_fd;
        char *passphrase; /* wiped when freed */
        ThreadJob *thread;
        int result;
        RestoreResult outcome;
};

static RestoreJob *job_free(RestoreJob *j) {
        if (!j)
                return NULL;
        sd_bus_message_unref(j->message);
        if (j->in_fd >= 0)
                close(j->in_fd);
        erase_and_freep(&j->passphrase);
        free(j);
        return NULL;
}

static void restore_work(void *userdata, int abort_fd) {
        RestoreJob *j = userdata;
        j->result = restore_stage(j->manager->state_fd, j->in_fd, abort_fd, j->passphrase, &j->outcome);
}

static int on_restart_asked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                log_warning("Cannot have the service manager restart pic-celld (%s); ending instead.", e->message);
                sd_event_exit(m->event, 0);
        }
        return 0;
}

static int on_unit_found(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *path;

        /* no service manager on this bus (dbus-daemon starts pic-celld): end; the next call starts it */
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "o", &path) < 0) {
                sd_event_exit(m->event, 0);
                return 0;
        }
        int r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Unit",
                                         "Restart", on_restart_asked, m, "s", "replace");
        if (r < 0)
                sd_event_exit(m->event, 0);
        else
                log_notice("Restarting to load the restored state.");
        return 0;
}

/* The restored state is loaded the way every state is: by a fresh start of pic-celld, which
 * rebuilds WireGuard, the firewall, DNS, links and exits from it. The service manager restarts
 * the unit (Type=dbus: a process that let go of its name, as a re-exec would, is stopped). */
static void restart_to_load(Manager *m) {
        (void) sd_bus_flush(m->bus); /* the caller has its answer first */
        int r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, "/org/freedesktop/systemd1",
                                         "org.freedesktop.systemd1.Manager", "GetUnitByPID", on_unit_found, m, "u",
                                         (uint32_t) getpid());
        if (r < 0)
                sd_event_exit(m->event, 0);
}

static const char *error_name(int r) {
        switch (r) {
        case -EKEYREJECTED:
        case -ENOKEY:
                return SD_BUS_ERROR_INVALID_ARGS;
        case -EBADMSG:
        case -EPROTONOSUPPORT:
        case -E2BIG:
                return PIC_ERROR_INVALID_BACKUP;
        default:
                return PIC_ERROR_FAILED;
        }
}

static void restore_done(void *userdata) {
        RestoreJob *j = userdata;
        Manager *m = j->manager;
        int r = j->result;

        m->restore = NULL;
        if (r >= 0) {
                r = restore_commit(m->state_fd);
                if (r < 0)
                        snprintf(j->outcome.error, sizeof j->outcome.error, "Cannot put the restored state in place: %s.",
                                 strerror(-r));
        }
        if (r < 0) {
                (void) restore_staging_remove(m->state_fd);
                log_warning("Restore refused: %s", j->outcome.error);
                (void) sd_bus_reply_method_errorf(j->message, error_name(r), "%s", j->outcome.error);
                job_free(j);
                return;
        }
        m->restored = true;
        log_notice("Restored cell %s from a backup (%zu files).", j->outcome.cell_name, j->outcome.files);
        (void) sd_bus_reply_method_return(j->message, "s", j->outcome.cell_name);
        job_free(j);
        restart_to_load(m);
}

void restore_bus_abandon(Manager *m) {
        RestoreJob *j = m->restore;

        if (!j)
                return;
        thread_job_abandon(j->thread);
        (void) restore_staging_remove(m->state_fd);
        m->restore = NULL;
        job_free(j);
}

typedef struct RestoreOptions {
        const char *passphrase;
        bool has_passphrase;
        int replace;
        bool has_replace;
} RestoreOptions;

static int method_restore(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        RestoreOptions o = {};
        int fd, r;

        r = sd_bus_message_read(message, "h", &fd);
        if (r < 0)
                return r;
        const BusDictField fields[] = {
                { "Passphrase", 's', &o.passphrase, &o.has_passphrase },
                { "Replace", 'b', &o.replace, &o.has_replace },
        };
        r = bus_read_dict(message, fields, ELEMENTSOF(fields), error);
        if (r < 0)
                return r;
        if (o.has_passphrase && strnlen(o.passphrase, ARCHIVE_PASSPHRASE_MAX + 1) > ARCHIVE_PASSPHRASE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Passphrase: at most %d characters.",
                                         ARCHIVE_PASSPHRASE_MAX);
        /* both: it reads secrets in (backup) and replaces the whole configuration (configure) */
        r = polkit_verify_async(m->polkit, message, ACTION_BACKUP, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 1: answered later */
        r = polkit_verify_async(m->polkit, message, ACTION_CONFIGURE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 1: answered later */
        r = manager_wait_idle(m, message);
        if (r <= 0)
                return r < 0 ? sd_bus_error_set_errno(error, r) : 1;
        if (m->backup || m->restore)
                return sd_bus_error_set(error, PIC_ERROR_CONFLICT, "A backup or a restore is under way; wait for it.");
        if (m->cell.setup_complete && !(o.has_replace && o.replace))
                return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                         "Cell %s is set up: a restore replaces all it has (peers, links, exits, keys); "
                                         "say Replace=true to do that.", m->cell.name);

        RestoreJob *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->in_fd = -1;
        r = backup_bus_take_fd(fd, false, error);
        if (r < 0) {
                job_free(j);
                return r;
        }
        j->in_fd = r;
        if (o.has_passphrase && !(j->passphrase = strdup(o.passphrase))) {
                job_free(j);
                return -ENOMEM;
        }
        j->message = sd_bus_message_ref(message);
        r = thread_job_start(m->event, restore_work, restore_done, j, &j->thread);
        if (r < 0) {
                job_free(j);
                return r;
        }
        m->restore = j;
        return 1;
}

static const sd_bus_vtable restore_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Restore", SD_BUS_ARGS("h", fd, "a{sv}", options), SD_BUS_RESULT("s", cell),
                                method_restore, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END
};

int restore_bus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, restore_vtable, m);
}
