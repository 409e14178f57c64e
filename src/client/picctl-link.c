/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl link: links with other cells — for now their first step, invites. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "json-util.h"
#include "picctl.h"
#include "picctl-peer.h"
#include "qr.h"

static void help_link(void) {
        printf("picctl link COMMAND ...\n"
               "\n"
               "Links with other cells: each one decides which of its services the other's\n"
               "people may use.\n"
               "\n"
               "  invite [--lifetime DURATION] [--pairing-address HOST:PORT] [--qr]\n"
               "                     Make a one-time invite for another cell to link with this one\n"
               "  invites [--json]   List the open invites\n"
               "  revoke ID          Make an open invite unusable\n");
}

/* "90", "90s", "30m", "2h", "7d": whole seconds, minutes, hours or days. */
static int parse_duration(const char *s, uint32_t *ret) {
        char *end;
        unsigned long long n, unit = 1;

        if (!s[0] || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        n = strtoull(s, &end, 10);
        if (errno != 0)
                return -EINVAL;
        if (streq(end, "d"))
                unit = 86400;
        else if (streq(end, "h"))
                unit = 3600;
        else if (streq(end, "m"))
                unit = 60;
        else if (!streq(end, "s") && !streq(end, ""))
                return -EINVAL;
        if (n > UINT32_MAX / unit)
                return -ERANGE;
        *ret = (uint32_t) (n * unit);
        return 0;
}

static void format_time(uint64_t t, char *buf, size_t size) {
        time_t tt = (time_t) t;
        struct tm tm;
        if (!localtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "%" PRIu64, t);
}

/* Options every link command takes; *json, *qr when the caller passes them. */
static int parse_link_args(const char *verb, int argc, char *argv[], Context *c, void (*help)(void),
                           bool *json, bool *qr, uint32_t *lifetime, const char **pairing) {
        enum { ARG_JSON = ARG_FIRST_VERB_OPTION, ARG_QR, ARG_LIFETIME, ARG_PAIRING };
        const struct option all[] = {
                COMMON_OPTIONS,
                { "json",            no_argument,       NULL, ARG_JSON     },
                { "qr",              no_argument,       NULL, ARG_QR       },
                { "lifetime",        required_argument, NULL, ARG_LIFETIME },
                { "pairing-address", required_argument, NULL, ARG_PAIRING  },
                {}
        };
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", all, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_JSON:
                        if (!json)
                                return usage_error(verb, "--json is not an option here");
                        *json = true;
                        break;
                case ARG_QR:
                        if (!qr)
                                return usage_error(verb, "--qr is not an option here");
                        *qr = true;
                        break;
                case ARG_LIFETIME:
                        if (!lifetime)
                                return usage_error(verb, "--lifetime is not an option here");
                        if (parse_duration(optarg, lifetime) < 0)
                                return usage_error(verb, "--lifetime must be a duration like 90m, 24h or 7d, not '%s'",
                                                   optarg);
                        break;
                case ARG_PAIRING:
                        if (!pairing)
                                return usage_error(verb, "--pairing-address is not an option here");
                        *pairing = optarg;
                        break;
                default:
                        return getopt_usage_error(verb, opt, argv);
                }
        return ARGS_PARSED;
}

static void help_invite(void) {
        printf("picctl link invite [--lifetime DURATION] [--pairing-address HOST:PORT] [--qr]\n"
               "\n"
               "Make a one-time invite: another cell that adds it (picctl link add) links with\n"
               "this one. Whoever holds it can do so once, until it expires: hand it over\n"
               "privately. It needs the cell's Endpoint.\n"
               "\n"
               "  --lifetime DURATION          How long it may be used: 1m to 7d (default 24h)\n"
               "  --pairing-address HOST:PORT  Where this cell's gateway takes pairing requests\n"
               "                               (default: the Endpoint's host, port 8283)\n"
               "  --qr                         Show it as a QR code too\n");
}

static int verb_invite(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        uint32_t lifetime = 0;
        const char *pairing = NULL, *text;
        bool qr = false;
        uint64_t expires;
        char when[64];
        int r;

        r = parse_link_args("link invite", argc, argv, c, help_invite, NULL, &qr, &lifetime, &pairing);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("link invite", "unexpected argument '%s'", argv[optind]);

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "CreateInvite", &call);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && lifetime > 0)
                r = sd_bus_message_append(call, "{sv}", "Lifetime", "u", lifetime);
        if (r >= 0 && pairing)
                r = sd_bus_message_append(call, "{sv}", "PairingAddress", "s", pairing);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        r = bus_call(c, call, true, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "st", &text, &expires);
        if (r < 0)
                return report_parse_error(r);

        printf("%s\n", text);
        if (qr) {
                _cleanup_(freep) char *code = NULL;
                r = qr_render_text(text, QR_QUIET_ZONE_DEFAULT, QR_INK_LIGHT, &code);
                if (r < 0)
                        return report_error(r, "cannot make a QR code: %s", strerror(-r));
                fputs(code, stdout);
        }
        format_time(expires, when, sizeof when);
        fprintf(stderr, "One use, until %s. Hand it over privately: whoever holds it can link with this cell.\n",
                when);
        return 0;
}

static void help_invites(void) {
        printf("picctl link invites [--json]\n\nList the open invites: id, made, expires.\n");
}

static int verb_invites(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(cjson_deletep) cJSON *list = NULL;
        bool json = false;
        const char *id;
        uint64_t created, expires;
        int r;

        r = parse_link_args("link invites", argc, argv, c, help_invites, &json, NULL, NULL, NULL);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("link invites", "unexpected argument '%s'", argv[optind]);
        r = bus_call_noargs(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "ListInvites", false, &reply);
        if (r < 0)
                return r;
        if (json && !(list = cJSON_CreateArray()))
                return report_error(-ENOMEM, "out of memory");
        r = sd_bus_message_enter_container(reply, 'a', "(stt)");
        if (r >= 0 && !json)
                printf("%-22s  %-23s  %s\n", "ID", "MADE", "EXPIRES");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(stt)", &id, &created, &expires)) > 0) {
                if (json) {
                        cJSON *o = cJSON_CreateObject();
                        if (!o || !cJSON_AddItemToArray(list, o) || !cJSON_AddStringToObject(o, "Id", id) ||
                            !cJSON_AddNumberToObject(o, "Created", (double) created) ||
                            !cJSON_AddNumberToObject(o, "Expires", (double) expires))
                                return report_error(-ENOMEM, "out of memory");
                        continue;
                }
                char made[64], until[64];
                format_time(created, made, sizeof made);
                format_time(expires, until, sizeof until);
                printf("%-22s  %-23s  %s\n", id, made, until);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return report_parse_error(r);
        return json ? print_json(TAKE_PTR(list)) : 0;
}

static void help_revoke(void) {
        printf("picctl link revoke ID\n\nMake the open invite ID (picctl link invites) unusable at once.\n");
}

static int verb_revoke(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r;

        r = parse_link_args("link revoke", argc, argv, c, help_revoke, NULL, NULL, NULL, NULL);
        if (r != ARGS_PARSED)
                return r;
        if (optind + 1 != argc)
                return usage_error("link revoke", "expected one invite id");
        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "RevokeInvite", &call);
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "s", argv[optind]);
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        return bus_call(c, call, true, &reply);
}

static const Verb link_verbs[] = {
        { "invite",  verb_invite  },
        { "invites", verb_invites },
        { "revoke",  verb_revoke  },
        {}
};

int verb_link(int argc, char *argv[], Context *c) {
        return dispatch_group(link_verbs, "link", "invite, invites, revoke", help_link, argc, argv, c);
}
