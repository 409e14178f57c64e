/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bus-objects.h"
#include "bus-api.h"
#include "bus-message.h"
#include "cell-firewall.h"
#include "fileio.h"
#include "exit-cell.h"
#include "link-bus.h"
#include "unit-targets.h"
#include "link-exit.h"
#include "link-push.h"
#include "link-wg.h"
#include "link.h"
#include "log.h"
#include "manager.h"
#include "polkit.h"
#include "strv.h"
#include "time-util.h"

#define LINK_FILE_MAX (16 * 1024)

static int link_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        return bus_objects_find(path, PIC_LINK_PATH_PREFIX, ((Manager *) userdata)->links_by_name, found);
}

static int link_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error) {
        return bus_objects_enumerate(((Manager *) userdata)->links_by_name, offsetof(Link, object_path), nodes);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Link *l = userdata;
        char fingerprint[SIGNING_FINGERPRINT_LEN];

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", l->remote.name);
        if (streq(property, "Domain"))
                return sd_bus_message_append(reply, "s", l->remote.domain);
        if (streq(property, "VpnSubnet"))
                return sd_bus_message_append(reply, "s", l->remote.vpn_subnet);
        if (streq(property, "DnsAddress"))
                return sd_bus_message_append(reply, "s", l->remote.dns_address);
        if (streq(property, "Endpoint"))
                return sd_bus_message_append(reply, "s", l->remote.endpoint);
        if (streq(property, "PublicKey"))
                return sd_bus_message_append(reply, "s", l->remote.wg_public_key);
        if (streq(property, "SigningKey")) {
                signing_fingerprint(&l->remote.signing_key, fingerprint);
                return sd_bus_message_append(reply, "s", fingerprint);
        }
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", link_state(l, now_usec(CLOCK_REALTIME)));
        if (streq(property, "Created"))
                return sd_bus_message_append(reply, "t", l->created_usec);
        if (streq(property, "LatestHandshake"))
                return sd_bus_message_append(reply, "t", l->latest_handshake_usec);
        if (streq(property, "RxBytes"))
                return sd_bus_message_append(reply, "t", l->rx_bytes);
        if (streq(property, "TxBytes"))
                return sd_bus_message_append(reply, "t", l->tx_bytes);
        if (streq(property, "Shared"))
                return sd_bus_message_append_strv(reply, l->shared);
        if (streq(property, "RemoteShared"))
                return sd_bus_message_append_strv(reply, l->remote_shared);
        if (streq(property, "PendingPush"))
                return sd_bus_message_append(reply, "b", l->push_pending || l->identity_pending || l->exit_pending ||
                                                                 l->exit_key_pending);
        if (streq(property, "ExitOffered"))
                return sd_bus_message_append(reply, "b", l->exit_offered);
        if (streq(property, "RemoteExitOffered"))
                return sd_bus_message_append(reply, "b", l->remote_exit_offered);
        if (streq(property, "LastPushTime"))
                return sd_bus_message_append(reply, "t", l->last_push_usec);
        if (streq(property, "LastPushError"))
                return sd_bus_message_append(reply, "s", strempty(l->last_push_error));
        if (streq(property, "RefusedMessages"))
                return sd_bus_message_append(reply, "t", l->refused_messages);
        return -ENOENT;
}

void link_bus_emit_changed(Link *l, char **names) {
        (void) sd_bus_emit_properties_changed_strv(l->manager->bus, l->object_path, PIC_LINK_INTERFACE, names);
}

int link_bus_sync_dns(Manager *m) {
        _cleanup_(strv_freep) char **domains = strv_copy(m->config.test_dns_forward_domains);
        _cleanup_(strv_freep) char **servers = strv_copy(m->config.test_dns_forward_servers);
        Link *l;

        if ((m->config.test_dns_forward_domains && !domains) || (m->config.test_dns_forward_servers && !servers))
                return -ENOMEM;
        HASHMAP_FOREACH(l, m->links_by_name)
                if (strv_extend(&domains, l->remote.domain) < 0 || strv_extend(&servers, l->remote.dns_address) < 0)
                        return -ENOMEM;
        return dns_set_forwards(m, domains, servers);
}

static void file_name(const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s.json", name);
}

int link_bus_store(Manager *m, const Link *l) {
        _cleanup_(freep) char *text = NULL;
        char name[DNS_LABEL_MAX + 6];

        int r = link_to_json(l, &text);
        if (r < 0)
                return r;
        file_name(l->remote.name, name, sizeof name);
        return write_file_atomic(m->links_fd, name, text, strlen(text), 0600);
}

int link_bus_add(Manager *m, Link *l) {
        int r = sd_bus_path_encode(PIC_LINK_PATH_PREFIX, l->remote.name, &l->object_path);
        if (r < 0)
                return r;
        l->manager = m;
        return hashmap_put(m->links_by_name, l->remote.name, l);
}

static int load_link(const char *file, const char *text, size_t name_len, void *userdata) {
        Manager *m = userdata;
        _cleanup_(link_freep) Link *l = NULL;
        char why[256];

        if (!text || link_from_json(text, &l, why, sizeof why) < 0) {
                log_error("Skipping links/%s: not a link. The file was left as it is.", file);
                return 0;
        }
        if (strlen(l->remote.name) != name_len || strncmp(file, l->remote.name, name_len) != 0 ||
            hashmap_get(m->links_by_name, l->remote.name)) {
                log_error("Skipping links/%s: it names cell '%s'.", file, l->remote.name);
                return 0;
        }
        int r = link_bus_add(m, l);
        if (r >= 0)
                TAKE_PTR(l);
        return r;
}

int link_bus_load(Manager *m) {
        return for_each_json_file(m->links_fd, LINK_FILE_MAX, load_link, m);
}

int link_bus_forget(Manager *m, Link *l) {
        char name[DNS_LABEL_MAX + 6];

        file_name(l->remote.name, name, sizeof name);
        int r = unlink_durable(m->links_fd, name);
        if (r < 0 && r != -ENOENT)
                return r;
        hashmap_remove(m->links_by_name, l->remote.name);
        (void) sd_bus_emit_object_removed(m->bus, l->object_path);
        unit_targets_set(m, UNIT_TARGET_LINK, l->remote.name, false);
        exit_cell_link_gone(m, l->remote.name); /* an exit through it goes too (its peers stay cut off) */
        link_push_cancel(l);
        link_free(l);
        (void) manager_reconcile(m);
        (void) link_bus_sync_dns(m);
        return 0;
}

void link_bus_expire_unconfirmed(Manager *m) {
        uint64_t now = now_usec(CLOCK_REALTIME);
        Link *expired[16];
        size_t n = 0;
        Link *l;

        HASHMAP_FOREACH(l, m->links_by_name)
                if (!l->confirmed && n < ELEMENTSOF(expired) &&
                    now > l->created_usec + m->config.link_confirm_timeout_usec)
                        expired[n++] = l; /* forgotten after the walk: it changes the map */
        for (size_t i = 0; i < n; i++) {
                char name[DNS_LABEL_MAX + 1];
                snprintf(name, sizeof name, "%s", expired[i]->remote.name);
                if (link_bus_forget(m, expired[i]) >= 0)
                        log_warning("Dropped the link with cell %s: no handshake since pairing (the other side "
                                    "does not have it). Pair again with a new invite.", name);
        }
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Link *l = userdata;
        Manager *m = l->manager;
        char name[DNS_LABEL_MAX + 1];

        int r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        snprintf(name, sizeof name, "%s", l->remote.name);
        (void) link_push_farewell(m, l); /* best effort: an unreachable cell keeps its side until removed there */
        r = link_bus_forget(m, l);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to remove the link to %s: %s.", name,
                                         strerror(-r));
        log_info("Removed the link to cell %s.", name);
        return sd_bus_reply_method_return(message, NULL);
}

/* Tells the linked cell again where this cell is and what it shares with it,
 * now (after it lost its state, or to stop waiting out a backoff). */
static int method_resync(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Link *l = userdata;
        Manager *m = l->manager;

        int r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = link_push_mark(m, l, true, true);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store the link to %s: %s.",
                                         l->remote.name, strerror(-r));
        r = link_push_pending(m, l);
        if (r < 0)
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to tell cell %s: %s.", l->remote.name,
                                         strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

/* The newest entry (the others passed already): a known service, not given twice. */
static int shared_check(char *const *l, size_t n, void *userdata) {
        char *why = userdata; /* 160 bytes */
        const char *s = l[n - 1];
        if (!firewall_service_known(s)) {
                snprintf(why, 160, "Shared: '%.*s' is not a service (dns, web, mail, calendar, files, webdav).",
                         utf8_prefix_len(s, 32), s);
                return -EINVAL;
        }
        for (size_t j = 0; j + 1 < n; j++)
                if (streq(l[j], s)) {
                        snprintf(why, 160, "Shared: '%s' is given twice.", s);
                        return -EINVAL;
                }
        return 0;
}

static int method_set_shared(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Link *l = userdata;
        Manager *m = l->manager;
        _cleanup_(strv_freep) char **services = NULL;
        char why[160];
        int r;

        why[0] = 0;
        r = bus_read_strv_bounded(message, 16, 64, shared_check, why, &services);
        if (r == -EINVAL || r == -E2BIG || r == -EMSGSIZE)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        why[0] ? why : "Shared: at most 16 service names.");
        if (r < 0)
                return r;
        r = polkit_verify_async(m->polkit, message, ACTION_MANAGE_LINKS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (strv_equal(services, l->shared))
                return sd_bus_reply_method_return(message, NULL);

        char **old = l->shared;
        bool old_pending = l->push_pending;
        l->shared = services;
        l->push_pending = true; /* stored with the change: the other cell is told, at the latest after a restart */
        r = link_bus_store(m, l);
        if (r < 0) {
                l->shared = old;
                l->push_pending = old_pending;
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store what is shared with %s: %s.",
                                         l->remote.name, strerror(-r));
        }
        services = old; /* freed on the way out */
        /* the whole table: sharing changes are rare, and the table is one transaction */
        r = cell_firewall_rebuild(m);
        if (r < 0)
                log_warning("The firewall does not enforce what is shared with %s yet; it is retried.", l->remote.name);
        char *changed[] = { "Shared", "PendingPush", NULL };
        link_bus_emit_changed(l, changed);
        (void) link_push_pending(m, l);
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable link_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Domain", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VpnSubnet", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DnsAddress", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PublicKey", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SigningKey", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Created", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LatestHandshake", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TxBytes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Shared", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteShared", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PendingPush", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastPushTime", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastPushError", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RefusedMessages", "t", property_get, 0, 0), /* read when wanted: no signal per refusal */
        SD_BUS_PROPERTY("ExitOffered", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteExitOffered", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("OfferExit", SD_BUS_ARGS("b", offer), SD_BUS_NO_RESULT, link_exit_method_offer,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetShared", SD_BUS_ARGS("as", services), SD_BUS_NO_RESULT, method_set_shared,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Resync", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_resync, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int link_bus_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, PIC_LINK_PATH_PREFIX, PIC_LINK_INTERFACE, link_vtable,
                                           link_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, PIC_LINK_PATH_PREFIX, link_enumerate, m);
}
