/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl dns: the cell's DNS — its state, upstreams, per-domain forwards and records. */
#include <stdbool.h>
#include <stddef.h>

#include "picctl.h"
#include "picctl-peer.h"
#include "strv.h"

static void help_dns(void) {
        printf("picctl dns [--json]\n"
               "\n"
               "Show the cell's DNS: whether its dnsmasq runs (and why not), the upstream\n"
               "servers it forwards other names to, the domains forwarded elsewhere, and\n"
               "every name it answers with its address. Upstreams are changed with\n"
               "'picctl configure --dns-servers IP,...'.\n"
               "\n"
               "  --json      Print it as one JSON object\n");
}

typedef struct DnsInfo {
        char *state;
        char **servers;
        char **forwards; /* domain, server, domain, server, … */
        char **records;  /* name, address, … */
} DnsInfo;

static void dns_info_done(DnsInfo *i) {
        free(i->state);
        strv_free(i->servers);
        strv_free(i->forwards);
        strv_free(i->records);
}

/* An a(ss) at the read position, flattened into pairs (linear: records can be 10,000s). */
static int read_pairs(sd_bus_message *m, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0, allocated = 0;
        const char *a, *b;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(ss)", &a, &b)) > 0) {
                if (greedy_realloc((void **) &l, &allocated, n + 3, sizeof(char *)) < 0)
                        return -ENOMEM;
                l[n] = strdup(a);
                l[n + 1] = strdup(b);
                l[n + 2] = NULL;
                if (!l[n] || !l[n + 1]) {
                        free(l[n + 1]); /* strv_free stops at the first NULL */
                        l[n + 1] = NULL;
                        return -ENOMEM;
                }
                n += 2;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int dns_info_read(Context *c, DnsInfo *info) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *props = NULL, *records = NULL;
        static const BusProperty table[] = {
                { "DnsState",   "s",  offsetof(DnsInfo, state)   },
                { "DnsServers", "as", offsetof(DnsInfo, servers) },
                {}
        };
        int r;

        r = bus_get_all(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, &props);
        if (r < 0)
                return r;
        r = bus_read_properties(props, table, info);
        if (r < 0)
                return report_parse_error(r);

        /* a(ss) is not a BusProperty type: asked for on its own */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *get = NULL, *forwards = NULL;
        r = bus_new_call(c, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get", &get);
        if (r < 0)
                return r;
        r = sd_bus_message_append(get, "ss", PIC_MANAGER_INTERFACE, "DnsForwards");
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        r = bus_call(c, get, false, &forwards);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(forwards, 'v', "a(ss)");
        if (r >= 0)
                r = read_pairs(forwards, &info->forwards);
        if (r < 0)
                return report_parse_error(r);

        r = bus_call_noargs(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "ListDnsRecords", false, &records);
        if (r < 0)
                return r;
        r = read_pairs(records, &info->records);
        if (r < 0)
                return report_parse_error(r);
        return 0;
}

static cJSON *pairs_json(char **pairs, const char *first, const char *second) {
        cJSON *array = cJSON_CreateArray();

        for (char **p = pairs; array && p && p[0] && p[1]; p += 2) {
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(array, o)) {
                        cJSON_Delete(o);
                        cJSON_Delete(array);
                        return NULL;
                }
                /* o belongs to the array now */
                if (!cJSON_AddStringToObject(o, first, p[0]) || !cJSON_AddStringToObject(o, second, p[1])) {
                        cJSON_Delete(array);
                        return NULL;
                }
        }
        return array;
}

static cJSON *dns_json(const DnsInfo *i) {
        cJSON *o = cJSON_CreateObject(), *servers = json_string_array(i->servers),
              *forwards = pairs_json(i->forwards, "Domain", "Server"),
              *records = pairs_json(i->records, "Name", "Address");

        if (!o || !servers || !forwards || !records || !cJSON_AddStringToObject(o, "State", strempty(i->state))) {
                cJSON_Delete(o);
                cJSON_Delete(servers);
                cJSON_Delete(forwards);
                cJSON_Delete(records);
                return NULL;
        }
        cJSON_AddItemToObject(o, "Servers", servers);
        cJSON_AddItemToObject(o, "Forwards", forwards);
        cJSON_AddItemToObject(o, "Records", records);
        return o;
}

static void print_pairs(const char *label, char **pairs, const char *joiner) {
        size_t width = 0;

        if (strv_length(pairs) < 2) {
                printf("%s: none\n", label);
                return;
        }
        printf("%s:\n", label);
        for (char **p = pairs; p[0] && p[1]; p += 2)
                width = MAX(width, strlen(p[0]));
        for (char **p = pairs; p[0] && p[1]; p += 2)
                printf("  %-*s %s %s\n", (int) width, p[0], joiner, p[1]);
}

int verb_dns(int argc, char *argv[], Context *c) {
        _cleanup_(dns_info_done) DnsInfo info = {};
        bool json = false;
        int r;

        r = parse_json_only(argc, argv, c, help_dns, "dns", &json);
        if (r != ARGS_PARSED)
                return r;

        r = dns_info_read(c, &info);
        if (r < 0)
                return r;
        if (json)
                return print_json(dns_json(&info));

        printf("State: %s\n", strempty(info.state));
        if (strv_length(info.servers) == 0)
                printf("Upstream servers: none (names outside the cell's domains get no answer)\n");
        else {
                _cleanup_(freep) char *joined = strv_join(info.servers, ", ");
                printf("Upstream servers: %s\n", joined ?: "?");
        }
        print_pairs("Forwarded domains", info.forwards, "→");
        print_pairs("Records", info.records, " ");
        return 0;
}
