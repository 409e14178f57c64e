/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /health, /api/openapi.json, /api/setup and /api/cell: the cell itself. */
#include "api.h"
#include "bus-call.h"
#include "log.h"

extern const char openapi_json[];
extern const size_t openapi_json_size;

static const char *const cell_settings[] = { "name", "domain", "vpn_address", "listen_port", "endpoint",
                                             "dns_servers", "ddns_provider", "ddns_hostname", "ddns_token",
                                             "ddns_username", "ddns_password", "ddns_zone_id", "ddns_record_id",
                                             "ddns_server", "ddns_address_source", NULL };
static const char *const setup_settings[] = { "name", "domain", "vpn_address", "listen_port", "endpoint",
                                              "dns_servers", "admin_password", "setup_code", NULL };

static void reply_health(Request *r, int setup_complete, bool bus_ok) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
                cJSON_AddStringToObject(o, "status", "ok");
                if (setup_complete >= 0)
                        cJSON_AddBoolToObject(o, "setup_complete", setup_complete);
                else
                        cJSON_AddNullToObject(o, "setup_complete");
                cJSON_AddStringToObject(o, "bus", bus_ok ? "ok" : "unreachable");
        }
        http_reply_json(r, 200, o);
}

static void on_health(Request *r, sd_bus_message *reply) {
        int b;
        if (sd_bus_message_read(reply, "v", "b", &b) < 0) {
                reply_health(r, -1, false);
                return;
        }
        r->gateway->setup = b ? SETUP_YES : SETUP_NO;
        reply_health(r, b, true);
}

static bool on_health_error(Request *r, const sd_bus_error *e) {
        reply_health(r, -1, false);
        return true;
}

void api_health(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get", &m) < 0 ||
            sd_bus_message_append(m, "ss", PIC_MANAGER_INTERFACE, "SetupComplete") < 0) {
                reply_health(r, -1, false);
                return;
        }
        bus_call(r, m, on_health, on_health_error);
}

void api_openapi(Request *r) {
        http_reply_text(r, 200, "application/json", openapi_json, openapi_json_size);
}

static void on_cell(Request *r, sd_bus_message *reply) {
        cJSON *o = bus_cell_json(reply);
        if (!o) {
                http_reply_error(r, 500, "failed", "The cell answered with unexpected properties.", NULL);
                return;
        }
        cJSON *sc = cJSON_GetObjectItem(o, "setup_complete");
        if (cJSON_IsBool(sc))
                r->gateway->setup = cJSON_IsTrue(sc) ? SETUP_YES : SETUP_NO;
        if (!cJSON_HasObjectItem(o, "pending_changes"))
                cJSON_AddItemToObject(o, "pending_changes", cJSON_CreateObject());
        http_reply_json(r, 200, o);
}

static void then_cell(Request *r, sd_bus_message *reply) {
        bus_get_all(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, on_cell);
}

void api_cell_get(Request *r) {
        bus_get_all(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, on_cell);
}

static void call_manager(Request *r, const char *member, const char *const *allowed, BusReplyHandler then) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *body = NULL;

        if (allowed && !(body = http_body_object(r)))
                return;
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, member, &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        if (allowed && bus_append_settings(r, m, body, cell_fields, allowed) < 0)
                return;
        bus_call(r, m, then, NULL);
}

void api_cell_patch(Request *r) {
        call_manager(r, "Configure", cell_settings, then_cell);
}

void api_cell_apply(Request *r) {
        call_manager(r, "Apply", NULL, then_cell);
}

void api_cell_discard(Request *r) {
        call_manager(r, "DiscardPending", NULL, then_cell);
}

static void on_setup_done(Request *r, sd_bus_message *reply) {
        log_info("The cell was set up through the gateway.");
        r->gateway->setup = SETUP_YES;
        then_cell(r, reply);
}

void api_setup(Request *r) {
        if (r->gateway->setup == SETUP_YES) {
                http_reply_error(r, 409, "conflict", "The cell is already set up.", NULL);
                return;
        }
        cJSON *body = http_body_object(r);
        if (!body)
                return;
        const cJSON *pw = cJSON_GetObjectItemCaseSensitive(body, "admin_password");
        if (!cJSON_IsString(pw) || isempty(pw->valuestring)) {
                http_reply_error(r, 400, "invalid", "admin_password is required.", "admin_password");
                return;
        }
        call_manager(r, "Setup", setup_settings, on_setup_done);
}
