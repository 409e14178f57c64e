/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-api.h"
#include "bus-message.h"
#include "cell-hosts.h"
#include "gateway.h"
#include "host-check.h"
#include "log.h"
#include "strv.h"

bool cell_hosts_follow(const char *property) {
        return streq(property, "Name") || streq(property, "Domain") || streq(property, "Endpoint");
}

char **cell_hosts_of(const char *name, const char *domain, const char *endpoint) {
        char **l = NULL, host[256];
        unsigned port;

        if (!isempty(domain)) {
                if (strv_extend(&l, domain) < 0)
                        return strv_free(l);
                if (!isempty(name)) {
                        _cleanup_(freep) char *fqdn = NULL;
                        if (asprintf(&fqdn, "%s.%s", name, domain) < 0 || strv_extend(&l, fqdn) < 0)
                                return strv_free(l);
                }
        }
        /* "host:port" or "[v6]:port": the host, at any port (the WireGuard port is not the web one) */
        if (!isempty(endpoint) && host_port_split(endpoint, host, sizeof host, &port) >= 0 &&
            !strv_contains(l, host) && strv_extend(&l, host) < 0)
                return strv_free(l);
        return l ?: calloc(1, sizeof(char *)); /* none: the empty list */
}

typedef struct Settings {
        char *name, *domain, *endpoint;
} Settings;

static int read_setting(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        Settings *s = userdata;
        char **dest = streq(key, "Name") ? &s->name : streq(key, "Domain") ? &s->domain :
                      streq(key, "Endpoint") ? &s->endpoint : NULL;
        const char *v;
        if (!dest || !streq(contents, "s"))
                return 0;
        int r = sd_bus_message_read(m, "v", "s", &v);
        if (r < 0)
                return r;
        free(*dest);
        *dest = strdup(v);
        return *dest ? 1 : -ENOMEM;
}

static int on_settings(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Gateway *g = userdata;
        Settings s = {};

        if (sd_bus_message_is_method_error(reply, NULL))
                return 0; /* no cell yet: the configured hosts alone */
        int r = bus_dict_walk(reply, read_setting, &s);
        _cleanup_(strv_freep) char **cell = r >= 0 ? cell_hosts_of(s.name, s.domain, s.endpoint) : NULL;
        char **all = cell ? strv_copy(g->config.allowed_hosts) : NULL;
        for (char **h = cell; all && h && *h; h++)
                if (!strv_contains(all, *h) && strv_extend(&all, *h) < 0)
                        all = strv_free(all);
        if (all) {
                strv_free(g->allowed_hosts);
                g->allowed_hosts = all;
        } else {
                strv_free(all);
                log_warning("Cannot follow the cell's names as allowed hosts (%s).", r < 0 ? strerror(-r) : "out of memory");
        }
        free(s.name);
        free(s.domain);
        free(s.endpoint);
        return 0;
}

void cell_hosts_refresh(Gateway *g) {
        /* may start the cell: at the gateway's start, a request naming the cell's host is on its way */
        int r = sd_bus_call_method_async(g->bus, NULL, PIC_BUS_NAME, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                         "GetAll", on_settings, g, "s", PIC_MANAGER_INTERFACE);
        if (r < 0)
                log_warning_errno(r, "Cannot ask the cell for its names: %m");
}
