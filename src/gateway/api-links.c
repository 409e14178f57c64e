/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /api/links: links with other cells and the invites that make them (admin only). */
#include "api.h"
#include "bus-call.h"
#include "bus-message.h"
#include "names.h"
#include "qr-svg.h"

#define INVITE_TEXT_MAX 2048   /* src/link/invite.h */

static int link_path(Request *r, const char *name, char **ret) {
        if (!name || !dns_label_is_valid(name)) {
                http_reply_error(r, 404, "not_found", "No such link.", NULL);
                return -EINVAL;
        }
        if (sd_bus_path_encode(PIC_LINK_PATH_PREFIX, name, ret) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return -ENOMEM;
        }
        return 0;
}

/* ------------------------------------------------------------------ links */

static int collect_link(sd_bus_message *m, const char *path, void *userdata) {
        cJSON *a = userdata, *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        return bus_read_properties(m, link_fields, o);
}

static void on_links(Request *r, sd_bus_message *reply) {
        cJSON *a = cJSON_CreateArray();
        if (!a || bus_managed_objects_walk(reply, PIC_LINK_INTERFACE, collect_link, a) < 0) {
                cJSON_Delete(a);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected objects.", NULL);
                return;
        }
        http_reply_json(r, 200, a);
}

void api_links_list(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (bus_new_call(r, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_links, NULL);
}

static void reply_link(Request *r, sd_bus_message *reply, unsigned status) {
        cJSON *o = cJSON_CreateObject();
        if (!o || bus_read_properties(reply, link_fields, o) < 0) {
                cJSON_Delete(o);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected properties.", NULL);
                return;
        }
        http_reply_json(r, status, o);
}

static void on_link(Request *r, sd_bus_message *reply) {
        reply_link(r, reply, 200);
}

static void on_link_created(Request *r, sd_bus_message *reply) {
        reply_link(r, reply, 201);
}

void api_link_get(Request *r) {
        _cleanup_(freep) char *path = NULL;
        if (link_path(r, r->name, &path) < 0)
                return;
        bus_get_all(r, path, PIC_LINK_INTERFACE, on_link);
}

static void on_linked(Request *r, sd_bus_message *reply) {
        bus_get_all_of_returned(r, reply, PIC_LINK_INTERFACE, on_link_created);
}

/* {"invite": "pic-invite1.…"} → AddLink: this cell pairs with the invite's. */
void api_links_create(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;
        const cJSON *invite = cJSON_GetObjectItemCaseSensitive(body, "invite");
        if (!cJSON_IsString(invite) || isempty(invite->valuestring) ||
            strlen(invite->valuestring) > INVITE_TEXT_MAX) {
                http_reply_error(r, 400, "invalid", "invite must be the invite's text (pic-invite1.…).", "invite");
                return;
        }
        if (cJSON_GetArraySize(body) != 1) {
                http_reply_error(r, 400, "invalid", "Only invite may be given.", NULL);
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "AddLink", &m) < 0 ||
            sd_bus_message_append(m, "sa{sv}", invite->valuestring, 0) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_linked, NULL);
}

static void on_no_content(Request *r, sd_bus_message *reply) {
        http_reply_empty(r, 204);
}

static void then_link(Request *r, sd_bus_message *reply) {
        _cleanup_(freep) char *path = NULL;
        if (link_path(r, r->name, &path) < 0)
                return;
        bus_get_all(r, path, PIC_LINK_INTERFACE, on_link);
}

/* {"shared": [service, …]} → Link.SetShared: what this cell shares with the linked cell. */
void api_link_patch(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        const cJSON *e;
        cJSON *body = http_body_object(r);
        if (!body)
                return;
        const cJSON *shared = cJSON_GetObjectItemCaseSensitive(body, "shared");
        if (!cJSON_IsArray(shared) || cJSON_GetArraySize(body) != 1 || cJSON_GetArraySize(shared) > 16) {
                http_reply_error(r, 400, "invalid", "shared must be a list of at most 16 service names, and alone.",
                                 "shared");
                return;
        }
        if (link_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_LINK_INTERFACE, "SetShared", &m) < 0 ||
            sd_bus_message_open_container(m, 'a', "s") < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        cJSON_ArrayForEach(e, shared) {
                if (!cJSON_IsString(e)) {
                        http_reply_error(r, 400, "invalid", "shared must be a list of service names.", "shared");
                        return;
                }
                if (sd_bus_message_append(m, "s", e->valuestring) < 0) {
                        http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                        return;
                }
        }
        if (sd_bus_message_close_container(m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, then_link, NULL);
}

/* {"offer": true|false} → Link.OfferExit: this cell's uplink as the linked cell's exit, or no longer. */
void api_link_offer_exit(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        cJSON *body = http_body_object(r);
        if (!body)
                return;
        const cJSON *offer = cJSON_GetObjectItemCaseSensitive(body, "offer");
        if (!cJSON_IsBool(offer)) {
                http_reply_error(r, 400, "invalid", "offer must be true or false.", "offer");
                return;
        }
        if (cJSON_GetArraySize(body) != 1) {
                http_reply_error(r, 400, "invalid", "Only offer may be given.", NULL);
                return;
        }
        if (link_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_LINK_INTERFACE, "OfferExit", &m) < 0 ||
            sd_bus_message_append(m, "b", (int) cJSON_IsTrue(offer)) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_no_content, NULL);
}

/* One argument-less method on the link named in the path. */
static void call_link(Request *r, const char *method, void (*then)(Request *r, sd_bus_message *reply)) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        if (link_path(r, r->name, &path) < 0)
                return;
        if (bus_new_call(r, path, PIC_LINK_INTERFACE, method, &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, then, NULL);
}

void api_link_delete(Request *r) {
        call_link(r, "Remove", on_no_content);
}

void api_link_resync(Request *r) {
        call_link(r, "Resync", then_link);
}

/* ------------------------------------------------------------------ invites */

static void on_invites(Request *r, sd_bus_message *reply) {
        cJSON *a = cJSON_CreateArray();
        const char *id;
        uint64_t created, expires;
        int k = a ? sd_bus_message_enter_container(reply, 'a', "(stt)") : -ENOMEM;

        while (k >= 0 && (k = sd_bus_message_read(reply, "(stt)", &id, &created, &expires)) > 0) {
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(a, o) || !cJSON_AddStringToObject(o, "id", id) ||
                    !cJSON_AddNumberToObject(o, "created", (double) created) ||
                    !cJSON_AddNumberToObject(o, "expires", (double) expires)) {
                        k = -ENOMEM;
                        break;
                }
        }
        if (k >= 0)
                k = sd_bus_message_exit_container(reply);
        if (k < 0) {
                cJSON_Delete(a);
                http_reply_error(r, 500, "failed", "The cell answered with unexpected invites.", NULL);
                return;
        }
        http_reply_json(r, 200, a);
}

void api_invites_list(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "ListInvites", &m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_invites, NULL);
}

/* The invite, when it expires, and the same as a QR code (SVG) for a phone's camera. */
static void on_invite_created(Request *r, sd_bus_message *reply) {
        _cleanup_(freep) char *svg = NULL;
        const char *text;
        uint64_t expires;

        if (sd_bus_message_read(reply, "st", &text, &expires) < 0) {
                http_reply_error(r, 500, "failed", "The cell answered with an unexpected type.", NULL);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        size_t svg_size;
        if (!o || qr_svg_render(text, &svg, &svg_size) < 0 || !cJSON_AddStringToObject(o, "invite", text) ||
            !cJSON_AddNumberToObject(o, "expires", (double) expires) || !cJSON_AddStringToObject(o, "qr_svg", svg)) {
                cJSON_Delete(o);
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        http_set_next_header(r, "Cache-Control", "no-store");
        http_reply_json(r, 201, o);
}

/* {"lifetime": seconds} (optional) → CreateInvite. */
void api_invites_create(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        cJSON *body = r->body_size > 0 ? http_body_object(r) : NULL;
        if (r->body_size > 0 && !body)
                return;
        const cJSON *lifetime = body ? cJSON_GetObjectItemCaseSensitive(body, "lifetime") : NULL;
        if (body && cJSON_GetArraySize(body) != (lifetime ? 1 : 0)) {
                http_reply_error(r, 400, "invalid", "Only lifetime may be given.", NULL);
                return;
        }
        if (lifetime && (!cJSON_IsNumber(lifetime) || lifetime->valuedouble < 1 ||
                         lifetime->valuedouble > 4294967295.0 || lifetime->valuedouble != (double) (uint32_t) lifetime->valuedouble)) {
                http_reply_error(r, 400, "invalid", "lifetime must be a whole number of seconds.", "lifetime");
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "CreateInvite", &m) < 0 ||
            sd_bus_message_open_container(m, 'a', "{sv}") < 0 ||
            (lifetime && sd_bus_message_append(m, "{sv}", "Lifetime", "u", (uint32_t) lifetime->valuedouble) < 0) ||
            sd_bus_message_close_container(m) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_invite_created, NULL);
}

void api_invite_delete(Request *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (!r->name || strlen(r->name) != 22) {
                http_reply_error(r, 404, "not_found", "No such invite.", NULL);
                return;
        }
        if (bus_new_call(r, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "RevokeInvite", &m) < 0 ||
            sd_bus_message_append(m, "s", r->name) < 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        bus_call(r, m, on_no_content, NULL);
}
