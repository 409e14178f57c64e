/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddns-bus.h"
#include "ddns-update.h"

int ddns_bus_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const Ddns *d = m->ddns;
        const DdnsConfig *c = d ? &d->config : NULL;

        if (streq(property, "DdnsLastUpdate"))
                return sd_bus_message_append(reply, "t", c && c->published_address ? c->published_usec : (uint64_t) 0);
        const char *v = NULL;
        if (streq(property, "DdnsState"))
                v = ddns_state_to_string(d ? d->state : DDNS_STATE_OFF);
        else if (!c)
                v = NULL;
        else if (streq(property, "DdnsAddress"))
                v = c->published_address;
        else if (streq(property, "DdnsLastError"))
                v = d->last_error;
        else if (streq(property, "DdnsProvider"))
                v = c->provider;
        else if (streq(property, "DdnsHostname"))
                v = c->hostname;
        else if (streq(property, "DdnsAddressSource"))
                v = c->address_source;
        else if (streq(property, "DdnsServer"))
                v = c->server;
        else if (streq(property, "DdnsZoneId"))
                v = c->zone_id;
        else if (streq(property, "DdnsRecordId"))
                v = c->record_id;
        return sd_bus_message_append_basic(reply, 's', strempty(v));
}

int ddns_bus_check_change(Manager *m, const DdnsChange *ch, DdnsConfig *ret, sd_bus_error *error) {
        char why[DDNS_ERROR_MAX];
        int r = ddns_config_change(&m->ddns->config, ch, ret, why);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s.", why);
        return r;
}
