/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "wg.h"

/* The device the daemon manages, whichever backend serves it. Chosen as wg(8)
 * chooses: a live UAPI socket means userspace; otherwise the kernel, and when
 * the kernel lacks WireGuard the daemon starts wireguard-go itself. */
typedef struct WgBackend {
        WgBackendKind kind;
        char ifname[16];
        char *run_dir;      /* where UAPI sockets live */
        char *wireguard_go; /* binary to start for the userspace backend */
        pid_t child;        /* the wireguard-go we started, 0 if none */
        bool starting;      /* child started, its UAPI socket not there yet */
} WgBackend;

typedef enum WgBackendChoice {
        WG_BACKEND_CHOICE_AUTO,
        WG_BACKEND_CHOICE_KERNEL,
        WG_BACKEND_CHOICE_USERSPACE,
} WgBackendChoice;

int wg_backend_new(WgBackend **ret, const char *ifname, const char *run_dir, const char *wireguard_go);
WgBackend *wg_backend_free(WgBackend *b);
int wg_backend_set_run_dir(WgBackend *b, const char *run_dir);
DEFINE_TRIVIAL_CLEANUP_FUNC(WgBackend *, wg_backend_free);

#define WG_BACKEND_STARTING 2

/* Makes sure the interface exists, creating it (or starting wireguard-go) when
 * it does not. Returns 1 when it created it, 0 when it was there, and
 * WG_BACKEND_STARTING while a wireguard-go it started has not opened its UAPI
 * socket yet: it never waits for that. */
int wg_backend_ensure_device(WgBackend *b, WgBackendChoice choice);
/* For a starting wireguard-go: 1 ready, 0 not yet, negative when it exited. */
int wg_backend_check_started(WgBackend *b);
/* Gives up on a wireguard-go that did not start in time: kills it. */
void wg_backend_abandon_start(WgBackend *b);
int wg_backend_set_device(WgBackend *b, const WgDevice *d);
int wg_backend_get_device(WgBackend *b, WgDevice **ret);
