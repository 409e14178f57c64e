/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* Tests only (--test-failure-file=FILE, undocumented): while FILE holds
 * "STEP N", the (N+1)th time the daemon reaches STEP after the file appeared
 * (or changed), that step fails as if the system had refused it; once. Steps:
 * "state" (a durable write), "wireguard" (a device change), "firewall" (a
 * batch, refused by the kernel), "index" (the model swap), "pairing-crash"
 * (the daemon kills itself after storing a link, before answering the other
 * cell's pairing request: a crash at the worst moment). Without the option
 * this costs one pointer test. */
bool failure_injected(Manager *m, const char *step);

/* Tests only: while FILE holds "STEP MS", work at STEP that runs off the loop
 * takes MS milliseconds longer ("apply-delay": an Apply's file writing). */
unsigned failure_delay_ms(Manager *m, const char *step);
