/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sockets of this network namespace through NETLINK_SOCK_DIAG. */

#include <stdint.h>

/* Ends the TIME_WAIT sockets left by earlier connections on the local IPv4
 * address:port (network byte order), so that a program binding it without
 * SO_REUSEADDR (sshuttle) can start again at once rather than 60 s later.
 * Needs CAP_NET_ADMIN; returns how many were ended or a negative errno. */
int tcp_time_wait_release(uint32_t address, uint16_t port);
