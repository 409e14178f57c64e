/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.Restore(h fd, a{sv} options) -> s: a backup read from the caller's
 * descriptor replaces the state (restore.h); org.pic.cell1.backup and
 * org.pic.cell1.configure; the daemon then starts again to load it. */

typedef struct Manager Manager;
typedef struct RestoreJob RestoreJob;

int restore_bus_register(Manager *m);
/* Stopping: ends a restore being read (nothing of it is kept). */
void restore_bus_abandon(Manager *m);
