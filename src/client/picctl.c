/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stddef.h>

#include "picctl.h"
#include "picctl-format.h"
#include "picctl-peer.h"

#define SETUP_SYNOPSIS "--name NAME --domain DOMAIN --address CIDR [--port N] [--endpoint HOST:PORT]\n" \
        "             [--admin-password PASSWORD|-] [--dns-servers IP,...] [--setup-code CODE]"
#define CONFIGURE_SYNOPSIS "[--name NAME] [--domain DOMAIN] [--address CIDR] [--port N] [--endpoint HOST:PORT]\n" \
        "                  [--dns-servers IP,...]"
#define STATUS_LABEL_WIDTH 16  /* strlen("WireGuardBackend") */

static void help_main(void) {
        printf("picctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Manage this Personal Internet Cell (pic-celld) over the system bus.\n"
               "\n"
               "Cell commands:\n"
               "  status                   Show the cell's settings and state (the default)\n"
               "  setup " SETUP_SYNOPSIS "\n"
               "                           Set the cell up for the first time\n"
               "  setup-code               Print the one-time code the web UI's setup asks\n"
               "                           for (root only)\n"
               "  configure " CONFIGURE_SYNOPSIS "\n"
               "                           Change settings; address and port changes wait\n"
               "                           for 'apply'\n"
               "  apply                    Apply pending changes\n"
               "  discard                  Drop pending changes\n"
               "  wait-online [--peer NAME]... [--link NAME]... [--exit NAME]... [--timeout S]\n"
               "                           Wait until the cell is online and those named are\n"
               "                           up (like systemd-networkd-wait-online)\n"
               "\n"
               "Peer commands:\n"
               "  peer list [--json]       List peers, their last handshake and traffic\n"
               "  peer add NAME [OPTIONS...]\n"
               "                           Add a peer (see 'picctl peer add --help')\n"
               "  peer show NAME [--json]  Show all properties of a peer\n"
               "  peer config NAME [--qr [--invert]]\n"
               "                           Print the peer's WireGuard configuration, or\n"
               "                           a QR code of it for a phone to scan\n"
               "  peer access NAME [+SERVICE|-SERVICE|SERVICE]...\n"
               "                           Show the services a peer may reach, or grant\n"
               "                           (+SERVICE) and revoke (-SERVICE) them\n"
               "  peer network NAME [+NETWORK|-NETWORK|NETWORK]...\n"
               "                           The same for the networks it may reach:\n"
               "                           internet, lan, peers\n"
               "  peer exit NAME [EXIT|--none]\n"
               "                           Send the peer's internet traffic through an exit,\n"
               "                           or the cell's uplink again\n"
               "  peer enable NAME         Let a disabled peer connect again\n"
               "  peer disable NAME        Refuse the peer but keep its settings\n"
               "  peer rotate-keys NAME    Give the peer new keys\n"
               "  peer login NAME          Give the peer a new password for the web interface\n"
               "  peer remove NAME         Remove the peer\n"
               "\n"
               "DNS:\n"
               "  dns [--json]             Show the cell's DNS: state, upstreams, forwards\n"
               "                           and every name it answers\n"
               "  ddns [--json]            Show dynamic DNS: the provider, the name, the\n"
               "                           address it last took, errors\n"
               "  ddns set [--provider NAME] [--hostname NAME] [--token-file FILE] ...\n"
               "                           Keep a name at a provider pointing at the cell;\n"
               "                           settings not given keep their value (see\n"
               "                           'picctl ddns --help')\n"
               "  ddns off                 Stop, and forget the provider's secrets\n"
               "\n"
               "Links with other cells:\n"
               "  link invite [--lifetime DURATION] [--pairing-address HOST:PORT] [--qr]\n"
               "                           Make a one-time invite for another cell\n"
               "  link invites [--json]    List the open invites\n"
               "  link revoke ID           Make an open invite unusable\n"
               "  link add INVITE|- [--pairing-address HOST:PORT]\n"
               "                           Link with the cell that made the invite\n"
               "  link list [--json]       The linked cells and their state\n"
               "  link show NAME [--json]  Everything about one link\n"
               "  link share NAME [+SERVICE|-SERVICE]...\n"
               "                           What this cell shares with a linked cell\n"
               "  link offer-exit NAME on|off\n"
               "                           Offer this cell's uplink to a linked cell as an\n"
               "                           exit for its peers, or withdraw it\n"
               "  link resync NAME         Tell the linked cell again where this cell is and\n"
               "                           what it shares\n"
               "  link remove NAME         Drop a link (the other cell is told)\n"
               "\n"
               "Exits (other ways out to the internet for chosen peers: a VPN provider's\n"
               "server, or a linked cell that offers its uplink, which appears by itself):\n"
               "  exit add NAME --type wireguard --config FILE|- [--test-target HOST:PORT]\n"
               "                           Add an exit from a VPN provider's wg-quick file\n"
               "                           (or --type openvpn, an .ovpn file; --type tor)\n"
               "  exit add NAME --type proxy --proxy URL|-|--proxy-file FILE [--dns IP]...\n"
               "           [--test-target HOST:PORT]\n"
               "                           Add an exit through a SOCKS5 or HTTP proxy\n"
               "  exit add NAME --type sshuttle --target USER@ADDRESS[:PORT] --ssh-key FILE|-\n"
               "           --host-key 'TYPE BASE64'|--host-key-file FILE [--dns IP]\n"
               "           [--test-target HOST:PORT]\n"
               "                           Add an exit through an SSH server (sshuttle)\n"
               "  exit list [--json]       The exits, their state and the peers using them\n"
               "  exit show NAME [--json]  Everything about one exit\n"
               "  exit update NAME [--config FILE|-] [--proxy URL|-|--proxy-file FILE]\n"
               "                   [--dns IP]... [--target USER@ADDRESS[:PORT]] [--ssh-key FILE|-]\n"
               "                   [--host-key 'TYPE BASE64'|--host-key-file FILE]\n"
               "                   [--test-target HOST:PORT]\n"
               "                           Replace its file, proxy, SSH server or keys,\n"
               "                           resolvers or test target\n"
               "  exit test NAME           Connect through it and print the time it took\n"
               "  exit remove NAME         Remove an exit no peer uses\n"
               "\n"
               "Backups:\n"
               "  backup [--passphrase-file FILE|--no-encrypt] > FILE\n"
               "                           Write the cell's state as one archive, encrypted\n"
               "                           with a passphrase (asked for on the terminal)\n"
               "  backup inspect [--passphrase-file FILE] [--file FILE|< FILE]\n"
               "                           Verify an archive and list its files\n"
               "  restore [--passphrase-file FILE] [--replace] [--no-wait] [--file FILE|< FILE]\n"
               "                           Make an archive the cell's state (all it has now is\n"
               "                           replaced: --replace); pic-celld restarts to load it\n"
               "\n"
               "Firewall commands:\n"
               "  firewall [--json]        Show the uplink and which services each peer\n"
               "                           may reach\n"
               "  firewall --ruleset       Print the cell's nftables table as the kernel\n"
               "                           holds it\n"
               "\n"
               "Options:\n"
               "  -h --help                Show this help, or a command's after the command\n"
               "     --version             Show the version\n"
               "     --no-ask-password     Do not let polkit ask for a password\n");
}

int getopt_usage_error(const char *verb, int opt, char *argv[]) {
        const char *arg = optind > 0 ? argv[optind - 1] : NULL;
        size_t len;

        /* Long options are named by their argv word, short ones by optopt. */
        if (arg && strncmp(arg, "--", 2) == 0) {
                len = strcspn(arg, "=");
                if (opt == ':')
                        return usage_error(verb, "option '%.*s' needs an argument", (int) len, arg);
                if (arg[len] == '=')
                        return usage_error(verb, "unknown option or unexpected argument '%s'", arg);
                return usage_error(verb, "unknown option '%.*s'", (int) len, arg);
        }

        if (opt == ':')
                return usage_error(verb, "option '-%c' needs an argument", optopt);
        return usage_error(verb, "unknown option '-%c'", optopt);
}

int parse_u16(const char *s, uint16_t min, uint16_t *ret) {
        unsigned long v;
        char *end;

        if (isempty(s) || s[0] < '0' || s[0] > '9')
                return -EINVAL;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > UINT16_MAX)
                return -ERANGE;

        *ret = (uint16_t) v;
        return 0;
}

int dispatch_verb(const Verb *verbs, const char *group, int argc, char *argv[], Context *c) {
        for (const Verb *v = verbs; v->name; v++)
                if (streq(v->name, argv[0]))
                        return v->run(argc, argv, c);

        if (isempty(group))
                return usage_error(NULL, "unknown command '%s'", argv[0]);
        return usage_error(group, "unknown %s command '%s'", group, argv[0]);
}

int parse_common_args(int argc, char *argv[], Context *c, void (*help)(void), const char *verb, bool in_order) {
        static const struct option options[] = {
                COMMON_OPTIONS,
                {}
        };
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, in_order ? "+:h" : ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                default:
                        return getopt_usage_error(verb, opt, argv);
                }
        return ARGS_PARSED;
}

int dispatch_group(const Verb *verbs, const char *group, const char *commands, void (*help)(void), int argc,
                   char *argv[], Context *c) {
        /* in order: stop at the group's command, whose own options follow it */
        int r = parse_common_args(argc, argv, c, help, group, true);
        if (r != ARGS_PARSED)
                return r;
        if (optind >= argc)
                return usage_error(group, "missing %s command (%s)", group, commands);
        return dispatch_verb(verbs, group, argc - optind, argv + optind, c);
}

int parse_no_args(int argc, char *argv[], Context *c, void (*help)(void)) {
        int r = parse_common_args(argc, argv, c, help, argv[0], false);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error(argv[0], "'%s' takes no arguments", argv[0]);
        return ARGS_PARSED;
}

int parse_json_only(int argc, char *argv[], Context *c, void (*help)(void), const char *verb, bool *json) {
        enum { ARG_JSON = ARG_FIRST_VERB_OPTION };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "json", no_argument, NULL, ARG_JSON },
                {}
        };
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_JSON:
                        *json = true;
                        break;
                default:
                        return getopt_usage_error(verb, opt, argv);
                }
        if (optind < argc)
                return usage_error(verb, "unexpected argument '%s'", argv[optind]);
        return ARGS_PARSED;
}

typedef struct CellInfo {
        char *version;
        bool setup_complete;
        char *name;
        char *domain;
        char *vpn_address;
        uint16_t listen_port;
        char *public_key;
        char *endpoint;
        char *interface_name;
        char *wireguard_backend;
        char *dns_state;
        char *uplink;
        char **pending_changes;   /* key, value, key, value, … */
        uint32_t peer_count;
} CellInfo;

static const BusProperty cell_properties[] = {
        { "Version",          "s",     offsetof(CellInfo, version)           },
        { "SetupComplete",    "b",     offsetof(CellInfo, setup_complete)    },
        { "Name",             "s",     offsetof(CellInfo, name)              },
        { "Domain",           "s",     offsetof(CellInfo, domain)            },
        { "VpnAddress",       "s",     offsetof(CellInfo, vpn_address)       },
        { "ListenPort",       "q",     offsetof(CellInfo, listen_port)       },
        { "PublicKey",        "s",     offsetof(CellInfo, public_key)        },
        { "Endpoint",         "s",     offsetof(CellInfo, endpoint)          },
        { "InterfaceName",    "s",     offsetof(CellInfo, interface_name)    },
        { "WireGuardBackend", "s",     offsetof(CellInfo, wireguard_backend) },
        { "Uplink",           "s",     offsetof(CellInfo, uplink)            },
        { "PendingChanges",   "a{sv}", offsetof(CellInfo, pending_changes)   },
        { "PeerCount",        "u",     offsetof(CellInfo, peer_count)        },
        { "DnsState",         "s",     offsetof(CellInfo, dns_state)         },
        {}
};

static void cell_info_done(CellInfo *i) {
        free(i->version);
        free(i->uplink);
        free(i->name);
        free(i->domain);
        free(i->vpn_address);
        free(i->public_key);
        free(i->endpoint);
        free(i->interface_name);
        free(i->wireguard_backend);
        free(i->dns_state);
        strv_free(i->pending_changes);
}

static int cell_info_read(Context *c, CellInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_get_all(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, &reply);
        if (r < 0)
                return r;

        r = bus_read_properties(reply, cell_properties, ret);
        if (r < 0)
                return report_parse_error(r);
        return 0;
}

static void print_field(const char *label, const char *value) {
        printf("%*s: %s\n", STATUS_LABEL_WIDTH, label, isempty(value) ? "(none)" : value);
}

/* Prints "key → value" lines, the first after @label, or "none". */
static void print_pending(const char *label, char **pending) {
        if (strv_length(pending) < 2) {
                printf("%*s: none\n", STATUS_LABEL_WIDTH, label);
                return;
        }

        for (size_t i = 0; pending[i] && pending[i + 1]; i += 2)
                printf("%*s%s %s → %s\n", STATUS_LABEL_WIDTH, i == 0 ? label : "", i == 0 ? ":" : " ",
                       pending[i], pending[i + 1]);
}

static void help_status(void) {
        printf("picctl status\n\n"
               "Show the cell's name, domain, VPN address, listen port, public key, endpoint,\n"
               "WireGuard interface and backend, the DNS service's state, pending changes,\n"
               "peer count and version.\n");
}

static int verb_status(int argc, char *argv[], Context *c) {
        _cleanup_(cell_info_done) CellInfo info = {};
        char buf[16];
        int r;

        r = parse_no_args(argc, argv, c, help_status);
        if (r != ARGS_PARSED)
                return r;

        r = cell_info_read(c, &info);
        if (r < 0)
                return r;

        if (!info.setup_complete) {
                print_field("SetupComplete", "no");
                print_field("InterfaceName", info.interface_name);
                print_field("WireGuardBackend", info.wireguard_backend);
                print_field("Version", info.version);
                printf("\nThe cell is not set up yet. Set it up with:\n"
                       "  picctl setup " SETUP_SYNOPSIS "\n");
                return 0;
        }

        print_field("Name", info.name);
        print_field("Domain", info.domain);
        print_field("VpnAddress", info.vpn_address);
        snprintf(buf, sizeof buf, "%u", info.listen_port);
        print_field("ListenPort", buf);
        print_field("PublicKey", info.public_key);
        print_field("Endpoint", info.endpoint);
        print_field("SetupComplete", "yes");
        print_field("InterfaceName", info.interface_name);
        print_field("WireGuardBackend", info.wireguard_backend);
        print_field("Uplink", info.uplink);
        print_field("DnsState", info.dns_state);
        print_pending("PendingChanges", info.pending_changes);
        snprintf(buf, sizeof buf, "%u", info.peer_count);
        print_field("PeerCount", buf);
        print_field("Version", info.version);

        if (strv_length(info.pending_changes) >= 2)
                printf("\nRun 'picctl apply' to apply the pending changes, or 'picctl discard' to drop them.\n");
        return 0;
}

typedef struct CellSettings {
        const char *name;
        const char *domain;
        const char *address;
        const char *endpoint;
        const char *admin_password;
        const char *dns_servers; /* comma-separated; "" clears */
        const char *setup_code;
        bool has_port;
        uint16_t port;
} CellSettings;

static void help_setup(void) {
        printf("picctl setup " SETUP_SYNOPSIS "\n"
               "\n"
               "Set the cell up for the first time.\n"
               "\n"
               "  --name NAME          The cell's name, a DNS label (a-z, 0-9, '-')\n"
               "  --domain DOMAIN      The cell's DNS domain, e.g. home.lan\n"
               "  --address CIDR       The cell's VPN address with prefix, in RFC 1918 space,\n"
               "                       e.g. 10.0.0.1/24\n"
               "  --port N             WireGuard listen port (default 51820)\n"
               "  --endpoint HOST:PORT Where peers reach the cell, e.g. cell.example.org:51820\n"
               "  --admin-password PASSWORD\n"
               "                       The web interface's admin password (8 or more characters);\n"
               "                       '-' reads it from the first line of standard input\n"
               "  --dns-servers IP,... Where the cell's DNS sends names outside its domain\n"
               "                       (default: the nameservers of this host's resolv.conf)\n"
               "  --setup-code CODE    The cell's one-time setup code ('picctl setup-code' as\n"
               "                       root); needed unless picctl runs as root\n");
}

static void help_configure(void) {
        printf("picctl configure " CONFIGURE_SYNOPSIS "\n"
               "\n"
               "Change the cell's settings. Name, domain and endpoint change at once; address\n"
               "and port changes wait until 'picctl apply' ('picctl discard' drops them).\n"
               "\n"
               "  --name NAME          The cell's name, a DNS label (a-z, 0-9, '-')\n"
               "  --domain DOMAIN      The cell's DNS domain\n"
               "  --address CIDR       The cell's VPN address with prefix, e.g. 10.0.0.1/24\n"
               "  --port N             WireGuard listen port\n"
               "  --endpoint HOST:PORT Where peers reach the cell; \"\" clears it\n"
               "  --dns-servers IP,... Upstream resolvers of the cell's DNS (IPv4 or IPv6,\n"
               "                       optionally IP#PORT); \"\" leaves none\n");
}

/* Parses setup/configure options. Returns ARGS_PARSED, 0 after --help, or EXIT_USAGE. */
static int parse_cell_settings(int argc, char *argv[], Context *c, void (*help)(void), CellSettings *s) {
        enum {
                ARG_NAME = ARG_FIRST_VERB_OPTION,
                ARG_DOMAIN,
                ARG_ADDRESS,
                ARG_PORT,
                ARG_ENDPOINT,
                ARG_ADMIN_PASSWORD,
                ARG_DNS_SERVERS,
                ARG_SETUP_CODE,
        };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "name",     required_argument, NULL, ARG_NAME     },
                { "domain",   required_argument, NULL, ARG_DOMAIN   },
                { "address",  required_argument, NULL, ARG_ADDRESS  },
                { "port",     required_argument, NULL, ARG_PORT     },
                { "endpoint", required_argument, NULL, ARG_ENDPOINT },
                { "admin-password", required_argument, NULL, ARG_ADMIN_PASSWORD },
                { "dns-servers", required_argument, NULL, ARG_DNS_SERVERS },
                { "setup-code", required_argument, NULL, ARG_SETUP_CODE },
                {}
        };
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_NAME:
                        s->name = optarg;
                        break;
                case ARG_DOMAIN:
                        s->domain = optarg;
                        break;
                case ARG_ADDRESS:
                        s->address = optarg;
                        break;
                case ARG_PORT:
                        if (parse_u16(optarg, 1, &s->port) < 0)
                                return usage_error(argv[0], "--port must be a number from 1 to 65535, not '%s'", optarg);
                        s->has_port = true;
                        break;
                case ARG_ENDPOINT:
                        s->endpoint = optarg;
                        break;
                case ARG_ADMIN_PASSWORD:
                        if (help != help_setup)
                                return usage_error(argv[0], "the admin password is set with 'picctl setup' only");
                        s->admin_password = optarg;
                        break;
                case ARG_DNS_SERVERS:
                        s->dns_servers = optarg;
                        break;
                case ARG_SETUP_CODE:
                        if (help != help_setup)
                                return usage_error(argv[0], "the setup code is for 'picctl setup' only");
                        s->setup_code = optarg;
                        break;
                default:
                        return getopt_usage_error(argv[0], opt, argv);
                }

        if (optind < argc)
                return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        return ARGS_PARSED;
}

static int append_cell_settings(sd_bus_message *m, const CellSettings *s) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        if (s->name && (r = sd_bus_message_append(m, "{sv}", "Name", "s", s->name)) < 0)
                return r;
        if (s->domain && (r = sd_bus_message_append(m, "{sv}", "Domain", "s", s->domain)) < 0)
                return r;
        if (s->address && (r = sd_bus_message_append(m, "{sv}", "VpnAddress", "s", s->address)) < 0)
                return r;
        if (s->has_port && (r = sd_bus_message_append(m, "{sv}", "ListenPort", "q", s->port)) < 0)
                return r;
        if (s->endpoint && (r = sd_bus_message_append(m, "{sv}", "Endpoint", "s", s->endpoint)) < 0)
                return r;
        if (s->admin_password && (r = sd_bus_message_append(m, "{sv}", "AdminPassword", "s", s->admin_password)) < 0)
                return r;
        if (s->setup_code && (r = sd_bus_message_append(m, "{sv}", "SetupCode", "s", s->setup_code)) < 0)
                return r;
        if (s->dns_servers) {
                /* The daemon checks each entry and names a bad one. */
                _cleanup_(strv_freep) char **l = strv_split_comma(s->dns_servers);
                if (!l)
                        return -ENOMEM;
                if ((r = append_strv_entry(m, "DnsServers", l)) < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int call_with_settings(Context *c, const char *method, const CellSettings *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, method, &m);
        if (r < 0)
                return r;
        r = append_cell_settings(m, s);
        if (r < 0)
                return report_error(r, "cannot build the %s call: %s", method, strerror(-r));
        return bus_call(c, m, true, NULL);
}

static int verb_setup(int argc, char *argv[], Context *c) {
        CellSettings s = {};
        int r;

        r = parse_cell_settings(argc, argv, c, help_setup, &s);
        if (r != ARGS_PARSED)
                return r;

        if (!s.name || !s.domain || !s.address)
                return usage_error(argv[0], "setup needs --name, --domain and --address");

        /* "-": from standard input, so the password stays out of ps and shell history. */
        _cleanup_(erase_and_freep) char *password = NULL;
        if (s.admin_password && streq(s.admin_password, "-")) {
                size_t size = 0;
                ssize_t n = getline(&password, &size, stdin);
                if (n <= 0)
                        return usage_error(argv[0], "--admin-password -: nothing on standard input");
                password[strcspn(password, "\r\n")] = 0;
                s.admin_password = password;
        }

        r = call_with_settings(c, "Setup", &s);
        if (r < 0)
                return r;

        printf("Cell %s is set up: domain %s, VPN address %s.\n"
               "Add a device with 'picctl peer add NAME'.\n", s.name, s.domain, s.address);
        return 0;
}

static int verb_configure(int argc, char *argv[], Context *c) {
        _cleanup_(cell_info_done) CellInfo info = {};
        CellSettings s = {};
        int r;

        r = parse_cell_settings(argc, argv, c, help_configure, &s);
        if (r != ARGS_PARSED)
                return r;

        if (!s.name && !s.domain && !s.address && !s.has_port && !s.endpoint && !s.dns_servers)
                return usage_error(argv[0], "configure needs at least one of --name, --domain, --address, --port, "
                                   "--endpoint, --dns-servers");

        r = call_with_settings(c, "Configure", &s);
        if (r < 0)
                return r;

        printf("Configuration updated.\n");

        r = cell_info_read(c, &info);
        if (r < 0)
                return r;

        if (strv_length(info.pending_changes) >= 2) {
                printf("Pending changes:\n");
                for (size_t i = 0; info.pending_changes[i] && info.pending_changes[i + 1]; i += 2)
                        printf("  %s → %s\n", info.pending_changes[i], info.pending_changes[i + 1]);
                printf("Run 'picctl apply' to apply them, or 'picctl discard' to drop them.\n");
        }
        return 0;
}

static void help_setup_code(void) {
        printf("picctl setup-code\n\n"
               "Print the one-time code that sets the cell up from the web UI (or from picctl\n"
               "run by another user), until it is set up. Only root may read it; pic-celld\n"
               "also writes it in its log when it starts.\n");
}

static int verb_setup_code(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *code;
        int r;

        r = parse_no_args(argc, argv, c, help_setup_code);
        if (r != ARGS_PARSED)
                return r;
        r = bus_call_noargs(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "GetSetupCode", false, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &code);
        if (r < 0)
                return report_parse_error(r);
        printf("%s\n", code);
        return 0;
}

static void help_apply(void) {
        printf("picctl apply\n\nApply the pending VPN address and listen port changes.\n");
}

static void help_discard(void) {
        printf("picctl discard\n\nDrop the pending VPN address and listen port changes.\n");
}

static int verb_apply(int argc, char *argv[], Context *c) {
        int r;

        r = parse_no_args(argc, argv, c, help_apply);
        if (r != ARGS_PARSED)
                return r;

        r = bus_call_noargs(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "Apply", true, NULL);
        if (r < 0)
                return r;

        printf("Pending changes applied.\n");
        return 0;
}

static int verb_discard(int argc, char *argv[], Context *c) {
        int r;

        r = parse_no_args(argc, argv, c, help_discard);
        if (r != ARGS_PARSED)
                return r;

        r = bus_call_noargs(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "DiscardPending", true, NULL);
        if (r < 0)
                return r;

        printf("Pending changes discarded.\n");
        return 0;
}

static int verb_help(int argc, char *argv[], Context *c) {
        help_main();
        return 0;
}

static const Verb verbs[] = {
        { "status",    verb_status    },
        { "setup",     verb_setup     },
        { "setup-code", verb_setup_code },
        { "configure", verb_configure },
        { "apply",     verb_apply     },
        { "discard",   verb_discard   },
        { "peer",      verb_peer      },
        { "firewall",  verb_firewall  },
        { "dns",       verb_dns       },
        { "ddns",      verb_ddns      },
        { "link",      verb_link      },
        { "exit",      verb_exit      },
        { "backup",    verb_backup    },
        { "restore",   verb_restore   },
        { "wait-online", verb_wait_online },
        { "help",      verb_help      },
        {}
};

/* Global options come before the command. Returns ARGS_PARSED, 0 to exit
 * successfully, or EXIT_USAGE. */
static int parse_argv(int argc, char *argv[], Context *c) {
        enum {
                ARG_VERSION = ARG_FIRST_VERB_OPTION,
        };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int opt;

        optind = 0;
        /* '+' stops at the command, whose own options follow it. */
        while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_main();
                        return 0;
                case ARG_VERSION:
                        printf("picctl %s\n", PIC_VERSION);
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                default:
                        return getopt_usage_error(NULL, opt, argv);
                }
        return ARGS_PARSED;
}

int main(int argc, char *argv[]) {
        static char *default_argv[] = { (char *) "status", NULL };
        Context c = { .ask_password = true };
        int r;

        r = parse_argv(argc, argv, &c);
        if (r != ARGS_PARSED)
                return r;

        /* Like hostnamectl, no command shows the status. */
        if (optind >= argc)
                r = dispatch_verb(verbs, "", 1, default_argv, &c);
        else
                r = dispatch_verb(verbs, "", argc - optind, argv + optind, &c);

        context_done(&c);
        return r < 0 ? EXIT_FAILURE : r;
}
