/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "netlink/rtnl.h"
#include "wg-backend.h"
#include "wg-genl.h"
#include "wg-uapi.h"

int wg_backend_new(WgBackend **ret, const char *ifname, const char *run_dir, const char *wireguard_go) {
        if (strlen(ifname) >= sizeof(((WgBackend *) NULL)->ifname))
                return -ENAMETOOLONG;

        _cleanup_(wg_backend_freep) WgBackend *b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        snprintf(b->ifname, sizeof b->ifname, "%s", ifname);
        b->run_dir = strdup(run_dir);
        b->wireguard_go = strdup(wireguard_go);
        if (!b->run_dir || !b->wireguard_go)
                return -ENOMEM;
        *ret = TAKE_PTR(b);
        return 0;
}

WgBackend *wg_backend_free(WgBackend *b) {
        if (!b)
                return NULL;
        free(b->run_dir);
        free(b->wireguard_go);
        free(b);
        return NULL;
}

int wg_backend_set_run_dir(WgBackend *b, const char *run_dir) {
        char *d = strdup(run_dir);
        if (!d)
                return -ENOMEM;
        free(b->run_dir);
        b->run_dir = d;
        return 0;
}

/* remove_stale: a socket nobody listens on was left behind by a wireguard-go
 * that died; never while our own child is starting, which may have bound it
 * and not listen()ed yet (removing it then breaks the child's start). */
static int uapi_socket_alive(WgBackend *b, bool remove_stale) {
        int fd = wg_uapi_connect(b->run_dir, b->ifname);
        if (fd >= 0) {
                close(fd);
                return 1;
        }
        if (fd == -ECONNREFUSED && remove_stale) {
                char path[PATH_MAX];
                if (wg_uapi_socket_path(b->run_dir, b->ifname, path, sizeof path) >= 0)
                        (void) unlink(path);
        }
        return 0;
}

/* Forks and execs wireguard-go; it is ready once its UAPI socket answers
 * (wg_backend_check_started), which the caller watches without blocking. */
static int start_wireguard_go(WgBackend *b) {
        extern char **environ;
        char *argv[] = { b->wireguard_go, (char *) "-f", b->ifname, NULL };

        if (mkdir(b->run_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", b->run_dir);

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "Failed to fork for wireguard-go: %m");
        if (pid == 0) {
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                execve(b->wireguard_go, argv, environ);
                fprintf(stderr, "<3>Failed to execute %s: %m\n", b->wireguard_go);
                _exit(127);
        }
        b->child = pid;
        b->starting = true;
        return 0;
}

int wg_backend_check_started(WgBackend *b) {
        int status;

        if (!b->starting)
                return 1;
        if (uapi_socket_alive(b, false) > 0) {
                b->starting = false;
                b->kind = WG_BACKEND_USERSPACE;
                log_info("Started %s for %s (PID %d).", b->wireguard_go, b->ifname, (int) b->child);
                return 1;
        }
        if (waitpid(b->child, &status, WNOHANG) == b->child) {
                b->child = 0;
                b->starting = false;
                return log_error_errno(-ECHILD, "%s for %s exited during start-up (status %d).",
                                       b->wireguard_go, b->ifname, status);
        }
        return 0;
}

void wg_backend_abandon_start(WgBackend *b) {
        if (!b->starting)
                return;
        log_error("%s did not open its UAPI socket for %s in time; stopping it.", b->wireguard_go, b->ifname);
        (void) kill(b->child, SIGKILL);
        (void) waitpid(b->child, NULL, 0);
        b->child = 0;
        b->starting = false;
}

int wg_backend_ensure_device(WgBackend *b, WgBackendChoice choice) {
        int r;

        if (b->starting)
                return WG_BACKEND_STARTING;
        if (choice != WG_BACKEND_CHOICE_KERNEL && uapi_socket_alive(b, true) > 0) {
                b->kind = WG_BACKEND_USERSPACE;
                return 0;
        }
        if (choice != WG_BACKEND_CHOICE_USERSPACE) {
                if (rtnl_link_index(b->ifname) > 0) {
                        b->kind = WG_BACKEND_KERNEL;
                        return 0;
                }
                r = rtnl_link_create(b->ifname, "wireguard");
                if (r >= 0) {
                        b->kind = WG_BACKEND_KERNEL;
                        return 1;
                }
                if (r != -EOPNOTSUPP || choice == WG_BACKEND_CHOICE_KERNEL)
                        return log_error_errno(r, "Failed to create WireGuard interface %s: %m", b->ifname);
                log_info("The kernel has no WireGuard; using %s.", b->wireguard_go);
        } else if (rtnl_link_index(b->ifname) > 0)
                return log_error_errno(-EEXIST, "Interface %s exists but no wireguard-go serves it.", b->ifname);

        r = start_wireguard_go(b);
        if (r < 0)
                return r;
        b->kind = WG_BACKEND_USERSPACE;
        return WG_BACKEND_STARTING;
}

int wg_backend_set_device(WgBackend *b, const WgDevice *d) {
        return b->kind == WG_BACKEND_KERNEL ? wg_genl_set_device(d) : wg_uapi_set_device(b->run_dir, d);
}

int wg_backend_get_device(WgBackend *b, WgDevice **ret) {
        return b->kind == WG_BACKEND_KERNEL ? wg_genl_get_device(b->ifname, ret)
                                            : wg_uapi_get_device(b->run_dir, b->ifname, ret);
}
