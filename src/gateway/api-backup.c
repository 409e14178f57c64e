/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* POST /api/backup and /api/restore (admin only): the cell's state as one archive, through a pipe
 * each way: Manager.Backup writes into one the response reads from, Manager.Restore reads from one
 * the upload is written into as it comes. Never the whole archive in memory. */
#include <fcntl.h>
#include <sodium.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "bus-call.h"
#include "json-strict.h"
#include "log.h"

/* Nothing through the pipe and no answer this long: 504 before the first byte, a cut stream
 * after it. Not the bus timeout: an archive takes as long as the client takes to move it. */
#define ARCHIVE_IDLE_USEC (120ULL * 1000000ULL)
#define BACKUP_BLOCK (64U * 1024U)
#define PASSPHRASE_HEADER "X-Backup-Passphrase"
#define CELL_NAME_MAX 64

static const char *const backup_options[] = { "passphrase", "unencrypted", NULL };

static int pipe_nonblocking_end(int fds[2], int nonblocking_end) {
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        /* our end only: the cell's end is another open file description, left as the cell wants it */
        if (fcntl(fds[nonblocking_end], F_SETFL, O_NONBLOCK) < 0) {
                int k = -errno;
                close(fds[0]);
                close(fds[1]);
                return k;
        }
        return 0;
}

static void idle_restart(sd_event_source *idle) {
        (void) sd_event_source_set_time_relative(idle, ARCHIVE_IDLE_USEC);
        (void) sd_event_source_set_enabled(idle, SD_EVENT_ONESHOT);
}

static void source_off(sd_event_source *s) {
        if (s)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/* ------------------------------------------------------------------ backup */

/* Held by the request and by the response that streams it: either may end first. */
typedef struct BackupStream {
        unsigned n_ref;
        Request *request;          /* NULL once the request ended */
        Gateway *gateway;
        int fd;                    /* the pipe's read end */
        sd_bus_message *call;      /* Backup, built while the cell's name is asked for */
        sd_event_source *io, *idle;
        uint64_t sent, size;
        int outcome;               /* 0 under way, 1 written whole (size bytes), -1 failed */
        bool streaming;            /* the 200 is queued: from now on failures cut the stream */
        bool encrypted;
        char filename[CELL_NAME_MAX + 32];
} BackupStream;

static void stream_unref(void *p) {
        BackupStream *s = p;
        if (!s || --s->n_ref > 0)
                return;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->idle);
        sd_bus_message_unref(s->call);
        if (s->fd >= 0)
                close(s->fd); /* a cell still writing gets EPIPE and fails the backup */
        free(s);
}

/* The request's hold: what its event sources act on is gone with it. */
static void stream_release(void *p) {
        BackupStream *s = p;
        s->request = NULL;
        source_off(s->io);
        source_off(s->idle);
        stream_unref(s);
}

/* The response body: whatever the pipe holds now; at its end, the cell's answer decides. */
static ssize_t backup_read(void *cls, uint64_t pos, char *buf, size_t max) {
        BackupStream *s = cls;

        if (s->outcome < 0 || s->gateway->stopping || !s->request)
                return MHD_CONTENT_READER_END_WITH_ERROR; /* cut: the client sees no end of the chunks */
        ssize_t n = read(s->fd, buf, max);
        if (n > 0) {
                s->sent += (uint64_t) n;
                idle_restart(s->idle);
                return n;
        }
        if (n == 0) {
                if (s->outcome > 0) {
                        source_off(s->idle);
                        if (s->sent == s->size)
                                return MHD_CONTENT_READER_END_OF_STREAM;
                        log_warning("Backup: the cell said %llu bytes, the pipe gave %llu; cutting the stream.",
                                    (unsigned long long) s->size, (unsigned long long) s->sent);
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                }
                /* all written: its answer wakes us */
                http_suspend(s->request);
                return 0;
        }
        if (errno == EAGAIN || errno == EINTR) {
                (void) sd_event_source_set_enabled(s->io, SD_EVENT_ONESHOT);
                http_suspend(s->request);
                return 0;
        }
        log_warning_errno(-errno, "Backup: cannot read the archive from the cell: %m");
        return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_start(BackupStream *s) {
        Request *r = s->request;
        char disposition[sizeof s->filename + 32];

        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BACKUP_BLOCK, backup_read, s,
                                                                      stream_unref);
        if (!resp) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        s->n_ref++;
        s->streaming = true;
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", s->filename);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        MHD_add_response_header(resp, "Content-Disposition", disposition);
        idle_restart(s->idle);
        http_reply(r, 200, resp);
}

static int on_backup_pipe(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        BackupStream *s = userdata;
        int available = 0;

        if (!s->request)
                return 0;
        if (s->streaming) { /* the reader waits for bytes */
                http_resume(s->request);
                return 0;
        }
        /* the first bytes: the headers go out (a hang-up without any waits for the answer, which says why) */
        if (ioctl(fd, FIONREAD, &available) >= 0 && available > 0)
                stream_start(s);
        return 0;
}

static int on_backup_idle(sd_event_source *es, uint64_t usec, void *userdata) {
        BackupStream *s = userdata;
        Request *r = s->request;

        if (!r)
                return 0;
        log_warning("Backup: nothing from the cell for %llu s after %llu bytes; giving up.",
                    ARCHIVE_IDLE_USEC / 1000000ULL, (unsigned long long) s->sent);
        r->slot = sd_bus_slot_unref(r->slot);
        s->outcome = -1;
        if (s->streaming)
                http_resume(r);
        else
                http_reply_error(r, 504, "timeout", "The cell did not answer in time.", NULL);
        return 0;
}

static void on_backup_written(Request *r, sd_bus_message *reply) {
        BackupStream *s = r->data;
        uint64_t size;

        if (sd_bus_message_read(reply, "t", &size) < 0) {
                s->outcome = -1;
                if (!s->streaming)
                        http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                http_resume(r);
                return;
        }
        s->outcome = 1;
        s->size = size;
        log_info("Backup made through the gateway: %llu bytes, %s.", (unsigned long long) size,
                 s->encrypted ? "encrypted" : "NOT encrypted (as asked)");
        if (!s->streaming) /* all of it fit in the pipe before its first bytes were seen */
                stream_start(s);
        else
                http_resume(r); /* a reader waiting at the end */
}

static bool on_backup_failed(Request *r, const sd_bus_error *e) {
        BackupStream *s = r->data;

        s->outcome = -1;
        source_off(s->io);
        source_off(s->idle);
        if (!s->streaming)
                return false; /* nothing sent: the mapped error */
        log_warning("Backup failed after %llu bytes were sent; the download is cut: %s",
                    (unsigned long long) s->sent, strempty(e->message));
        http_resume(r);
        return true;
}

/* "<cell>-YYYYMMDD.picbackup"; a name with anything but [A-Za-z0-9._-] (none the cell takes) gets '_' there */
static void backup_filename(BackupStream *s, const char *cell) {
        char day[16] = "";
        struct tm tm;
        time_t now = time(NULL);
        size_t i = 0;

        for (; cell[i] && i < CELL_NAME_MAX; i++) {
                char c = cell[i];
                bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                             c == '_' || c == '-';
                s->filename[i] = plain ? c : '_';
        }
        if (localtime_r(&now, &tm))
                strftime(day, sizeof day, "%Y%m%d", &tm);
        snprintf(s->filename + i, sizeof s->filename - i, "%s%s.picbackup", i ? "-" : "cell-", day);
}

static void on_cell_name(Request *r, sd_bus_message *reply) {
        BackupStream *s = r->data;
        Gateway *g = r->gateway;
        const char *name;
        int k;

        if (sd_bus_message_read(reply, "v", "s", &name) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        backup_filename(s, name);
        k = sd_event_add_io(g->event, &s->io, s->fd, EPOLLIN, on_backup_pipe, s);
        if (k >= 0)
                k = sd_event_add_time_relative(g->event, &s->idle, CLOCK_MONOTONIC, ARCHIVE_IDLE_USEC, 0,
                                               on_backup_idle, s);
        if (k < 0) {
                http_reply_error(r, 500, "failed", "Cannot watch the archive's pipe.", NULL);
                return;
        }
        (void) sd_event_source_set_enabled(s->io, SD_EVENT_ONESHOT);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = TAKE_PTR(s->call);
        (void) bus_call_full(r, m, UINT64_MAX, true, on_backup_written, on_backup_failed);
}

/* The passphrase's copies in the request: the parsed body's and the raw body's. */
static void wipe_body(Request *r) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, "passphrase");
        if (cJSON_IsString(v) && v->valuestring)
                sodium_memzero(v->valuestring, strlen(v->valuestring));
        if (r->body)
                sodium_memzero(r->body, r->body_size);
}

/* {passphrase} | {unencrypted: true} → Manager.Backup on a pipe whose read end is the response body. */
void api_backup(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int fds[2], k;
        cJSON *body = http_body_object(r);
        if (!body)
                return;

        BackupStream *s = calloc(1, sizeof *s);
        if (!s) {
                wipe_body(r);
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        *s = (BackupStream) { .n_ref = 1, .request = r, .gateway = r->gateway, .fd = -1 };
        r->data = s;
        r->free_data = stream_release;
        s->encrypted = cJSON_HasObjectItem(body, "passphrase");

        k = pipe_nonblocking_end(fds, 0);
        if (k < 0) {
                wipe_body(r);
                log_warning_errno(k, "Backup: cannot make a pipe: %m");
                http_reply_error(r, 500, "failed", "Cannot make a pipe for the archive.", NULL);
                return;
        }
        s->fd = fds[0];
        _cleanup_(closep) int write_end = fds[1]; /* the message holds its own copy */
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Backup", &m) < 0 ||
            sd_bus_message_sensitive(m) < 0 || sd_bus_message_append(m, "h", write_end) < 0) {
                wipe_body(r);
                http_reply_error(r, 500, "failed", "Failed to build the bus call.", NULL);
                return;
        }
        k = bus_append_settings(r, m, body, backup_fields, backup_options);
        wipe_body(r);
        if (k < 0)
                return;
        s->call = TAKE_PTR(m);

        /* the file is named after the cell */
        if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get", &m) < 0 ||
            sd_bus_message_append(m, "ss", PIC_MANAGER_INTERFACE, "Name") < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_cell_name, NULL);
}

/* ------------------------------------------------------------------ restore */

typedef struct RestoreUpload {
        int fd;                    /* the pipe's write end; -1 once closed */
        sd_event_source *io, *idle;
} RestoreUpload;

static void upload_close(RestoreUpload *u) {
        if (u->fd >= 0)
                close(u->fd); /* the cell reads the end: whole, or cut short and refused */
        u->fd = -1;
        source_off(u->io);
}

static void upload_free(void *p) {
        RestoreUpload *u = p;
        if (!u)
                return;
        upload_close(u);
        sd_event_source_disable_unref(u->io);
        sd_event_source_disable_unref(u->idle);
        free(u);
}

/* Writes what the pipe takes now; the rest waits for room (the request suspended meanwhile). */
static size_t restore_upload(Request *r, const char *data, size_t size) {
        RestoreUpload *u = r->data;
        size_t done = 0;

        if (u->fd < 0) /* the cell stopped reading; its answer, coming, says why */
                return size;
        while (done < size) {
                ssize_t n = write(u->fd, data + done, size - done);
                if (n > 0) {
                        done += (size_t) n;
                        idle_restart(u->idle);
                } else if (n < 0 && errno == EINTR)
                        continue;
                else if (n < 0 && errno == EAGAIN) {
                        (void) sd_event_source_set_enabled(u->io, SD_EVENT_ONESHOT);
                        http_suspend(r);
                        return done;
                } else {
                        if (errno != EPIPE)
                                log_warning_errno(-errno, "Restore: cannot write the upload to the cell: %m");
                        upload_close(u);
                        return size;
                }
        }
        return size;
}

static void restore_upload_end(Request *r) {
        RestoreUpload *u = r->data;

        upload_close(u);
        idle_restart(u->idle); /* the cell verifies, then commits */
        http_suspend(r);
}

static int on_restore_pipe(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        http_resume(userdata); /* room again (or the cell stopped reading: the next write says so) */
        return 0;
}

static int on_restore_idle(sd_event_source *es, uint64_t usec, void *userdata) {
        Request *r = userdata;
        RestoreUpload *u = r->data;

        log_warning("Restore: no progress for %llu s after %llu bytes; giving up (the cell is told by a cut archive).",
                    ARCHIVE_IDLE_USEC / 1000000ULL, (unsigned long long) r->upload_size);
        r->slot = sd_bus_slot_unref(r->slot);
        upload_close(u);
        http_reply_error(r, 504, "timeout", "The cell did not answer in time.", NULL);
        return 0;
}

static void on_restored(Request *r, sd_bus_message *reply) {
        RestoreUpload *u = r->data;
        const char *name;

        upload_close(u);
        source_off(u->idle);
        if (sd_bus_message_read(reply, "s", &name) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        /* the sessions were signed in to the state that is gone (its admin password, its peers) */
        sessions_remove_role(r->gateway->sessions, ROLE_PEER, NULL);
        sessions_remove_role(r->gateway->sessions, ROLE_ADMIN, r->session_id);
        log_notice("Restore: cell %s restored from %llu bytes uploaded; it restarts to load it.", name,
                   (unsigned long long) r->upload_size);
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddStringToObject(o, "cell", name)) {
                cJSON_Delete(o);
                o = NULL;
        }
        http_reply_json(r, 200, o);
}

static bool on_restore_failed(Request *r, const sd_bus_error *e) {
        RestoreUpload *u = r->data;

        upload_close(u);
        source_off(u->idle);
        log_info("Restore refused by the cell: %s", strempty(e->message));
        /* a missing or wrong passphrase: named as the field, whatever the sentence calls it */
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) && e->message && strcasestr(e->message, "passphrase")) {
                http_reply_error(r, 400, "invalid", e->message, "passphrase");
                return true;
        }
        return false;
}

/* The passphrase header: UTF-8, percent-encoded (a browser sends no other bytes in a header);
 * NULL and 0 when absent or empty, -EINVAL when not text. Wiped in MHD's copy once read. */
static int read_passphrase(Request *r, char **ret) {
        const char *v = http_header(r, PASSPHRASE_HEADER);

        *ret = NULL;
        if (isempty(v))
                return 0;
        char *p = strdup(v);
        sodium_memzero((char *) v, strlen(v)); /* MHD's connection memory: nothing reads it again */
        if (!p)
                return -ENOMEM;
        size_t len = http_unescape(NULL, r->connection, p);
        if (!text_is_clean_utf8(p, len)) {
                erase_and_freep(&p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

/* The archive as the body, X-Backup-Passphrase, ?replace=true → Manager.Restore on a pipe the
 * upload is written into as it comes. Dispatched at the body's first bytes. */
void api_restore(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(erase_and_freep) char *passphrase = NULL;
        Gateway *g = r->gateway;
        int fds[2], k;

        const char *replace = MHD_lookup_connection_value(r->connection, MHD_GET_ARGUMENT_KIND, "replace");
        if (replace && !streq(replace, "true") && !streq(replace, "false")) {
                http_reply_error(r, 400, "invalid", "replace must be true or false.", "replace");
                return;
        }
        k = read_passphrase(r, &passphrase);
        if (k == -ENOMEM) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        if (k < 0) {
                http_reply_error(r, 400, "invalid", PASSPHRASE_HEADER " must be the passphrase as UTF-8, "
                                 "percent-encoded (no control characters).", "passphrase");
                return;
        }

        RestoreUpload *u = calloc(1, sizeof *u);
        if (!u) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        u->fd = -1;
        r->data = u;
        r->free_data = upload_free;
        k = pipe_nonblocking_end(fds, 1);
        if (k < 0) {
                log_warning_errno(k, "Restore: cannot make a pipe: %m");
                http_reply_error(r, 500, "failed", "Cannot make a pipe for the archive.", NULL);
                return;
        }
        u->fd = fds[1];
        _cleanup_(closep) int read_end = fds[0]; /* the message holds its own copy */
        k = sd_event_add_io(g->event, &u->io, u->fd, EPOLLOUT, on_restore_pipe, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(u->io, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_add_time_relative(g->event, &u->idle, CLOCK_MONOTONIC, ARCHIVE_IDLE_USEC, 0,
                                               on_restore_idle, r);
        if (k < 0) {
                http_reply_error(r, 500, "failed", "Cannot watch the archive's pipe.", NULL);
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Restore", &m) < 0 ||
            sd_bus_message_sensitive(m) < 0 || sd_bus_message_append(m, "h", read_end) < 0 ||
            sd_bus_message_open_container(m, 'a', "{sv}") < 0 ||
            (passphrase && sd_bus_message_append(m, "{sv}", "Passphrase", "s", passphrase) < 0) ||
            (replace && sd_bus_message_append(m, "{sv}", "Replace", "b", (int) streq(replace, "true")) < 0) ||
            sd_bus_message_close_container(m) < 0) {
                http_reply_error(r, 500, "failed", "Failed to build the bus call.", NULL);
                return;
        }
        if (bus_call_full(r, m, UINT64_MAX, false, on_restored, on_restore_failed) < 0)
                return;
        r->on_upload = restore_upload;
        r->on_upload_end = restore_upload_end;
        http_resume(r); /* when the dispatch waited for the cell's setup state */
}
