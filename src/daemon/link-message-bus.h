/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Manager.ReceiveMessage: a signed message from a linked cell (src/link/message.h),
 * handed over by the gateway: what it shares with this cell, its new identity
 * (the link follows in place), or that it removed the link. */

typedef struct Manager Manager;

int link_message_bus_register(Manager *m);
