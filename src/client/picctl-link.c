/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl link: links with other cells — invites, pairing, what each shares with the other,
 * and the uplink one offers the other as an exit. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "json-util.h"
#include "names.h"
#include "picctl.h"
#include "picctl-format.h"
#include "picctl-access.h"
#include "picctl-peer.h"
#include "qr.h"
#include "time-util.h"

#define LINK_LABEL_WIDTH 17   /* strlen("RemoteExitOffered") */

static void help_link(void) {
        printf("picctl link COMMAND ...\n"
               "\n"
               "Links with other cells: each one decides which of its services the other's\n"
               "people may use, and may offer its uplink to the other as an internet exit.\n"
               "\n"
               "  invite [--lifetime DURATION] [--pairing-address HOST:PORT] [--qr]\n"
               "                     Make a one-time invite for another cell to link with this one\n"
               "  invites [--json]   List the open invites\n"
               "  revoke ID          Make an open invite unusable\n"
               "  add INVITE|-       Link with the cell whose invite this is ('-': read it from stdin)\n"
               "  list [--json]      The linked cells: state, subnet, last handshake\n"
               "  show NAME [--json] Everything about one link\n"
               "  share NAME [+SERVICE|-SERVICE]...\n"
               "                     What this cell shares with the linked cell NAME\n"
               "  offer-exit NAME on|off\n"
               "                     Offer this cell's uplink to the linked cell NAME as an exit, or withdraw it\n"
               "  resync NAME        Tell the linked cell again where this cell is and what it shares\n"
               "  remove NAME        Drop the link (the other cell is told and drops its side)\n");
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

/* --- what this cell shares with a linked cell --- */

static int link_path(const char *verb, const char *name, char **ret) {
        if (!dns_label_is_valid(name))
                return usage_error(verb, "'%s' is not a cell name (%s)", name, DNS_LABEL_DOC);
        int r = sd_bus_path_encode(PIC_LINK_PATH_PREFIX, name, ret);
        return r < 0 ? report_error(r, "out of memory") : 0;
}


static void help_share(void) {
        printf("picctl link share NAME [+SERVICE|-SERVICE|SERVICE]...\n"
               "\n"
               "Show which of this cell's services the linked cell NAME (its people) may reach,\n"
               "or share (+SERVICE) and stop sharing (-SERVICE) them: dns, web, mail, calendar,\n"
               "files, webdav. Nothing is shared by default. The firewall follows before the\n"
               "command returns.\n");
}

static int read_shared(Context *c, const char *path, char ***ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        static const BusProperty table[] = { { "Shared", "as", 0 }, {} };
        int r = bus_get_all(c, path, PIC_LINK_INTERFACE, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, table, ret);
        return r < 0 ? report_parse_error(r) : 0;
}

static int print_shared(const char *name, char **shared) {
        _cleanup_(freep) char *text = strv_join(shared, ", ");
        if (!text)
                return report_error(-ENOMEM, "out of memory");
        printf("Shared with %s: %s\n", name, isempty(text) ? "nothing" : text);
        return 0;
}

static int verb_share(int argc, char *argv[], Context *c) {
        _cleanup_(strv_freep) char **current = NULL, **wanted = NULL;
        _cleanup_(freep) AccessChange *changes = calloc((size_t) argc, sizeof *changes);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        const char *name = NULL;
        size_t n = 0;
        int r;

        if (!changes)
                return report_error(-ENOMEM, "out of memory");
        /* by hand, not getopt: "-web" is a change, not an option */
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        help_share();
                        return 0;
                }
                if (streq(argv[i], "--no-ask-password"))
                        c->ask_password = false;
                else if (!name)
                        name = argv[i];
                else if (access_change_parse(argv[i], &changes[n++]) < 0)
                        return usage_error("link share", "'%s' is not a change: use +SERVICE, -SERVICE or SERVICE",
                                           argv[i]);
        }
        if (!name)
                return usage_error("link share", "expected a cell name");
        r = link_path("link share", name, &path);
        if (r != 0)
                return r;
        r = read_shared(c, path, &current);
        if (r < 0)
                return r;
        r = access_changes_apply(current, changes, n, &wanted);
        if (r < 0)
                return report_error(r, "out of memory");
        if (r == 0) /* nothing to change: no call, so no authorization either */
                return print_shared(name, current);
        r = bus_new_call(c, path, PIC_LINK_INTERFACE, "SetShared", &m);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, wanted);
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        r = bus_call(c, m, true, NULL);
        if (r < 0)
                return r;
        current = strv_free(current);
        r = read_shared(c, path, &current); /* what the daemon holds now */
        return r < 0 ? r : print_shared(name, current);
}

/* --- the links themselves --- */

typedef struct LinkInfo {
        char *name, *domain, *vpn_subnet, *dns_address, *endpoint, *public_key, *signing_key, *state;
        uint64_t created, latest_handshake, rx_bytes, tx_bytes, last_push_time;
        char **shared, **remote_shared;
        bool pending_push, exit_offered, remote_exit_offered;
        char *last_push_error;
} LinkInfo;

static const BusProperty link_properties[] = {
        { "Name",            "s", offsetof(LinkInfo, name)             },
        { "Domain",          "s", offsetof(LinkInfo, domain)           },
        { "VpnSubnet",       "s", offsetof(LinkInfo, vpn_subnet)       },
        { "DnsAddress",      "s", offsetof(LinkInfo, dns_address)      },
        { "Endpoint",        "s", offsetof(LinkInfo, endpoint)         },
        { "PublicKey",       "s", offsetof(LinkInfo, public_key)       },
        { "SigningKey",      "s", offsetof(LinkInfo, signing_key)      },
        { "State",           "s", offsetof(LinkInfo, state)            },
        { "Created",         "t", offsetof(LinkInfo, created)          },
        { "LatestHandshake", "t", offsetof(LinkInfo, latest_handshake) },
        { "RxBytes",         "t", offsetof(LinkInfo, rx_bytes)         },
        { "TxBytes",         "t", offsetof(LinkInfo, tx_bytes)         },
        { "Shared",          "as", offsetof(LinkInfo, shared)          },
        { "RemoteShared",    "as", offsetof(LinkInfo, remote_shared)   },
        { "PendingPush",     "b", offsetof(LinkInfo, pending_push)     },
        { "LastPushTime",    "t", offsetof(LinkInfo, last_push_time)   },
        { "LastPushError",   "s", offsetof(LinkInfo, last_push_error)  },
        { "ExitOffered",     "b", offsetof(LinkInfo, exit_offered)     },
        { "RemoteExitOffered", "b", offsetof(LinkInfo, remote_exit_offered) },
        {}
};

static void link_info_done(LinkInfo *i) {
        char **strings[] = { &i->name, &i->domain, &i->vpn_subnet, &i->dns_address, &i->endpoint, &i->public_key,
                             &i->signing_key, &i->state, &i->last_push_error };
        for (size_t k = 0; k < ELEMENTSOF(strings); k++)
                *strings[k] = mfree_str(*strings[k]);
        i->shared = strv_free(i->shared);
        i->remote_shared = strv_free(i->remote_shared);
}

static int link_info_read(Context *c, const char *path, LinkInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = bus_get_all(c, path, PIC_LINK_INTERFACE, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, link_properties, ret);
        return r < 0 ? report_parse_error(r) : 0;
}

typedef struct LinkList {
        LinkInfo *items;
        size_t n;
} LinkList;

static void link_info_clear(void *i) {
        link_info_done(i);
}

static void link_list_done(LinkList *l) {
        bus_objects_free(l->items, l->n, sizeof *l->items, link_info_clear);
}

static void help_list(void) {
        printf("picctl link list [--json]\n"
               "\n"
               "The linked cells: their state, VPN subnet, domain, last handshake, and which\n"
               "way an uplink is offered as an exit: \"to it\" (this cell's, for its peers), \"to us\"\n"
               "(its, for this cell's peers: exit NAME here), \"both ways\" or \"-\".\n");
}

/* The EXIT OFFERED column: whose uplink is offered to whom. */
static const char *exit_offer_text(const LinkInfo *l) {
        if (l->exit_offered && l->remote_exit_offered)
                return "both ways";
        if (l->exit_offered)
                return "to it";
        return l->remote_exit_offered ? "to us" : "-";
}

static int verb_list(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(link_list_done) LinkList links = {};
        bool json = false;
        int r;

        r = parse_link_args("link list", argc, argv, c, help_list, &json, NULL, NULL, NULL);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("link list", "unexpected argument '%s'", argv[optind]);
        r = bus_call_noargs(c, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", false,
                            &reply);
        if (r < 0)
                return r;
        r = bus_read_objects(reply, PIC_LINK_INTERFACE, link_properties, sizeof(LinkInfo), offsetof(LinkInfo, name),
                             link_info_clear, (void **) &links.items, &links.n);
        if (r < 0)
                return report_parse_error(r);
        if (json)
                return print_json(bus_objects_json(link_properties, links.items, links.n, sizeof *links.items));
        if (links.n == 0) {
                printf("No linked cells. Link with one: picctl link add INVITE (ask its admin for 'picctl link invite').\n");
                return 0;
        }
        uint64_t now = now_usec(CLOCK_REALTIME);
        printf("%-16s %-12s %-18s %-24s %-15s %s\n", "CELL", "STATE", "SUBNET", "DOMAIN", "HANDSHAKE",
               "EXIT OFFERED");
        for (size_t i = 0; i < links.n; i++) {
                char ago[FORMAT_AGO_MAX];
                const LinkInfo *l = &links.items[i];
                printf("%-16s %-12s %-18s %-24s %-15s %s\n", strempty(l->name), strempty(l->state),
                       strempty(l->vpn_subnet), strempty(l->domain),
                       format_ago(ago, sizeof ago, l->latest_handshake, now), exit_offer_text(l));
        }
        return 0;
}


static void help_show(void) {
        printf("picctl link show NAME [--json]\n\nEverything about the link with cell NAME.\n");
}

static void print_link_field(const char *label, const char *value) {
        printf("%*s: %s\n", LINK_LABEL_WIDTH, label, value);
}

static int print_link(const LinkInfo *l) {
        char when[FORMAT_TIMESTAMP_MAX], ago[FORMAT_AGO_MAX], told[FORMAT_AGO_MAX], rx[FORMAT_BYTES_MAX],
                tx[FORMAT_BYTES_MAX], traffic[2 * FORMAT_BYTES_MAX + 32];
        _cleanup_(freep) char *shared = strv_join(l->shared, ", ");
        _cleanup_(freep) char *remote = strv_join(l->remote_shared, ", ");
        _cleanup_(freep) char *pending = NULL;
        char remote_exit[128];   /* a cell's name is a DNS label: at most 63 characters */
        uint64_t now = now_usec(CLOCK_REALTIME);

        if (!shared || !remote)
                return report_error(-ENOMEM, "out of memory");
        /* the exit the other cell offers is named after it here */
        snprintf(remote_exit, sizeof remote_exit, "yes (its uplink: exit %s here)", strempty(l->name));
        print_link_field("Name", strempty(l->name));
        print_link_field("State", strempty(l->state));
        print_link_field("Domain", strempty(l->domain));
        print_link_field("VpnSubnet", strempty(l->vpn_subnet));
        print_link_field("DnsAddress", strempty(l->dns_address));
        print_link_field("Endpoint", strempty(l->endpoint));
        print_link_field("PublicKey", strempty(l->public_key));
        print_link_field("SigningKey", strempty(l->signing_key));
        print_link_field("Shared", isempty(shared) ? "nothing" : shared);
        print_link_field("RemoteShared", isempty(remote) ? "nothing" : remote);
        print_link_field("ExitOffered", l->exit_offered ? "yes (this cell's uplink, for its peers)" : "no");
        print_link_field("RemoteExitOffered", l->remote_exit_offered ? remote_exit : "no");
        format_ago(told, sizeof told, l->last_push_time, now);
        if (l->pending_push) {
                if (asprintf(&pending, "not yet%s%s (last told %s)", isempty(l->last_push_error) ? "" : ": ",
                             strempty(l->last_push_error), told) < 0)
                        return report_error(-ENOMEM, "out of memory");
                print_link_field("Told", pending);
        } else
                print_link_field("Told", l->last_push_time ? told : "nothing to tell yet");
        print_link_field("Created", format_timestamp(when, sizeof when, l->created));
        print_link_field("LatestHandshake", format_ago(ago, sizeof ago, l->latest_handshake, now));
        snprintf(traffic, sizeof traffic, "%s received, %s sent", format_bytes(rx, sizeof rx, l->rx_bytes),
                 format_bytes(tx, sizeof tx, l->tx_bytes));
        print_link_field("Traffic", traffic);
        return 0;
}

static int verb_show(int argc, char *argv[], Context *c) {
        _cleanup_(link_info_done) LinkInfo info = {};
        _cleanup_(freep) char *path = NULL;
        bool json = false;
        int r;

        r = parse_link_args("link show", argc, argv, c, help_show, &json, NULL, NULL, NULL);
        if (r != ARGS_PARSED)
                return r;
        if (optind + 1 != argc)
                return usage_error("link show", "expected one cell name");
        r = link_path("link show", argv[optind], &path);
        if (r != 0)
                return r;
        r = link_info_read(c, path, &info);
        if (r < 0)
                return r;
        return json ? print_json(bus_properties_json(link_properties, &info)) : print_link(&info);
}

static void help_add(void) {
        printf("picctl link add INVITE|- [--pairing-address HOST:PORT]\n"
               "\n"
               "Link with the cell that made INVITE ('-': read it from standard input). This cell\n"
               "sends it a pairing request and waits for its signed answer; nothing changes on\n"
               "either side when something collides (subnet, domain) or the invite is refused.\n"
               "\n"
               "  --pairing-address HOST:PORT  Where this cell's gateway takes pairing requests\n"
               "                               (default: the Endpoint's host, port 8283)\n");
}

/* An invite from stdin: one line, at most a few KiB; only the final newline is dropped. */
static int read_invite_stdin(char *buf, size_t size) {
        size_t n = fread(buf, 1, size - 1, stdin);
        if (!feof(stdin))
                return usage_error("link add", "the invite on standard input is longer than %zu bytes", size - 2);
        buf[n] = 0;
        if (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        if (n > 0 && buf[n - 1] == '\r')
                buf[--n] = 0;
        return 0;
}

static int verb_add(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        const char *pairing = NULL, *text, *path;
        char buf[8192];
        int r;

        r = parse_link_args("link add", argc, argv, c, help_add, NULL, NULL, NULL, &pairing);
        if (r != ARGS_PARSED)
                return r;
        if (optind + 1 != argc)
                return usage_error("link add", "expected one invite (or '-' to read it from standard input)");
        text = argv[optind];
        if (streq(text, "-")) {
                r = read_invite_stdin(buf, sizeof buf);
                if (r != 0)
                        return r;
                text = buf;
        }
        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "AddLink", &call);
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "s", text);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && pairing)
                r = sd_bus_message_append(call, "{sv}", "PairingAddress", "s", pairing);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        r = bus_call(c, call, true, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return report_parse_error(r);
        printf("Linked: %s\n", path);
        return 0;
}

static void help_remove(void) {
        printf("picctl link remove NAME\n\nDrop the link with cell NAME (its tunnel, route and DNS forward); cell NAME is told\nonce and drops its side (when it cannot be reached, its side stays until removed there).\n");
}

/* "link VERB NAME": one argument-less method on the link's object. */
static int call_on_link(const char *verb, const char *method, void (*help)(void), int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *path = NULL;
        int r;

        r = parse_link_args(verb, argc, argv, c, help, NULL, NULL, NULL, NULL);
        if (r != ARGS_PARSED)
                return r;
        if (optind + 1 != argc)
                return usage_error(verb, "expected one cell name");
        r = link_path(verb, argv[optind], &path);
        if (r != 0)
                return r;
        return bus_call_noargs(c, path, PIC_LINK_INTERFACE, method, true, &reply);
}

static int verb_remove(int argc, char *argv[], Context *c) {
        return call_on_link("link remove", "Remove", help_remove, argc, argv, c);
}

static void help_resync(void) {
        printf("picctl link resync NAME\n\nTell cell NAME again, now, where this cell is and what it shares with it (after it\nlost its state, or to stop waiting for the next retry). Returns at once; PendingPush\nand LastPushError in 'picctl link show NAME' say how it went.\n");
}

static int verb_resync(int argc, char *argv[], Context *c) {
        return call_on_link("link resync", "Resync", help_resync, argc, argv, c);
}

static void help_offer_exit(void) {
        printf("picctl link offer-exit NAME on|off\n"
               "\n"
               "Offer this cell's uplink to the linked cell NAME as an internet exit for its\n"
               "peers (on), or withdraw the offer (off). NAME is told; there an exit of type\n"
               "cell named after this cell appears, and its admin sends peers through it\n"
               "('picctl peer exit PEER EXIT'). Their traffic leaves by this cell's uplink,\n"
               "masqueraded. Withdrawn, nothing of NAME's leaves through this cell any more.\n");
}

static int verb_offer_exit(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(link_info_done) LinkInfo info = {};
        _cleanup_(freep) char *path = NULL;
        const char *name;
        bool offer;
        int r;

        r = parse_link_args("link offer-exit", argc, argv, c, help_offer_exit, NULL, NULL, NULL, NULL);
        if (r != ARGS_PARSED)
                return r;
        if (optind + 2 != argc)
                return usage_error("link offer-exit", "expected a cell name and on or off");
        name = argv[optind];
        if (streq(argv[optind + 1], "on"))
                offer = true;
        else if (streq(argv[optind + 1], "off"))
                offer = false;
        else
                return usage_error("link offer-exit", "expected on or off, not '%s'", argv[optind + 1]);
        r = link_path("link offer-exit", name, &path);
        if (r != 0)
                return r;
        r = bus_new_call(c, path, PIC_LINK_INTERFACE, "OfferExit", &call);
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "b", (int) offer);
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        r = bus_call(c, call, true, NULL);
        if (r < 0)
                return r;
        r = link_info_read(c, path, &info); /* what the daemon holds now, not what was asked for */
        if (r < 0)
                return r;
        if (info.exit_offered)
                printf("Cell %s may use this cell's uplink as an exit for its peers%s.\n", name,
                       info.pending_push ? " (it is being told: see 'picctl link show')" : "");
        else
                printf("Cell %s may not use this cell's uplink as an exit%s.\n", name,
                       info.pending_push ? " (it is being told: see 'picctl link show')" : "");
        return 0;
}

static const Verb link_verbs[] = {
        { "invite",     verb_invite     },
        { "invites",    verb_invites    },
        { "revoke",     verb_revoke     },
        { "add",        verb_add        },
        { "list",       verb_list       },
        { "show",       verb_show       },
        { "remove",     verb_remove     },
        { "share",      verb_share      },
        { "resync",     verb_resync     },
        { "offer-exit", verb_offer_exit },
        {}
};

int verb_link(int argc, char *argv[], Context *c) {
        return dispatch_group(link_verbs, "link",
                              "invite, invites, revoke, add, list, show, share, offer-exit, resync, remove", help_link,
                              argc, argv, c);
}
