/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Calls waiting for something the loop is doing (a wireguard-go starting, an
 * Apply writing files). Like polkit's answers: a waiting call's handler
 * returns 1; when the thing is done every waiting message is handed back to
 * sd-bus with the outcome kept for it, and its handler, running again, picks
 * the outcome up with wait_list_answer(). */
typedef struct Waiter Waiter;

typedef struct WaitList {
        Waiter *waiters;
} WaitList;

/* Adds the call (once); 0, or -ENOMEM. */
int wait_list_add(WaitList *l, sd_bus_message *m);
/* The outcome kept for this call (taken: asked once), or -ENOENT when it did not wait. */
int wait_list_answer(WaitList *l, sd_bus_message *m);
/* Every waiting call gets result (1 or a negative errno) and runs again. */
void wait_list_answer_all(WaitList *l, sd_bus *bus, int result);
void wait_list_done(WaitList *l);
