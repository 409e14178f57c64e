/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Asynchronous polkit checks with the race-free "system-bus-name" subject.
 * A method handler calls polkit_verify_async() after validating its
 * arguments: 0 means "asked, wait" (the handler returns 1 and sd-bus gets the
 * same message again once polkit answered), 1 means authorized, and a negative
 * value with AccessDenied set in error means no — also when polkit is absent,
 * fails or does not answer in time. */
typedef struct PolkitRegistry PolkitRegistry;

/* The actions, as the .policy file in polkit/ declares them. */
#define ACTION_CONFIGURE     "org.pic.cell1.configure"
#define ACTION_MANAGE_PEERS  "org.pic.cell1.manage-peers"
#define ACTION_READ_SECRETS  "org.pic.cell1.read-secrets"
#define ACTION_READ_FIREWALL "org.pic.cell1.read-firewall"
#define ACTION_AUTHENTICATE  "org.pic.cell1.authenticate"
#define ACTION_MANAGE_LINKS  "org.pic.cell1.manage-links"
#define ACTION_PEER_SYNC     "org.pic.cell1.peer-sync"
#define ACTION_MANAGE_EXITS  "org.pic.cell1.manage-exits"
#define ACTION_BACKUP        "org.pic.cell1.backup"

PolkitRegistry *polkit_registry_new(sd_bus *bus, uint64_t timeout_usec);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);

int polkit_verify_async(PolkitRegistry *registry, sd_bus_message *m, const char *action, sd_bus_error *error);
