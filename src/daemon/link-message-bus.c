/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-api.h"
#include "exit-cell.h"
#include "link-bus.h"
#include "link-exit.h"
#include "link-message-bus.h"
#include "link-pairing.h"
#include "log.h"
#include "manager.h"
#include "message.h"
#include "nft/firewall.h"
#include "polkit.h"
#include "strv.h"

typedef struct Sender {
        Manager *manager;
        Link *link;
} Sender;

/* Links are few: the sender is found by scanning their keys' fingerprints. */
static const SigningPublicKey *find_sender(const char *from, void *userdata) {
        Sender *s = userdata;
        char fingerprint[SIGNING_FINGERPRINT_LEN];
        Link *l;

        HASHMAP_FOREACH(l, s->manager->links_by_name) {
                signing_fingerprint(&l->remote.signing_key, fingerprint);
                if (streq(fingerprint, from)) {
                        s->link = l;
                        return &l->remote.signing_key;
                }
        }
        return NULL;
}

/* "shared": what the linked cell shares with this one; stored with the counter. */
static int apply_shared(Manager *m, Link *l, const LinkMessage *msg, sd_bus_error *error) {
        for (char **s = msg->services; s && *s; s++)
                if (!firewall_service_known(*s))
                        return sd_bus_error_setf(error, PIC_ERROR_INVALID_MESSAGE,
                                                 "Cell %s shares '%s', which is not a service.", l->remote.name, *s);
        char **copy = strv_copy(msg->services);
        if (msg->services && !copy)
                return -ENOMEM;
        char **old = l->remote_shared;
        uint64_t old_counter = l->rx_counter;
        l->remote_shared = copy;
        l->rx_counter = msg->counter;
        int r = link_bus_store(m, l);
        if (r < 0) {
                l->remote_shared = old;
                l->rx_counter = old_counter;
                strv_free(copy);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to store what cell %s shares: %s.",
                                         l->remote.name, strerror(-r));
        }
        strv_free(old);
        char *changed[] = { "RemoteShared", NULL };
        link_bus_emit_changed(l, changed);
        return 0;
}

/* "identity": the linked cell moved (address, domain, endpoint, keys but its signing key): the link
 * follows in place, with the same checks as pairing. */
static int apply_identity(Manager *m, Link *l, const LinkMessage *msg, sd_bus_error *error) {
        Link *same = NULL, *updated;

        if (!streq(msg->cell.name, l->remote.name) ||
            memcmp(msg->cell.signing_key.bytes, l->remote.signing_key.bytes, SIGNING_PUBLIC_LEN) != 0)
                return sd_bus_error_setf(error, PIC_ERROR_INVALID_MESSAGE,
                                         "Cell %s cannot change its name or signing key: pair again instead.",
                                         l->remote.name);
        int r = link_check_conflicts(m, &msg->cell, &same, error);
        if (r < 0)
                return r;
        return link_add(m, &(LinkAddition) { &msg->cell, msg->counter, l, l->own_pairing, .moved = true }, &updated,
                        error);
}

static int receive_message(Manager *m, sd_bus_message *message, Sender *sender, sd_bus_error *error) {
        _cleanup_(link_message_done) LinkMessage msg = {};
        char own[SIGNING_FINGERPRINT_LEN], why[256], name[DNS_LABEL_MAX + 1];
        const char *text;
        int r;

        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        if (strnlen(text, LINK_MESSAGE_TEXT_MAX + 1) > LINK_MESSAGE_TEXT_MAX)
                return sd_bus_error_setf(error, PIC_ERROR_INVALID_MESSAGE, "A message is at most %d characters.",
                                         LINK_MESSAGE_TEXT_MAX);
        if (!m->has_signing_key)
                return sd_bus_error_set(error, PIC_ERROR_UNKNOWN_CELL, "This cell is linked with no cell.");

        signing_fingerprint(&m->signing_key.public, own);
        r = link_message_decode(text, find_sender, sender, own, &msg, why, sizeof why);
        if (r == -ENOENT)
                return sd_bus_error_set(error, PIC_ERROR_UNKNOWN_CELL, why);
        if (r == -EBADMSG)
                return sd_bus_error_set(error, PIC_ERROR_FORGED, why);
        if (r == -EINVAL)
                return sd_bus_error_set(error, PIC_ERROR_INVALID_MESSAGE, why);
        if (r < 0)
                return r;
        Link *l = sender->link;
        if (msg.counter <= l->rx_counter)
                return sd_bus_error_setf(error, PIC_ERROR_REPLAYED,
                                         "Message %" PRIu64 " from cell %s is not newer than %" PRIu64
                                         " (replayed, or sent out of order).", msg.counter, l->remote.name,
                                         l->rx_counter);

        snprintf(name, sizeof name, "%s", l->remote.name);
        switch (msg.type) {
        case LINK_MESSAGE_SHARED:
                r = apply_shared(m, l, &msg, error);
                break;
        case LINK_MESSAGE_IDENTITY:
                r = apply_identity(m, l, &msg, error);
                break;
        case LINK_MESSAGE_EXIT:
                r = exit_cell_receive_offer(m, l, &msg, error);
                break;
        case LINK_MESSAGE_EXIT_KEY:
                r = link_exit_receive_key(m, l, &msg, error);
                break;
        case LINK_MESSAGE_UNLINK:
                r = link_bus_forget(m, l);
                if (r < 0)
                        r = sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to remove the link to %s: %s.", name,
                                              strerror(-r));
                break;
        default:
                r = -EINVAL;
        }
        if (msg.type == LINK_MESSAGE_IDENTITY || msg.type == LINK_MESSAGE_UNLINK)
                sender->link = NULL; /* replaced or removed: the caller must not touch it */
        if (r < 0)
                return r;
        log_info("Message %" PRIu64 " (%s) from cell %s applied.", msg.counter, link_message_type_to_string(msg.type),
                 name);
        return sd_bus_reply_method_return(message, NULL);
}

/* Refusals are counted (a cell under attack shows it) and logged at debug only: whoever
 * reaches the pairing listener could fill the journal otherwise. */
static int method_receive_message(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Sender sender = { m, NULL };

        int r = polkit_verify_async(m->polkit, message, ACTION_PEER_SYNC, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = receive_message(m, message, &sender, error);
        if (r < 0 && sd_bus_error_is_set(error) && !sd_bus_error_has_name(error, PIC_ERROR_FAILED)) {
                m->refused_messages++;
                if (sender.link)
                        sender.link->refused_messages++;
                log_debug("Refused a message%s%s: %s", sender.link ? " naming cell " : "",
                          sender.link ? sender.link->remote.name : "", error->message);
        }
        return r;
}

static int property_get_refused(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "t", m->refused_messages);
}

static const sd_bus_vtable message_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("ReceiveMessage", SD_BUS_ARGS("s", message), SD_BUS_NO_RESULT,
                                method_receive_message, SD_BUS_VTABLE_UNPRIVILEGED),
        /* no signal per refusal: that would let a stranger make every client wake up */
        SD_BUS_PROPERTY("RefusedMessages", "t", property_get_refused, 0, 0),
        SD_BUS_VTABLE_END,
};

int link_message_bus_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, message_vtable, m);
}
