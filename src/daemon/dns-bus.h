/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The DNS members of org.pic.Cell1.Manager (listed in cell-bus.c's vtable):
 * DnsState, DnsServers and DnsForwards, and ListDnsRecords(). None needs
 * authorization: they show names and addresses any local user already reads
 * from the peer objects. */
int dns_bus_property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error);
int dns_bus_property_get_servers(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error);
int dns_bus_property_get_forwards(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error);
int dns_bus_method_list_records(sd_bus_message *message, void *userdata, sd_bus_error *error);
