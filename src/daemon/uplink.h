/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Where peers' internet traffic leaves: the --uplink interface, else the
 * interface of the default route, followed through rtnetlink events (so the
 * Uplink property costs no netlink dump). When it changes, the property
 * changes and the firewall's masquerade follows. */
int uplink_follow(Manager *m);
