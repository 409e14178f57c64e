/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.Backup(h fd, a{sv} options): the state written as one archive to the
 * caller's descriptor (backup.h), by a thread; org.pic.cell1.backup. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;
typedef struct BackupJob BackupJob;

int backup_bus_register(Manager *m);
/* Stopping: ends a backup being written (the caller gets no archive) and removes its snapshot. */
void backup_bus_abandon(Manager *m);
/* A duplicate of the caller's descriptor (Backup's or Restore's), or a refusal naming fd. */
int backup_bus_take_fd(int fd, bool writing, sd_bus_error *error);
