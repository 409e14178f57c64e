/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl peer access / peer network: a peer's two lists of grants, shown and
 * changed the same way (+NAME grants, -NAME revokes). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "picctl.h"
#include "picctl-access.h"
#include "picctl-peer.h"
#include "strv.h"

/* The two lists of grants a peer has, edited the same way. */
typedef struct GrantList {
        const char *verb;     /* "access" */
        const char *property; /* "ServiceAccess" */
        const char *what;     /* "SERVICE" */
        const char *help;
        size_t offset;        /* of the char ** in PeerInfo */
} GrantList;

static const GrantList service_grants = {
        "access", "ServiceAccess", "SERVICE",
        "picctl peer access " ACCESS_SYNOPSIS "\n"
        "\n"
        "Show or change which services the peer NAME may reach. Without changes it\n"
        "prints the peer's current access.\n"
        "\n"
        "  +SERVICE, SERVICE   Grant SERVICE: dns web mail calendar files webdav\n"
        "  -SERVICE            Revoke SERVICE\n"
        "\n"
        "Changes apply in order, e.g. 'picctl peer access laptop +files -mail'.\n",
        offsetof(PeerInfo, service_access),
};

static const GrantList network_grants = {
        "network", "NetworkAccess", "NETWORK",
        "picctl peer network " NETWORK_SYNOPSIS "\n"
        "\n"
        "Show or change what the peer NAME may reach beyond the cell's services.\n"
        "Without changes it prints the peer's current networks.\n"
        "\n"
        "  +NETWORK, NETWORK   Grant NETWORK: internet (through the cell's uplink),\n"
        "                      lan (private networks behind the cell), peers (open\n"
        "                      connections to the other peers)\n"
        "  -NETWORK            Revoke NETWORK\n"
        "\n"
        "The cell host itself answers a peer only on its services and to ping.\n"
        "Changes apply in order, e.g. 'picctl peer network laptop +lan -internet'.\n",
        offsetof(PeerInfo, network_access),
};

typedef struct GrantArgs {
        const char *name;
        AccessChange *changes;
        size_t n_changes;
} GrantArgs;

/* Options come before NAME; after it "-mail" is a revocation, not an option, so
 * only the long options are recognised there. */
static int parse_grant_args(int argc, char *argv[], Context *c, const GrantList *g, GrantArgs *a) {
        static const struct option options[] = {
                COMMON_OPTIONS,
                {}
        };
        char label[32];
        bool only_changes = false;
        int opt;

        snprintf(label, sizeof label, "peer %s", g->verb);
        optind = 0;
        while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        fputs(g->help, stdout);
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                default:
                        return getopt_usage_error(label, opt, argv);
                }

        if (optind >= argc)
                return usage_error(label, "missing peer NAME");
        a->name = argv[optind++];

        a->changes = calloc(argc, sizeof(AccessChange));
        if (!a->changes)
                return report_error(-ENOMEM, "out of memory");

        for (int i = optind; i < argc; i++) {
                const char *word = argv[i];

                if (!only_changes && strncmp(word, "--", 2) == 0) {
                        if (streq(word, "--")) {
                                only_changes = true;
                                continue;
                        }
                        if (streq(word, "--help")) {
                                fputs(g->help, stdout);
                                return 0;
                        }
                        if (streq(word, "--no-ask-password")) {
                                c->ask_password = false;
                                continue;
                        }
                        return usage_error(label, "unknown option '%s'", word);
                }

                if (access_change_parse(word, &a->changes[a->n_changes]) < 0)
                        return usage_error(label, "'%s' is not a change: use +%s, -%s or %s", word, g->what, g->what,
                                           g->what);
                a->n_changes++;
        }
        return ARGS_PARSED;
}

static int print_access(const char *name, char **access) {
        _cleanup_(freep) char *text = strv_join(access, ", ");

        if (!text)
                return report_error(-ENOMEM, "out of memory");
        printf("%s: %s\n", name, isempty(text) ? "none" : text);
        return 0;
}

static int call_update_grants(Context *c, const char *path, const GrantList *g, char **list) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(c, path, PIC_PEER_INTERFACE, "Update", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0)
                r = append_strv_entry(m, g->property, list);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return report_error(r, "cannot build the Update call: %s", strerror(-r));
        return bus_call(c, m, true, NULL);
}

static char **grants_of(PeerInfo *info, const GrantList *g) {
        return *(char ***) ((uint8_t *) info + g->offset);
}

static int peer_grants(int argc, char *argv[], Context *c, const GrantList *g) {
        _cleanup_(peer_info_done) PeerInfo info = {};
        _cleanup_(strv_freep) char **list = NULL;
        _cleanup_(freep) char *path = NULL;
        GrantArgs a = {};
        int r;

        r = parse_grant_args(argc, argv, c, g, &a);
        if (r != ARGS_PARSED)
                goto finish;

        r = bus_find_peer(c, a.name, &path);
        if (r < 0)
                goto finish;
        r = peer_info_read(c, path, &info);
        if (r < 0)
                goto finish;

        r = access_changes_apply(grants_of(&info, g), a.changes, a.n_changes, &list);
        if (r < 0) {
                r = report_error(r, "out of memory");
                goto finish;
        }
        /* Nothing to change: no call, so no authorization either. */
        if (r == 0) {
                r = print_access(a.name, grants_of(&info, g));
                goto finish;
        }

        r = call_update_grants(c, path, g, list);
        if (r < 0)
                goto finish;

        /* Show what the daemon holds now, not what we asked for. */
        peer_info_done(&info);
        r = peer_info_read(c, path, &info);
        if (r < 0)
                goto finish;
        r = print_access(a.name, grants_of(&info, g));

finish:
        free(a.changes);
        return r;
}

int peer_access(int argc, char *argv[], Context *c) {
        return peer_grants(argc, argv, c, &service_grants);
}

int peer_network(int argc, char *argv[], Context *c) {
        return peer_grants(argc, argv, c, &network_grants);
}

