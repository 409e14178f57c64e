/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cidr.h"
#include "dns-bus.h"
#include "dns.h"
#include "manager.h"

int dns_bus_property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", dns_state(userdata));
}

int dns_bus_property_get_servers(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append_strv(reply, m->cell.dns_servers);
}

int dns_bus_property_get_forwards(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "(ss)");

        for (char **d = m->dns.forward_domains, **s = m->dns.forward_servers; r >= 0 && d && *d; d++, s++)
                r = sd_bus_message_append(reply, "(ss)", *d, *s);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_record(const char *name, uint32_t address, void *userdata) {
        char a[CIDR4_STRLEN];
        return sd_bus_message_append(userdata, "(ss)", name, ipv4_format(address, a));
}

int dns_bus_method_list_records(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r >= 0)
                r = dns_records(userdata, append_record, reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
