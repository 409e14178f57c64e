/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The targets other units depend on (systemd/pic-*.target): pic-online.target
 * while the cell's WireGuard serves, pic-peer@NAME.target while a peer has a
 * fresh handshake, pic-link@NAME.target while a link is "connected",
 * pic-exit@NAME.target while an exit is "up". Whoever announces such a state
 * says when it changes; systemd (org.freedesktop.systemd1) is asked to start
 * or stop the target only then, asynchronously, never once per timer tick.
 * Targets are left as they are when the daemon stops (WireGuard keeps
 * serving); after a start, once states had time to be read again, targets
 * systemd has active for anything not up (or gone) are stopped. Without a
 * service manager on the bus nothing is sent after the first refusal. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "hashmap.h"

typedef struct Manager Manager;

typedef enum UnitTargetKind {
        UNIT_TARGET_ONLINE, /* name: NULL */
        UNIT_TARGET_PEER,
        UNIT_TARGET_LINK,
        UNIT_TARGET_EXIT,
} UnitTargetKind;

typedef struct UnitTargets {
        Hashmap *units; /* unit name → UnitTarget: the ones up or told to start */
        sd_event_source *settle_timer;
        bool unavailable; /* no org.freedesktop.systemd1 on the bus */
        bool warned;      /* a refused call was logged (later ones at debug) */
} UnitTargets;

/* Beyond two statistics intervals (handshakes read twice), the time given at
 * start before targets are matched: exits come up again within it. */
#define UNIT_TARGETS_SETTLE_EXTRA_USEC (2 * 1000000ULL)

/* The unit for a thing: "pic-online.target", "pic-peer@my\x2dphone.target". */
int unit_target_name(UnitTargetKind kind, const char *name, char *buf, size_t size);

/* After settle_usec, the targets systemd has active are matched against what is up. */
int unit_targets_start(Manager *m, uint64_t settle_usec);
/* The thing went up or down (or away: down). */
void unit_targets_set(Manager *m, UnitTargetKind kind, const char *name, bool up);
void unit_targets_done(Manager *m);
