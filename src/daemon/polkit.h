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

PolkitRegistry *polkit_registry_new(sd_bus *bus, uint64_t timeout_usec);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);

int polkit_verify_async(PolkitRegistry *registry, sd_bus_message *m, const char *action, sd_bus_error *error);
