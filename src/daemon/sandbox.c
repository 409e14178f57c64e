/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "log.h"
#include "macro.h"
#include "sandbox.h"

#define WIREGUARD_RUN_DIR "/run/wireguard"

int sandbox_enter_netns(const char *name) {
        char path[PATH_MAX];

        if (strchr(name, '/') || name[0] == '.' || snprintf(path, sizeof path, "/run/netns/%s", name) >= (int) sizeof path)
                return log_error_errno(-EINVAL, "Invalid network namespace name '%s'.", name);
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open network namespace %s: %m", path);
        if (setns(fd, CLONE_NEWNET) < 0)
                return log_error_errno(-errno, "Failed to enter network namespace %s: %m", name);
        log_debug("Entered network namespace %s.", name);
        return 0;
}

int sandbox_bind_wireguard_run_dir(const char *run_dir) {
        if (streq(run_dir, WIREGUARD_RUN_DIR))
                return 0;
        if (mkdir(run_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", run_dir);
        if (unshare(CLONE_NEWNS) < 0)
                return log_error_errno(-errno, "Failed to create a private mount namespace: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return log_error_errno(-errno, "Failed to make mounts private: %m");
        if (strncmp(run_dir, "/run/", 5) == 0)
                return log_error_errno(-EINVAL, "--wireguard-run-dir must lie outside /run.");
        /* A /run of this namespace's own, always: binding over the host's
         * /run/wireguard (when it exists) would be undone the moment someone
         * removes that directory, and creating it would touch the host. The bus
         * connection is already open, so hiding /run does not hurt it. */
        if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                return log_error_errno(-errno, "Failed to mount a private /run: %m");
        if (mkdir(WIREGUARD_RUN_DIR, 0755) < 0)
                return log_error_errno(-errno, "Failed to create %s: %m", WIREGUARD_RUN_DIR);
        if (mount(run_dir, WIREGUARD_RUN_DIR, NULL, MS_BIND, NULL) < 0)
                return log_error_errno(-errno, "Failed to bind %s over %s: %m", run_dir, WIREGUARD_RUN_DIR);
        return 0;
}
