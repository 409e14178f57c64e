/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl wait-online: like systemd-networkd-wait-online, returns once the cell
 * is online and the peers, links and exits named are up. It follows the
 * daemon's PropertiesChanged signals (Manager.Online, Peer.Connected, the
 * State of links and exits) and never polls; the same properties drive the
 * pic-*.target units, so both agree on what "up" means. */
#include <stdbool.h>
#include <stdlib.h>

#include "names.h"
#include "picctl.h"
#include "strv.h"
#include "time-util.h"

#define DEFAULT_TIMEOUT_USEC (120 * 1000000ULL) /* systemd-networkd-wait-online's */

typedef enum WaitKind { WAIT_CELL, WAIT_PEER, WAIT_LINK, WAIT_EXIT } WaitKind;

static const struct {
        const char *what;      /* for messages */
        const char *interface;
        const char *property;
        const char *up_value;  /* a State string; NULL: the property is a boolean */
        const char *down_text; /* why a boolean is false, for the timeout message */
} kinds[] = {
        [WAIT_CELL] = { "the cell", PIC_MANAGER_INTERFACE, "Online",    NULL, "not online" },
        [WAIT_PEER] = { "peer",     PIC_PEER_INTERFACE,    "Connected", NULL, "no handshake within 180 s" },
        [WAIT_LINK] = { "link",     PIC_LINK_INTERFACE,    "State",     "connected", NULL },
        [WAIT_EXIT] = { "exit",     PIC_EXIT_INTERFACE,    "State",     "up", NULL },
};

typedef struct WaitItem {
        WaitKind kind;
        const char *name; /* NULL for the cell */
        char *path;
        char *state;      /* a State as last seen, or NULL */
        bool up;
} WaitItem;

typedef struct Wait {
        WaitItem *items;
        size_t n;
        bool reread;      /* pic-celld came (back) on the bus: every value is read again */
} Wait;

static void wait_done(Wait *w) {
        for (size_t i = 0; i < w->n; i++) {
                free(w->items[i].path);
                free(w->items[i].state);
        }
        free(w->items);
}

static void help_wait_online(void) {
        printf("picctl wait-online [--peer NAME]... [--link NAME]... [--exit NAME]... [--timeout SECONDS]\n"
               "\n"
               "Wait until the cell is online (set up, its WireGuard serving) and every peer,\n"
               "link and exit named is up, like systemd-networkd-wait-online. A peer is up\n"
               "while it is enabled and its last handshake is less than 180 s old (WireGuard's\n"
               "REJECT_AFTER_TIME), a link while its state is \"connected\", an exit while it\n"
               "is \"up\": what pic-online.target, pic-peer@NAME.target, pic-link@NAME.target\n"
               "and pic-exit@NAME.target stand for. Exits 0 then; after the timeout, non-zero,\n"
               "naming what is not up.\n"
               "\n"
               "  --peer NAME        Wait for the peer NAME too (repeatable)\n"
               "  --link NAME        Wait for the link with the cell NAME too (repeatable)\n"
               "  --exit NAME        Wait for the exit NAME too (repeatable)\n"
               "  --timeout SECONDS  Give up after this long (default 120; 0: never)\n");
}

static int add_item(Wait *w, WaitKind kind, const char *name) {
        WaitItem *items = reallocarray(w->items, w->n + 1, sizeof *items);
        if (!items)
                return report_error(-ENOMEM, "out of memory");
        w->items = items;
        w->items[w->n++] = (WaitItem) { .kind = kind, .name = name };
        return 0;
}

static void describe(const WaitItem *i, char *buf, size_t size) {
        const char *why = i->state ?: kinds[i->kind].down_text;
        if (i->kind == WAIT_CELL)
                snprintf(buf, size, "%s (%s)", kinds[i->kind].what, why);
        else
                snprintf(buf, size, "%s %s (%s)", kinds[i->kind].what, i->name, why);
}

/* The value of the item's property, at a variant in m. */
static int read_value(WaitItem *i, sd_bus_message *m) {
        if (!kinds[i->kind].up_value) {
                int b;
                int r = sd_bus_message_read(m, "v", "b", &b);
                if (r < 0)
                        return r;
                i->up = b;
                i->state = mfree_str(i->state);
                return 0;
        }
        const char *s;
        int r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(i->state);
        i->state = copy;
        i->up = streq(s, kinds[i->kind].up_value);
        return 0;
}

/* Reads the item's property now. @fatal: a missing object is reported (the first read). */
static int read_item(Context *c, WaitItem *i, bool fatal) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        int r = sd_bus_call_method(c->bus, PIC_BUS_NAME, i->path, "org.freedesktop.DBus.Properties", "Get", &e,
                                   &reply, "ss", kinds[i->kind].interface, kinds[i->kind].property);
        if (r < 0) {
                if (fatal && sd_bus_error_has_names(&e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                                    SD_BUS_ERROR_UNKNOWN_PROPERTY))
                        return report_error(-ENOENT, "there is no %s named '%s'", kinds[i->kind].what, i->name);
                if (fatal)
                        return report_error(r, "cannot read %s of %s: %s", kinds[i->kind].property, i->path,
                                            e.message ?: strerror(-r));
                i->up = false; /* gone with a restart of pic-celld, say: not up */
                return 0;
        }
        r = read_value(i, reply);
        return r < 0 ? report_parse_error(r) : 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Wait *w = userdata;
        const char *path = sd_bus_message_get_path(m), *interface, *name;
        int r;

        if (!path || sd_bus_message_read(m, "s", &interface) < 0)
                return 0;
        for (size_t k = 0; k < w->n; k++) {
                WaitItem *i = &w->items[k];
                if (!streq(i->path, path) || !streq(kinds[i->kind].interface, interface))
                        continue;
                /* each item reads the message from its start: the same object may be named twice */
                if (sd_bus_message_rewind(m, true) < 0 || sd_bus_message_skip(m, "s") < 0)
                        return 0;
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
                while (r > 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        r = sd_bus_message_read(m, "s", &name);
                        if (r >= 0)
                                r = streq(name, kinds[i->kind].property) ? read_value(i, m) : sd_bus_message_skip(m, "v");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                _cleanup_(strv_freep) char **invalidated = NULL;
                if (r >= 0 && sd_bus_message_read_strv(m, &invalidated) >= 0 &&
                    strv_contains(invalidated, kinds[i->kind].property))
                        w->reread = true;
        }
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Wait *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, PIC_BUS_NAME))
                return 0;
        if (isempty(new_owner))
                for (size_t k = 0; k < w->n; k++)
                        w->items[k].up = false; /* a new pic-celld says again what is up */
        else
                w->reread = true;
        return 0;
}

static bool all_up(const Wait *w) {
        for (size_t k = 0; k < w->n; k++)
                if (!w->items[k].up)
                        return false;
        return true;
}

static int report_timeout(const Wait *w, uint64_t timeout_usec) {
        char list[1024] = "", one[256];
        size_t len = 0;

        for (size_t k = 0; k < w->n; k++) {
                if (w->items[k].up)
                        continue;
                describe(&w->items[k], one, sizeof one);
                int n = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", one);
                if (n < 0 || (size_t) n >= sizeof list - len)
                        break;
                len += n;
        }
        return report_error(-ETIMEDOUT, "timed out after %g s; not up: %s", (double) timeout_usec / 1e6, list);
}

static int parse_wait_args(int argc, char *argv[], Context *c, Wait *w, uint64_t *timeout_usec) {
        enum { ARG_PEER = ARG_FIRST_VERB_OPTION, ARG_LINK, ARG_EXIT, ARG_TIMEOUT };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "peer",    required_argument, NULL, ARG_PEER    },
                { "link",    required_argument, NULL, ARG_LINK    },
                { "exit",    required_argument, NULL, ARG_EXIT    },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                {}
        };
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_wait_online();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_PEER:
                case ARG_EXIT:
                        if (!peer_name_is_valid(optarg))
                                return usage_error("wait-online", "'%s' is not a %s name (%s)", optarg,
                                                   opt == ARG_PEER ? "peer" : "exit", PEER_NAME_CHARSET_DOC);
                        r = add_item(w, opt == ARG_PEER ? WAIT_PEER : WAIT_EXIT, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_LINK:
                        if (!dns_label_is_valid(optarg))
                                return usage_error("wait-online", "'%s' is not a cell name (%s)", optarg,
                                                   DNS_LABEL_DOC);
                        r = add_item(w, WAIT_LINK, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_TIMEOUT:
                        if (streq(optarg, "0"))
                                *timeout_usec = 0;
                        else if (parse_seconds(optarg, timeout_usec) < 0)
                                return usage_error("wait-online", "--timeout: '%s' is not a number of seconds "
                                                   "(more than 0, at most a day; 0: never give up)", optarg);
                        break;
                default:
                        return getopt_usage_error("wait-online", opt, argv);
                }
        if (optind < argc)
                return usage_error("wait-online", "unexpected argument '%s'", argv[optind]);
        return ARGS_PARSED;
}

static int item_path(Context *c, WaitItem *i) {
        static const char *const prefixes[] = {
                [WAIT_LINK] = PIC_LINK_PATH_PREFIX,
                [WAIT_EXIT] = PIC_EXIT_PATH_PREFIX,
        };
        int r;

        switch (i->kind) {
        case WAIT_CELL:
                i->path = strdup(PIC_MANAGER_PATH);
                return i->path ? 0 : report_error(-ENOMEM, "out of memory");
        case WAIT_PEER:
                return bus_find_peer(c, i->name, &i->path);
        default:
                r = sd_bus_path_encode(prefixes[i->kind], i->name, &i->path);
                return r < 0 ? report_error(r, "out of memory") : 0;
        }
}

int verb_wait_online(int argc, char *argv[], Context *c) {
        _cleanup_(wait_done) Wait w = {};
        uint64_t timeout_usec = DEFAULT_TIMEOUT_USEC;
        sd_bus *bus;
        int r;

        r = add_item(&w, WAIT_CELL, NULL);
        if (r < 0)
                return r;
        r = parse_wait_args(argc, argv, c, &w, &timeout_usec);
        if (r != ARGS_PARSED)
                return r;
        uint64_t deadline = timeout_usec ? now_usec(CLOCK_MONOTONIC) + timeout_usec : UINT64_MAX;

        r = context_get_bus(c, &bus);
        if (r < 0)
                return r;
        /* signals first, then the values: nothing changes unseen in between */
        r = sd_bus_match_signal(bus, NULL, PIC_BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, &w);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                     "member='NameOwnerChanged',arg0='" PIC_BUS_NAME "'",
                                     on_owner_changed, &w);
        if (r < 0)
                return report_error(r, "cannot watch pic-celld's signals: %s", strerror(-r));
        for (size_t k = 0; k < w.n; k++) {
                r = item_path(c, &w.items[k]);
                if (r < 0)
                        return r;
                r = read_item(c, &w.items[k], true);
                if (r < 0)
                        return r;
        }

        while (!all_up(&w)) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return report_error(r, "lost the system bus: %s", strerror(-r));
                if (r > 0)
                        continue;
                if (w.reread) {
                        w.reread = false;
                        for (size_t k = 0; k < w.n; k++)
                                (void) read_item(c, &w.items[k], false);
                        continue;
                }
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return report_timeout(&w, timeout_usec);
                r = sd_bus_wait(bus, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
                if (r < 0)
                        return report_error(r, "lost the system bus: %s", strerror(-r));
        }
        return 0;
}
