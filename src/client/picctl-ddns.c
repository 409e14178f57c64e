/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl ddns: dynamic DNS — how the provider is being kept at the cell's address, and its settings. */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "picctl.h"
#include "picctl-format.h"
#include "picctl-input.h"
#include "picctl-peer.h"

#define DDNS_SET_SYNOPSIS                                                                                      \
        "ddns set [--provider NAME] [--hostname NAME] [--token-file FILE] [--username USER]\n"                  \
        "                 [--password-file FILE] [--zone-id ID] [--record-id ID] [--server URL]\n"              \
        "                 [--address-source uplink|URL]"

/* Far above any provider's token; the daemon names what is wrong with a shorter one. */
#define DDNS_SECRET_FILE_MAX 4096

static void help_ddns(void) {
        printf("picctl ddns [--json]\n"
               "picctl " DDNS_SET_SYNOPSIS "\n"
               "picctl ddns off\n"
               "\n"
               "Dynamic DNS keeps a name at a provider (duckdns, cloudflare, noip, freedns or a\n"
               "dyndns2 server) pointing at the cell's public IPv4 address.\n"
               "\n"
               "Commands:\n"
               "  (none), show   How it is: state, provider, name, the address the provider last\n"
               "                 took and when, and the last error\n"
               "  set            Change settings; those not given keep their value\n"
               "  off            Turn dynamic DNS off and forget every setting and secret\n"
               "\n"
               "Options of set (secrets are read from files, never taken on the command line,\n"
               "which every user of this machine can read; FILE '-' is standard input):\n"
               "  --provider NAME        duckdns, cloudflare, noip, freedns or dyndns2\n"
               "  --hostname NAME        The name to keep at the address (duckdns: NAME.duckdns.org)\n"
               "  --token-file FILE      duckdns, cloudflare, freedns: the token, first line of FILE\n"
               "  --username USER        noip, dyndns2: the account's user name\n"
               "  --password-file FILE   noip, dyndns2: the password, first line of FILE\n"
               "  --zone-id ID           cloudflare: the zone's id (32 hex digits)\n"
               "  --record-id ID         cloudflare: the A record's id (32 hex digits)\n"
               "  --server URL           dyndns2: https://HOST[:PORT][/PATH] of the update URL\n"
               "  --address-source SRC   'uplink' (the uplink's address; the default) or an https\n"
               "                         URL answering with the cell's public address\n"
               "  --json                 (show) Print it as one JSON object\n");
}

typedef struct DdnsInfo {
        char *state, *provider, *hostname, *address_source, *address, *last_error;
        uint64_t last_update;
} DdnsInfo;

static const BusProperty ddns_properties[] = {
        { "DdnsState",         "s", offsetof(DdnsInfo, state)          },
        { "DdnsProvider",      "s", offsetof(DdnsInfo, provider)       },
        { "DdnsHostname",      "s", offsetof(DdnsInfo, hostname)       },
        { "DdnsAddressSource", "s", offsetof(DdnsInfo, address_source) },
        { "DdnsAddress",       "s", offsetof(DdnsInfo, address)        },
        { "DdnsLastUpdate",    "t", offsetof(DdnsInfo, last_update)    },
        { "DdnsLastError",     "s", offsetof(DdnsInfo, last_error)     },
        {}
};

static void ddns_info_done(DdnsInfo *i) {
        free(i->state);
        free(i->provider);
        free(i->hostname);
        free(i->address_source);
        free(i->address);
        free(i->last_error);
}

static int ddns_show(Context *c, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *props = NULL;
        _cleanup_(ddns_info_done) DdnsInfo info = {};
        char when[FORMAT_TIMESTAMP_MAX];
        int r;

        r = bus_get_all(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, &props);
        if (r < 0)
                return r;
        r = bus_read_properties(props, ddns_properties, &info);
        if (r < 0)
                return report_parse_error(r);
        if (json)
                return print_json(bus_properties_json(ddns_properties, &info));

        printf("State: %s\n", strempty(info.state));
        if (isempty(info.provider)) {
                printf("Dynamic DNS is off; turn it on with 'picctl ddns set --provider NAME --hostname NAME ...'.\n");
                return 0;
        }
        printf("Provider: %s\n"
               "Hostname: %s\n"
               "Address from: %s\n"
               "Address told: %s\n"
               "Last update: %s\n",
               info.provider, strempty(info.hostname), strempty(info.address_source),
               isempty(info.address) ? "none yet" : info.address,
               format_timestamp(when, sizeof(when), info.last_update));
        if (!isempty(info.last_error))
                printf("Last error: %s\n", info.last_error);
        return 0;
}

/* One Configure call with the Ddns* keys in @keys (key, value, key, value, …, NULL). */
static int ddns_configure(Context *c, char *const *keys) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Configure", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        for (char *const *k = keys; r >= 0 && k[0] && k[1]; k += 2)
                r = sd_bus_message_append(m, "{sv}", k[0], "s", k[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return report_error(r, "cannot build the Configure call: %s", strerror(-r));
        return bus_call(c, m, true, NULL);
}

static int read_secret_option(const char *option, const char *path, char **ret) {
        int r = read_secret_line_file(path, DDNS_SECRET_FILE_MAX, ret);
        if (r == -EFBIG)
                return report_error(r, "%s %s: the first line is longer than %d bytes", option, path,
                                    DDNS_SECRET_FILE_MAX);
        if (r == -ENODATA)
                return report_error(r, "%s %s: the first line is empty", option, path);
        if (r == -EBADMSG)
                return report_error(r, "%s %s: the first line holds a control character or is not UTF-8", option,
                                    path);
        if (r < 0)
                return report_error(r, "%s %s: %s", option, path, strerror(-r));
        return 0;
}

static int ddns_set(int argc, char *argv[], Context *c) {
        enum {
                ARG_PROVIDER = ARG_FIRST_VERB_OPTION,
                ARG_HOSTNAME,
                ARG_TOKEN_FILE,
                ARG_USERNAME,
                ARG_PASSWORD_FILE,
                ARG_ZONE_ID,
                ARG_RECORD_ID,
                ARG_SERVER,
                ARG_ADDRESS_SOURCE,
        };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "provider",       required_argument, NULL, ARG_PROVIDER       },
                { "hostname",       required_argument, NULL, ARG_HOSTNAME       },
                { "token-file",     required_argument, NULL, ARG_TOKEN_FILE     },
                { "username",       required_argument, NULL, ARG_USERNAME       },
                { "password-file",  required_argument, NULL, ARG_PASSWORD_FILE  },
                { "zone-id",        required_argument, NULL, ARG_ZONE_ID        },
                { "record-id",      required_argument, NULL, ARG_RECORD_ID      },
                { "server",         required_argument, NULL, ARG_SERVER         },
                { "address-source", required_argument, NULL, ARG_ADDRESS_SOURCE },
                {}
        };
        /* The bus key of each option, by its value minus ARG_PROVIDER. */
        static const char *const keys[] = { "DdnsProvider", "DdnsHostname", "DdnsToken", "DdnsUsername", "DdnsPassword",
                                            "DdnsZoneId", "DdnsRecordId", "DdnsServer", "DdnsAddressSource" };
        const char *given[ELEMENTSOF(keys)] = {};
        _cleanup_(erase_and_freep) char *token = NULL, *password = NULL;
        char *pairs[2 * ELEMENTSOF(keys) + 1] = {};
        size_t n = 0;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_ddns();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_PROVIDER ... ARG_ADDRESS_SOURCE:
                        if (given[opt - ARG_PROVIDER])
                                return usage_error("ddns set", "%s is given twice", argv[optind - 1]);
                        given[opt - ARG_PROVIDER] = optarg;
                        break;
                default:
                        return getopt_usage_error("ddns set", opt, argv);
                }
        if (optind < argc)
                return usage_error("ddns set", "unexpected argument '%s'", argv[optind]);

        if (given[ARG_TOKEN_FILE - ARG_PROVIDER]) {
                r = read_secret_option("--token-file", given[ARG_TOKEN_FILE - ARG_PROVIDER], &token);
                if (r < 0)
                        return r;
                given[ARG_TOKEN_FILE - ARG_PROVIDER] = token;
        }
        if (given[ARG_PASSWORD_FILE - ARG_PROVIDER]) {
                r = read_secret_option("--password-file", given[ARG_PASSWORD_FILE - ARG_PROVIDER], &password);
                if (r < 0)
                        return r;
                given[ARG_PASSWORD_FILE - ARG_PROVIDER] = password;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (given[i]) {
                        pairs[n++] = (char *) keys[i];
                        pairs[n++] = (char *) given[i];
                }
        if (n == 0)
                return usage_error("ddns set", "give at least one setting (picctl ddns --help lists them)");

        r = ddns_configure(c, pairs);
        if (r < 0)
                return r;
        printf("Dynamic DNS settings changed; 'picctl ddns' shows how it goes.\n");
        return 0;
}

static int verb_ddns_show(int argc, char *argv[], Context *c) {
        bool json = false;
        int r = parse_json_only(argc, argv, c, help_ddns, "ddns", &json);
        if (r != ARGS_PARSED)
                return r;
        return ddns_show(c, json);
}

static int verb_ddns_off(int argc, char *argv[], Context *c) {
        int r = parse_no_args(argc, argv, c, help_ddns);
        if (r != ARGS_PARSED)
                return r;
        r = ddns_configure(c, (char *[]) { (char *) "DdnsProvider", (char *) "", NULL });
        if (r < 0)
                return r;
        printf("Dynamic DNS is off; its settings and secrets are forgotten.\n");
        return 0;
}

static const Verb ddns_verbs[] = {
        { "show", verb_ddns_show },
        { "set",  ddns_set       },
        { "off",  verb_ddns_off  },
        {}
};

int verb_ddns(int argc, char *argv[], Context *c) {
        /* "picctl ddns" and "picctl ddns --json" show it, as "picctl dns" does */
        if (argc < 2 || argv[1][0] == '-')
                return verb_ddns_show(argc, argv, c);
        return dispatch_verb(ddns_verbs, "ddns", argc - 1, argv + 1, c);
}
