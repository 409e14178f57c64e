/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exit.Test(): a TCP connection to the exit's TestTarget carrying the exit's
 * mark, so it can only go through the exit's tunnel; answered with the
 * connect time, or Unreachable naming why. A TCP-only exit's connection is
 * sent to its transparent port (its test mark, firewall.h), and there the
 * time is to the first byte the far side answers a HEAD request with. */

#include <systemd/sd-bus.h>

#include "exit.h"

#define EXIT_TEST_TIMEOUT_USEC (5 * 1000 * 1000ULL)

/* Starts a test for the call message (answered later); -errno if none could start. */
int exit_test_start(Exit *e, sd_bus_message *message);
/* Answers the exit's tests in flight with an error (it is being removed). */
void exit_test_cancel_all(Exit *e);
