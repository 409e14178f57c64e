/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "ddns.h"
#include "manager.h"

/* The Manager's Ddns* properties: DdnsState, DdnsAddress, DdnsLastError, DdnsProvider,
 * DdnsHostname, DdnsAddressSource, DdnsServer, DdnsZoneId, DdnsRecordId (s) and DdnsLastUpdate
 * (t, µs since the epoch, 0: never). The token, user name and password are never among them. */
#define DDNS_PROPERTY_NAMES                                                                              \
        "DdnsState", "DdnsAddress", "DdnsLastUpdate", "DdnsLastError", "DdnsProvider", "DdnsHostname",   \
                "DdnsAddressSource", "DdnsServer", "DdnsZoneId", "DdnsRecordId"

int ddns_bus_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* Configure's Ddns* keys, checked against the settings they change: into ret, or InvalidArgs
 * naming the setting. */
int ddns_bus_check_change(Manager *m, const DdnsChange *ch, DdnsConfig *ret, sd_bus_error *error);
