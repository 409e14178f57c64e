/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Following the IPv4 routes and the links of the current network namespace:
 * a non-blocking rtnetlink socket subscribed to their change events. Poll it
 * for EPOLLIN, then drain it; what changed is read afresh by the caller. */

int rtnl_monitor_open(int *ret_fd);
/* Reads every pending event: 1 if a route or a link changed (or events were
 * lost, so something may have), 0 if nothing relevant, negative errno. */
int rtnl_monitor_drain(int fd);
