/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/* Argon2id (≈70 ms and 64 MiB each) off the event loop, in a small pool of
 * threads. Threads rather than a helper process: libsodium's pwhash is
 * thread-safe, the work touches no daemon state, and secrets never cross a
 * process boundary. Like polkit.c, the bus message is handed back to sd-bus
 * when the work is done, so its handler runs again:
 *
 *     r = password_job_answer(w, message, &answer);
 *     if (r == -ENOENT)  → never asked: authorize, password_job_start(), return 1
 *     if (r == 0)        → still running: return 1
 *     otherwise          → use answer (the state may have moved meanwhile: re-check)
 *
 * A job exists only after its call was authorized, so an answer proves that.
 * At most PASSWORD_WORKER_QUEUE_MAX jobs wait; more is -EBUSY. */

#define PASSWORD_WORKER_QUEUE_MAX 32

typedef struct PasswordWorker PasswordWorker;

typedef struct PasswordRequest {
        bool check;               /* does check_password match check_hash (NULL: costs a check, no match)? */
        const char *check_hash;
        const char *check_password;
        bool make_hash;           /* hash new_password, or a random one made when it is NULL */
        const char *new_password;
} PasswordRequest;

typedef struct PasswordAnswer {
        bool matches;
        char *checked_hash; /* the hash that was checked, to compare with the current one */
        char *password;     /* make_hash: the password hashed */
        char *hash;         /* make_hash: its hash */
} PasswordAnswer;

void password_answer_done(PasswordAnswer *a); /* wipes */

int password_worker_new(PasswordWorker **ret, sd_bus *bus, sd_event *event, unsigned n_threads);
/* Waits for running hashes to end; waiting jobs are dropped unanswered. */
PasswordWorker *password_worker_free(PasswordWorker *w);

int password_job_answer(PasswordWorker *w, sd_bus_message *m, PasswordAnswer *ret);
int password_job_start(PasswordWorker *w, sd_bus_message *m, const PasswordRequest *req);
