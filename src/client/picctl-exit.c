/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl exit: other ways out to the internet for chosen peers (org.pic.Cell1.Exit),
 * and picctl peer exit, which sends a peer through one. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cidr.h"
#include "exit/ssh-settings.h"
#include "json-util.h"
#include "names.h"
#include "picctl.h"
#include "picctl-exit.h"
#include "picctl-format.h"
#include "picctl-input.h"
#include "picctl-peer.h"
#include "proxy-url.h"
#include "time-util.h"

#define EXIT_LABEL_WIDTH 15   /* strlen("LatestHandshake") */
/* Exit names follow the rules of peer names (the daemon checks them with peer_name_is_valid()). */
#define EXIT_TYPE_MAX 32      /* "wireguard", "openvpn", …: a word */
#define EXIT_TARGET_MAX (SSH_USER_MAX + sizeof "@255.255.255.255:65535" - 1)

static void help_exit(void) {
        printf("picctl exit COMMAND ...\n"
               "\n"
               "Other ways out to the internet for chosen peers: a VPN provider's WireGuard\n"
               "server, say. A peer sent through an exit ('picctl peer exit') leaves only by it;\n"
               "while the exit is not up its internet traffic is dropped, never sent out by the\n"
               "cell's own uplink. A linked cell that offers this cell its uplink ('picctl link\n"
               "offer-exit' there) is an exit of type cell, named after it, by itself.\n"
               "\n"
               "  add NAME --type wireguard|openvpn --config FILE|- [--test-target HOST:PORT]\n"
               "                     Add an exit from a wg-quick or .ovpn file ('-': standard\n"
               "                     input)\n"
               "  add NAME --type tor [--test-target HOST:PORT]\n"
               "                     Add an exit through tor\n"
               "  add NAME --type proxy --proxy URL|- [--dns IP]...\n"
               "      [--test-target HOST:PORT]\n"
               "                     Add an exit through a SOCKS5 or HTTP proxy\n"
               "  add NAME --type sshuttle --target USER@ADDRESS[:PORT] --ssh-key FILE|-\n"
               "      --host-key 'TYPE BASE64'|--host-key-file FILE [--dns IP]\n"
               "      [--test-target HOST:PORT]\n"
               "                     Add an exit through an SSH server (sshuttle)\n"
               "  list [--json]      The exits: state, endpoint, peers using them, traffic\n"
               "  show NAME [--json] Everything about one exit\n"
               "  update NAME [--config FILE|-] [--proxy URL|-] [--target USER@ADDRESS[:PORT]]\n"
               "      [--ssh-key FILE|-] [--host-key 'TYPE BASE64'|--host-key-file FILE]\n"
               "      [--dns IP]... [--test-target HOST:PORT]\n"
               "                     Replace its file, proxy, SSH server or keys, resolvers or\n"
               "                     test target\n"
               "  test NAME          Connect to its test target through it only; print the time\n"
               "  remove NAME        Remove an exit no peer uses (not one of type cell)\n");
}

bool proxy_url_plausible(const char *s) {
        return string_is_printable_ascii(s, PROXY_URL_MAX) &&
               (strncmp(s, "socks5://", 9) == 0 || strncmp(s, "http://", 7) == 0);
}

/* USER@ADDRESS[:PORT], roughly: the daemon's ssh_target_parse() has the last word. */
static bool ssh_target_plausible(const char *s) {
        const char *at = strchr(s, '@');
        return string_is_printable_ascii(s, EXIT_TARGET_MAX) && at && at != s && at[1] && !strchr(s, ' ');
}

/* The settings options (add, update) come last, in a row. */
enum { ARG_JSON = ARG_FIRST_VERB_OPTION, ARG_TYPE, ARG_CONFIG, ARG_TEST_TARGET, ARG_PROXY, ARG_PROXY_FILE, ARG_TARGET,
       ARG_SSH_KEY, ARG_HOST_KEY, ARG_HOST_KEY_FILE, ARG_DNS };

/* An option of add and update: what a command without them says, and what is checked before reading any file. */
static int parse_input_option(const char *verb, int opt, const char *name, char *arg, ExitInput *in) {
        uint32_t address;
        size_t n_dns;

        if (!in)
                return usage_error(verb, "--%s is not an option here", name);
        switch (opt) {
        case ARG_CONFIG:
                in->config = arg;
                break;
        case ARG_TEST_TARGET:
                if (endpoint_validate(arg) < 0)
                        return usage_error(verb, "--test-target must be HOST:PORT, such as 1.1.1.1:443, not '%s'", arg);
                in->test_target = arg;
                break;
        case ARG_PROXY:
        case ARG_PROXY_FILE:
                if (in->proxy || in->proxy_file)
                        return usage_error(verb, "give the proxy once: --proxy URL, --proxy - or --proxy-file FILE");
                /* never quoted: it may hold a password */
                if (opt == ARG_PROXY && !streq(arg, "-") && !proxy_url_plausible(arg))
                        return usage_error(verb, "--proxy must be socks5://… or http://… (at most %u printable "
                                           "characters), or '-' to read it from standard input", PROXY_URL_MAX);
                *(opt == ARG_PROXY ? &in->proxy : &in->proxy_file) = arg;
                break;
        case ARG_TARGET:
                if (!ssh_target_plausible(arg))
                        return usage_error(verb, "--target must be USER@ADDRESS[:PORT], such as pic@192.0.2.10, "
                                           "not '%s'", arg);
                in->target = arg;
                break;
        case ARG_SSH_KEY:
                in->ssh_key = arg;
                break;
        case ARG_HOST_KEY:
        case ARG_HOST_KEY_FILE:
                if (in->host_key || in->host_key_file)
                        return usage_error(verb, "give the host key once: --host-key 'TYPE BASE64' or "
                                           "--host-key-file FILE");
                if (opt == ARG_HOST_KEY && !(string_is_printable_ascii(arg, SSH_HOST_KEY_MAX) &&
                                             public_key_prefix_len(arg) > 0))
                        return usage_error(verb, "--host-key must be the server's public key, its type, a space and "
                                           "the key in base64 ('ssh-ed25519 AAAA…'), or use --host-key-file FILE "
                                           "(a .pub file such as /etc/ssh/ssh_host_ed25519_key.pub)");
                *(opt == ARG_HOST_KEY ? &in->host_key : &in->host_key_file) = arg;
                break;
        case ARG_DNS:
                if (ipv4_parse(arg, &address) < 0)
                        return usage_error(verb, "--dns must be an IPv4 address, such as 1.1.1.1, not '%s'", arg);
                n_dns = strv_length((char **) in->dns);
                if (n_dns >= EXIT_DNS_MAX)
                        return usage_error(verb, "at most %u --dns", EXIT_DNS_MAX);
                in->dns[n_dns] = arg;
                break;
        }
        return ARGS_PARSED;
}

int parse_exit_args(const char *verb, int argc, char *argv[], Context *c, void (*help)(void), const ExitArgs *a) {
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "json",          no_argument,       NULL, ARG_JSON          },
                { "type",          required_argument, NULL, ARG_TYPE          },
                { "config",        required_argument, NULL, ARG_CONFIG        },
                { "test-target",   required_argument, NULL, ARG_TEST_TARGET   },
                { "proxy",         required_argument, NULL, ARG_PROXY         },
                { "proxy-file",    required_argument, NULL, ARG_PROXY_FILE    },
                { "target",        required_argument, NULL, ARG_TARGET        },
                { "ssh-key",       required_argument, NULL, ARG_SSH_KEY       },
                { "host-key",      required_argument, NULL, ARG_HOST_KEY      },
                { "host-key-file", required_argument, NULL, ARG_HOST_KEY_FILE },
                { "dns",           required_argument, NULL, ARG_DNS           },
                {}
        };
        int opt, option_index, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, &option_index)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_JSON:
                        if (!a->json)
                                return usage_error(verb, "--json is not an option here");
                        *a->json = true;
                        break;
                case ARG_TYPE:
                        if (!a->type)
                                return usage_error(verb, "--type is not an option here");
                        if (!string_is_printable_ascii(optarg, EXIT_TYPE_MAX) || isempty(optarg))
                                return usage_error(verb, "--type must be an exit type such as wireguard, not '%s'",
                                                   optarg);
                        *a->type = optarg;
                        break;
                case ARG_CONFIG ... ARG_DNS:
                        r = parse_input_option(verb, opt, options[option_index].name, optarg, a->input);
                        if (r != ARGS_PARSED)
                                return r;
                        break;
                default:
                        return getopt_usage_error(verb, opt, argv);
                }
        return ARGS_PARSED;
}

int exit_path_arg(const char *verb, int argc, char *argv[], const char **ret_name, char **ret_path) {
        if (optind >= argc)
                return usage_error(verb, "expected an exit name");
        if (optind + 1 < argc)
                return usage_error(verb, "unexpected argument '%s'", argv[optind + 1]);
        if (!peer_name_is_valid(argv[optind]))
                return usage_error(verb, "'%s' is not an exit name (%s)", argv[optind], PEER_NAME_CHARSET_DOC);
        int r = sd_bus_path_encode(PIC_EXIT_PATH_PREFIX, argv[optind], ret_path);
        if (r < 0)
                return report_error(r, "out of memory");
        *ret_name = argv[optind];
        return ARGS_PARSED;
}

/* --- what the bus says about an exit --- */

static const BusProperty exit_properties[] = {
        { "Name",            "s",  offsetof(ExitInfo, name)             },
        { "Type",            "s",  offsetof(ExitInfo, type)             },
        { "State",           "s",  offsetof(ExitInfo, state)            },
        { "LastError",       "s",  offsetof(ExitInfo, last_error)       },
        { "Unit",            "s",  offsetof(ExitInfo, unit)             },
        { "Interface",       "s",  offsetof(ExitInfo, interface)        },
        { "Mark",            "u",  offsetof(ExitInfo, mark)             },
        { "Table",           "u",  offsetof(ExitInfo, table)            },
        { "Address",         "s",  offsetof(ExitInfo, address)          },
        { "Endpoint",        "s",  offsetof(ExitInfo, endpoint)         },
        { "DnsServers",      "as", offsetof(ExitInfo, dns_servers)      },
        { "TestTarget",      "s",  offsetof(ExitInfo, test_target)      },
        { "Created",         "t",  offsetof(ExitInfo, created)          },
        { "LatestHandshake", "t",  offsetof(ExitInfo, latest_handshake) },
        { "RxBytes",         "t",  offsetof(ExitInfo, rx_bytes)         },
        { "TxBytes",         "t",  offsetof(ExitInfo, tx_bytes)         },
        { "PeerCount",       "u",  offsetof(ExitInfo, peer_count)       },
        {}
};

void exit_info_done(ExitInfo *i) {
        char **strings[] = { &i->name, &i->type, &i->state, &i->last_error, &i->unit, &i->interface, &i->address,
                             &i->endpoint, &i->test_target };
        for (size_t k = 0; k < ELEMENTSOF(strings); k++)
                *strings[k] = mfree_str(*strings[k]);
        i->dns_servers = strv_free(i->dns_servers);
}

int exit_info_read(Context *c, const char *path, ExitInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = bus_get_all(c, path, PIC_EXIT_INTERFACE, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, exit_properties, ret);
        return r < 0 ? report_parse_error(r) : 0;
}

typedef struct ExitList {
        ExitInfo *items;
        size_t n;
} ExitList;

static void exit_info_clear(void *i) {
        exit_info_done(i);
}

static void exit_list_done(ExitList *l) {
        bus_objects_free(l->items, l->n, sizeof *l->items, exit_info_clear);
}

/* --- list, show --- */

static void help_list(void) {
        printf("picctl exit list [--json]\n\nThe exits: type, state, endpoint, the peers using them, last handshake and\ntraffic.\n");
}

enum { COL_NAME, COL_TYPE, COL_STATE, COL_ENDPOINT, COL_PEERS, COL_HANDSHAKE, COL_RX, COL_TX, N_COLUMNS };

static void print_exits_table(const ExitList *l) {
        static const char *const header[N_COLUMNS] = { "NAME", "TYPE", "STATE", "ENDPOINT", "PEERS", "HANDSHAKE",
                                                        "RX", "TX" };
        char peers[16], ago[FORMAT_AGO_MAX], rx[FORMAT_BYTES_MAX], tx[FORMAT_BYTES_MAX];
        size_t width[N_COLUMNS];
        uint64_t now = now_usec(CLOCK_REALTIME);

        /* two passes over the same cells: widths first, then the rows */
        for (size_t j = 0; j < N_COLUMNS; j++)
                width[j] = strlen(header[j]);
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1)
                        print_table_row(header, width, N_COLUMNS);
                for (size_t i = 0; i < l->n; i++) {
                        const ExitInfo *e = &l->items[i];
                        snprintf(peers, sizeof peers, "%" PRIu32, e->peer_count);
                        const char *row[N_COLUMNS] = {
                                strempty(e->name), strempty(e->type), strempty(e->state),
                                isempty(e->endpoint) ? "-" : e->endpoint, peers,
                                format_ago(ago, sizeof ago, e->latest_handshake, now),
                                format_bytes(rx, sizeof rx, e->rx_bytes), format_bytes(tx, sizeof tx, e->tx_bytes),
                        };
                        for (size_t j = 0; j < N_COLUMNS && pass == 0; j++)
                                width[j] = MAX(width[j], strlen(row[j]));
                        if (pass == 1)
                                print_table_row(row, width, N_COLUMNS);
                }
        }
}

static int verb_list(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(exit_list_done) ExitList exits = {};
        bool json = false;
        int r;

        r = parse_exit_args("exit list", argc, argv, c, help_list, &(ExitArgs) { .json = &json });
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("exit list", "unexpected argument '%s'", argv[optind]);
        r = bus_call_noargs(c, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", false,
                            &reply);
        if (r < 0)
                return r;
        r = bus_read_objects(reply, PIC_EXIT_INTERFACE, exit_properties, sizeof(ExitInfo), offsetof(ExitInfo, name),
                             exit_info_clear, (void **) &exits.items, &exits.n);
        if (r < 0)
                return report_parse_error(r);
        if (json)
                return print_json(bus_objects_json(exit_properties, exits.items, exits.n, sizeof *exits.items));
        if (exits.n == 0) {
                printf("No exits. Add one: picctl exit add NAME --type wireguard --config FILE\n"
                       "(a linked cell that offers its uplink appears here by itself).\n");
                return 0;
        }
        print_exits_table(&exits);
        return 0;
}

static void help_show(void) {
        printf("picctl exit show NAME [--json]\n\nEverything about the exit NAME: its state and why it failed, its tunnel,\nunit, firewall mark and routing table, and how many peers use it.\n");
}

static void print_exit_field(const char *label, const char *value) {
        printf("%*s: %s\n", EXIT_LABEL_WIDTH, label, isempty(value) ? "(none)" : value);
}

static int print_exit(const ExitInfo *e) {
        char num[32], when[FORMAT_TIMESTAMP_MAX], ago[FORMAT_AGO_MAX], rx[FORMAT_BYTES_MAX], tx[FORMAT_BYTES_MAX];
        char traffic[2 * FORMAT_BYTES_MAX + 32], via[160];   /* an exit's name is at most 32 characters */
        _cleanup_(freep) char *dns = strv_join(e->dns_servers, ", ");

        if (!dns)
                return report_error(-ENOMEM, "out of memory");
        print_exit_field("Name", e->name);
        print_exit_field("Type", e->type);
        if (streq_ptr(e->type, "cell")) { /* offered by the linked cell it is named after */
                snprintf(via, sizeof via, "linked cell %s (its uplink: down while it does not offer it, gone "
                         "with the link)", strempty(e->name));
                print_exit_field("Via", via);
        }
        print_exit_field("State", e->state);
        print_exit_field("LastError", e->last_error);
        print_exit_field("Address", e->address);
        print_exit_field("Endpoint", e->endpoint);
        /* sshuttle without a resolver of its own asks the SSH server's, through the tunnel */
        print_exit_field("DnsServers", isempty(dns) && streq_ptr(e->type, "sshuttle") ? "(the SSH server's)" : dns);
        print_exit_field("TestTarget", e->test_target);
        snprintf(num, sizeof num, "%" PRIu32, e->peer_count);
        print_exit_field("PeerCount", num);
        print_exit_field("Interface", e->interface);
        print_exit_field("Unit", e->unit);
        snprintf(num, sizeof num, "0x%" PRIx32, e->mark);
        print_exit_field("Mark", num);
        snprintf(num, sizeof num, "%" PRIu32, e->table);
        print_exit_field("Table", num);
        print_exit_field("Created", format_timestamp(when, sizeof when, e->created));
        print_exit_field("LatestHandshake", format_ago(ago, sizeof ago, e->latest_handshake, now_usec(CLOCK_REALTIME)));
        snprintf(traffic, sizeof traffic, "%s received, %s sent", format_bytes(rx, sizeof rx, e->rx_bytes),
                 format_bytes(tx, sizeof tx, e->tx_bytes));
        print_exit_field("Traffic", traffic);
        return 0;
}

static int verb_show(int argc, char *argv[], Context *c) {
        _cleanup_(exit_info_done) ExitInfo info = {};
        _cleanup_(freep) char *path = NULL;
        const char *name;
        bool json = false;
        int r;

        r = parse_exit_args("exit show", argc, argv, c, help_show, &(ExitArgs) { .json = &json });
        if (r != ARGS_PARSED)
                return r;
        r = exit_path_arg("exit show", argc, argv, &name, &path);
        if (r != ARGS_PARSED)
                return r;
        r = exit_info_read(c, path, &info);
        if (r < 0)
                return r;
        return json ? print_json(bus_properties_json(exit_properties, &info)) : print_exit(&info);
}

/* --- test, remove --- */

static void help_test(void) {
        printf("picctl exit test NAME\n\nConnect to the exit's test target through the exit only, and print how long\nthe connection took.\n");
}

static int verb_test(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(exit_info_done) ExitInfo info = {};
        _cleanup_(freep) char *path = NULL;
        char took[FORMAT_MSEC_MAX];
        const char *name;
        uint64_t usec;
        int r;

        r = parse_exit_args("exit test", argc, argv, c, help_test, &(ExitArgs) {});
        if (r != ARGS_PARSED)
                return r;
        r = exit_path_arg("exit test", argc, argv, &name, &path);
        if (r != ARGS_PARSED)
                return r;
        r = exit_info_read(c, path, &info); /* for the target it names */
        if (r < 0)
                return r;
        r = bus_call_noargs(c, path, PIC_EXIT_INTERFACE, "Test", true, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &usec);
        if (r < 0)
                return report_parse_error(r);
        printf("Connected to %s through exit %s in %s.\n", strempty(info.test_target), name,
               format_msec(took, sizeof took, usec));
        return 0;
}

static void help_remove(void) {
        printf("picctl exit remove NAME\n\nRemove the exit NAME: its tunnel and unit go. Refused while peers use it\n(send them elsewhere first: picctl peer exit PEER --none). An exit of type cell\nis not removed: it is down while its cell does not offer it, and goes with the link.\n");
}

static int verb_remove(int argc, char *argv[], Context *c) {
        _cleanup_(freep) char *path = NULL;
        const char *name;
        int r;

        r = parse_exit_args("exit remove", argc, argv, c, help_remove, &(ExitArgs) {});
        if (r != ARGS_PARSED)
                return r;
        r = exit_path_arg("exit remove", argc, argv, &name, &path);
        if (r != ARGS_PARSED)
                return r;
        r = bus_call_noargs(c, path, PIC_EXIT_INTERFACE, "Remove", true, NULL);
        if (r < 0)
                return r;
        printf("Removed exit %s.\n", name);
        return 0;
}

static const Verb exit_verbs[] = {
        { "add",    exit_add    },
        { "list",   verb_list   },
        { "show",   verb_show   },
        { "update", exit_update },
        { "test",   verb_test   },
        { "remove", verb_remove },
        {}
};

int verb_exit(int argc, char *argv[], Context *c) {
        return dispatch_group(exit_verbs, "exit", "add, list, show, update, test, remove", help_exit, argc, argv, c);
}

/* --- picctl peer exit --- */

static void help_peer_exit(void) {
        printf("picctl peer " PEER_EXIT_SYNOPSIS "\n"
               "\n"
               "Show which way the peer NAME's internet traffic leaves, or send it through the\n"
               "exit EXIT (picctl exit list) or, with --none, the cell's own uplink again. On an\n"
               "exit its internet traffic leaves only by that exit, and is dropped while the exit\n"
               "is not up; its device needs its configuration again (picctl peer config NAME),\n"
               "which then sends all its traffic into the tunnel.\n");
}

static int print_peer_exit(const char *name, const char *exit_name) {
        if (isempty(exit_name))
                printf("%s: the cell's uplink\n", name);
        else
                printf("%s: exit %s\n", name, exit_name);
        return 0;
}

int peer_exit(int argc, char *argv[], Context *c) {
        enum { ARG_NONE = ARG_FIRST_VERB_OPTION };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "none", no_argument, NULL, ARG_NONE },
                {}
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(peer_info_done) PeerInfo info = {};
        _cleanup_(freep) char *path = NULL;
        const char *peer, *wanted = NULL;
        bool none = false;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_peer_exit();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_NONE:
                        none = true;
                        break;
                default:
                        return getopt_usage_error("peer exit", opt, argv);
                }
        if (optind >= argc)
                return usage_error("peer exit", "missing peer NAME");
        peer = argv[optind++];
        if (optind < argc)
                wanted = argv[optind++];
        if (optind < argc)
                return usage_error("peer exit", "unexpected argument '%s'", argv[optind]);
        if (wanted && none)
                return usage_error("peer exit", "give an exit or --none, not both");
        if (wanted && !peer_name_is_valid(wanted))
                return usage_error("peer exit", "'%s' is not an exit name (%s)", wanted, PEER_NAME_CHARSET_DOC);

        r = bus_find_peer(c, peer, &path);
        if (r < 0)
                return r;
        if (wanted || none) {
                r = bus_new_call(c, path, PIC_PEER_INTERFACE, "Update", &m);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "a{sv}", 1, "Exit", "s", none ? "" : wanted);
                if (r < 0)
                        return report_error(r, "cannot build the Update call: %s", strerror(-r));
                r = bus_call(c, m, true, NULL);
                if (r < 0)
                        return r;
        }
        /* what the daemon holds now, not what was asked for */
        r = peer_info_read(c, path, &info);
        if (r < 0)
                return r;
        return print_peer_exit(peer, info.exit_name);
}
