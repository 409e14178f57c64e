/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /api/dns: the cell's DNS — state, upstreams, per-domain forwards, records. */
#include "api.h"
#include "bus-call.h"
#include "bus-message.h"
#include "strv.h"

#define DNS_RECORDS_MAX 1000000 /* more than any cell's peers and services */

static void json_free(void *data) {
        cJSON_Delete(data);
}

/* An a(ss) at the read position as [{first: …, second: …}, …], at most max entries. */
static int read_pairs_json(sd_bus_message *m, const char *first, const char *second, size_t max, cJSON **ret) {
        cJSON *array = cJSON_CreateArray();
        const char *a, *b;
        size_t n = 0;
        int r;

        if (!array)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(ss)", &a, &b)) > 0) {
                cJSON *o = cJSON_CreateObject();
                if (++n > max || !o || !cJSON_AddItemToArray(array, o)) {
                        cJSON_Delete(o);
                        r = n > max ? -E2BIG : -ENOMEM;
                        break;
                }
                if (!cJSON_AddStringToObject(o, first, a) || !cJSON_AddStringToObject(o, second, b)) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                cJSON_Delete(array);
                return r;
        }
        *ret = array;
        return 0;
}

static int read_dns_property(sd_bus_message *m, const char *key, const char *contents, void *userdata) {
        cJSON *o = userdata, *v = NULL;
        const char *s;
        char **l = NULL;
        int r;

        if (streq(key, "DnsState") && streq(contents, "s")) {
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r >= 0 && !cJSON_AddStringToObject(o, "state", s))
                        r = -ENOMEM;
                return r < 0 ? r : 1;
        }
        if (streq(key, "DnsServers") && streq(contents, "as")) {
                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r >= 0)
                        r = bus_read_strv_bounded(m, 64, 256, NULL, NULL, &l);
                if (r >= 0 && !(v = cJSON_CreateStringArray((const char *const *) l, (int) strv_length(l))))
                        r = -ENOMEM;
                strv_free(l);
        } else if (streq(key, "DnsForwards") && streq(contents, "a(ss)")) {
                r = sd_bus_message_enter_container(m, 'v', "a(ss)");
                if (r >= 0)
                        r = read_pairs_json(m, "domain", "server", 4096, &v);
        } else
                return 0;
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0 && !cJSON_AddItemToObject(o, streq(key, "DnsServers") ? "servers" : "forwards", v))
                r = -ENOMEM;
        if (r < 0)
                cJSON_Delete(v);
        return r < 0 ? r : 1;
}

static void on_records(Request *r, sd_bus_message *reply) {
        cJSON *o = r->data, *records = NULL;

        if (read_pairs_json(reply, "name", "address", DNS_RECORDS_MAX, &records) < 0 ||
            !cJSON_AddItemToObject(o, "records", records)) {
                cJSON_Delete(records);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected DNS records.", NULL);
                return;
        }
        r->data = NULL; /* the reply owns it now */
        http_reply_json(r, 200, o);
}

static void on_properties(Request *r, sd_bus_message *reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *o = cJSON_CreateObject();

        if (!o || bus_dict_walk(reply, read_dns_property, o) < 0) {
                cJSON_Delete(o);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected properties.", NULL);
                return;
        }
        r->data = o;
        r->free_data = json_free;
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "ListDnsRecords", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_records, NULL);
}

void api_dns_get(Request *r) {
        bus_get_all(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, on_properties);
}
