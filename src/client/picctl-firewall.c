/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stddef.h>

#include "picctl.h"
#include "picctl-format.h"
#include "picctl-peer.h"

static void help_firewall(void) {
        printf("picctl firewall [--ruleset] [--json]\n"
               "\n"
               "Show the cell's firewall: the uplink where peers' internet traffic leaves,\n"
               "and which services each peer may reach.\n"
               "\n"
               "  --ruleset   Print the nftables table (inet pic) as the kernel holds it\n"
               "  --json      Print the uplink and the peers' access as a JSON object\n");
}

typedef struct FirewallArgs {
        bool ruleset;
        bool json;
} FirewallArgs;

static int parse_firewall_args(int argc, char *argv[], Context *c, FirewallArgs *a) {
        enum {
                ARG_RULESET = ARG_FIRST_VERB_OPTION,
                ARG_JSON,
        };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "ruleset", no_argument, NULL, ARG_RULESET },
                { "json",    no_argument, NULL, ARG_JSON    },
                {}
        };
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_firewall();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_RULESET:
                        a->ruleset = true;
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                default:
                        return getopt_usage_error("firewall", opt, argv);
                }

        if (optind < argc)
                return usage_error("firewall", "unexpected argument '%s'", argv[optind]);
        /* The ruleset is the kernel's text; there is no JSON of it to give. */
        if (a->ruleset && a->json)
                return usage_error("firewall", "--ruleset and --json do not go together");
        return ARGS_PARSED;
}

static int print_ruleset(Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *ruleset;
        size_t len;
        int r;

        r = bus_call_noargs(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "GetFirewall", false, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &ruleset);
        if (r < 0)
                return report_parse_error(r);

        len = strlen(ruleset);
        fputs(ruleset, stdout);
        if (len > 0 && ruleset[len - 1] != '\n')
                fputc('\n', stdout);
        return 0;
}

typedef struct UplinkInfo {
        char *uplink;
} UplinkInfo;

static const BusProperty uplink_properties[] = {
        { "Uplink", "s", offsetof(UplinkInfo, uplink) },
        {}
};

static int read_uplink(Context *c, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        UplinkInfo info = {};
        int r;

        r = bus_get_all(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, uplink_properties, &info);
        if (r < 0) {
                free(info.uplink);
                return report_parse_error(r);
        }

        *ret = info.uplink;
        return 0;
}

static cJSON *peer_access_to_json(const PeerInfo *p) {
        cJSON *o = cJSON_CreateObject(), *access = json_string_array(p->service_access),
              *networks = json_string_array(p->network_access);

        if (!o || !access || !networks)
                goto fail;
        if (!cJSON_AddStringToObject(o, "Name", strempty(p->name)) ||
            !cJSON_AddStringToObject(o, "Address", strempty(p->address)) ||
            !cJSON_AddBoolToObject(o, "Enabled", p->enabled) ||
            !cJSON_AddItemToObject(o, "ServiceAccess", access))
                goto fail;
        access = NULL; /* owned by o now */
        if (!cJSON_AddItemToObject(o, "NetworkAccess", networks))
                goto fail;
        return o;

fail:
        cJSON_Delete(access);
        cJSON_Delete(networks);
        cJSON_Delete(o);
        return NULL;
}

static cJSON *firewall_to_json(const char *uplink, const PeerInfo *peers, size_t n) {
        cJSON *o = cJSON_CreateObject(), *array = cJSON_CreateArray();

        for (size_t i = 0; array && i < n; i++) {
                cJSON *p = peer_access_to_json(&peers[i]);

                if (!p || !cJSON_AddItemToArray(array, p)) {
                        cJSON_Delete(p);
                        goto fail;
                }
        }

        if (!o || !array || !cJSON_AddStringToObject(o, "Uplink", strempty(uplink)) ||
            !cJSON_AddItemToObject(o, "Peers", array))
                goto fail;
        return o;

fail:
        cJSON_Delete(array);
        cJSON_Delete(o);
        return NULL;
}

enum { COL_NAME, COL_ADDRESS, COL_ENABLED, COL_ACCESS, COL_NETWORKS, N_COLUMNS };

static int print_firewall_table(const char *uplink, const PeerInfo *peers, size_t n) {
        static const char *const header[N_COLUMNS] = { "NAME", "ADDRESS", "ENABLED", "ACCESS", "NETWORKS" };
        _cleanup_(strv_freep) char **access = NULL, **networks = NULL;
        size_t width[N_COLUMNS];

        printf("Uplink: %s\n\n", isempty(uplink) ? "(none)" : uplink);
        if (n == 0) {
                printf("No peers. Add one with 'picctl peer add NAME'.\n");
                return 0;
        }

        /* Filled in order, so it stays a NULL-terminated list even after a failure. */
        access = calloc(n + 1, sizeof(char *));
        networks = calloc(n + 1, sizeof(char *));
        if (!access || !networks)
                return report_error(-ENOMEM, "out of memory");

        for (size_t j = 0; j < N_COLUMNS; j++)
                width[j] = strlen(header[j]);
        for (size_t i = 0; i < n; i++) {
                access[i] = strv_join(peers[i].service_access, ",");
                if (!access[i])
                        return report_error(-ENOMEM, "out of memory");
                networks[i] = strv_join(peers[i].network_access, ",");
                if (!networks[i])
                        return report_error(-ENOMEM, "out of memory");
                width[COL_ACCESS] = MAX(width[COL_ACCESS], strlen(access[i]));
                width[COL_NAME] = MAX(width[COL_NAME], strlen(strempty(peers[i].name)));
                width[COL_ADDRESS] = MAX(width[COL_ADDRESS], strlen(strempty(peers[i].address)));
                width[COL_ENABLED] = MAX(width[COL_ENABLED], strlen("yes"));
        }

        print_table_row(header, width, N_COLUMNS);
        for (size_t i = 0; i < n; i++) {
                const char *row[N_COLUMNS] = {
                        [COL_NAME]    = strempty(peers[i].name),
                        [COL_ADDRESS] = strempty(peers[i].address),
                        [COL_ENABLED] = peers[i].enabled ? "yes" : "no",
                        [COL_ACCESS]  = isempty(access[i]) ? "-" : access[i],
                        [COL_NETWORKS] = isempty(networks[i]) ? "-" : networks[i],
                };

                print_table_row(row, width, N_COLUMNS);
        }
        return 0;
}

int verb_firewall(int argc, char *argv[], Context *c) {
        _cleanup_(freep) char *uplink = NULL;
        FirewallArgs a = {};
        PeerInfo *peers = NULL;
        size_t n = 0;
        int r;

        r = parse_firewall_args(argc, argv, c, &a);
        if (r != ARGS_PARSED)
                return r;

        if (a.ruleset)
                return print_ruleset(c);

        r = read_uplink(c, &uplink);
        if (r < 0)
                return r;
        r = peer_infos_read_all(c, &peers, &n);
        if (r < 0)
                return r;

        if (a.json)
                r = print_json(firewall_to_json(uplink, peers, n));
        else
                r = print_firewall_table(uplink, peers, n);

        peer_infos_free(peers, n);
        return r;
}
