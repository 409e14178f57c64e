/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "picctl.h"
#include "picctl-access.h"
#include "picctl-format.h"
#include "picctl-peer.h"
#include "qr.h"

#define PEER_LABEL_WIDTH 19   /* strlen("PersistentKeepalive") */

static const BusProperty peer_properties[] = {
        { "Name",                "s",  offsetof(PeerInfo, name)                 },
        { "PublicKey",           "s",  offsetof(PeerInfo, public_key)           },
        { "Address",             "s",  offsetof(PeerInfo, address)              },
        { "ServiceAccess",       "as", offsetof(PeerInfo, service_access)       },
        { "NetworkAccess",       "as", offsetof(PeerInfo, network_access)       },
        { "PersistentKeepalive", "q",  offsetof(PeerInfo, persistent_keepalive) },
        { "HasPresharedKey",     "b",  offsetof(PeerInfo, has_preshared_key)    },
        { "Enabled",             "b",  offsetof(PeerInfo, enabled)              },
        { "Created",             "t",  offsetof(PeerInfo, created)              },
        { "LatestHandshake",     "t",  offsetof(PeerInfo, latest_handshake)     },
        { "RxBytes",             "t",  offsetof(PeerInfo, rx_bytes)             },
        { "TxBytes",             "t",  offsetof(PeerInfo, tx_bytes)             },
        { "Endpoint",            "s",  offsetof(PeerInfo, endpoint)             },
        { "Exit",                "s",  offsetof(PeerInfo, exit_name)            },
        {}
};

void peer_info_done(PeerInfo *p) {
        free(p->name);
        free(p->public_key);
        free(p->address);
        strv_free(p->service_access);
        strv_free(p->network_access);
        free(p->endpoint);
        free(p->exit_name);
        *p = (PeerInfo) {};
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* --- argument parsing --- */

typedef enum PeerOption {
        PEER_OPTION_JSON = 1 << 0,
        PEER_OPTION_QR   = 1 << 1,
} PeerOption;

typedef struct PeerArgs {
        const char *name;
        bool json;
        bool qr;
        QrInk qr_ink;
} PeerArgs;

/* Parses "picctl peer VERB [NAME]" with the options in @allowed. Returns
 * ARGS_PARSED, 0 after --help, or EXIT_USAGE. */
static int parse_peer_args(int argc, char *argv[], Context *c, const char *label, bool wants_name,
                           PeerOption allowed, void (*help)(void), PeerArgs *a) {
        enum {
                ARG_JSON = ARG_FIRST_VERB_OPTION,
                ARG_QR,
                ARG_INVERT,
        };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "json",   no_argument, NULL, ARG_JSON   },
                { "qr",     no_argument, NULL, ARG_QR     },
                { "invert", no_argument, NULL, ARG_INVERT },
                {}
        };
        bool invert = false;
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
                        if (!(allowed & PEER_OPTION_JSON))
                                return usage_error(label, "unknown option '--json'");
                        a->json = true;
                        break;
                case ARG_QR:
                case ARG_INVERT:
                        if (!(allowed & PEER_OPTION_QR))
                                return usage_error(label, "unknown option '%s'", argv[optind - 1]);
                        if (opt == ARG_QR)
                                a->qr = true;
                        else
                                invert = true;
                        break;
                default:
                        return getopt_usage_error(label, opt, argv);
                }

        if (invert && !a->qr)
                return usage_error(label, "--invert only makes sense with --qr");
        a->qr_ink = invert ? QR_INK_DARK : QR_INK_LIGHT;

        if (wants_name) {
                if (optind >= argc)
                        return usage_error(label, "missing peer NAME");
                a->name = argv[optind++];
        }
        if (optind < argc)
                return usage_error(label, "unexpected argument '%s'", argv[optind]);
        return ARGS_PARSED;
}

int peer_info_read(Context *c, const char *path, PeerInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_get_all(c, path, PIC_PEER_INTERFACE, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, peer_properties, ret);
        if (r < 0)
                return report_parse_error(r);
        return 0;
}

/* --- peer list --- */

static void help_list(void) {
        printf("picctl peer list [--json]\n"
               "\n"
               "List the peers: name, address, whether enabled, the exit their internet\n"
               "traffic leaves by, last handshake, bytes received and sent.\n"
               "\n"
               "  --json   Print a JSON array of objects with all peer properties\n");
}

void peer_infos_free(PeerInfo *peers, size_t n) {
        for (size_t i = 0; i < n; i++)
                peer_info_done(&peers[i]);
        free(peers);
}

static void peer_info_clear(void *p) {
        peer_info_done(p);
}

/* Reads every peer from one ObjectManager.GetManagedObjects reply. */
static int read_managed_peers(sd_bus_message *reply, PeerInfo **ret, size_t *ret_n) {
        return bus_read_objects(reply, PIC_PEER_INTERFACE, peer_properties, sizeof(PeerInfo),
                                offsetof(PeerInfo, name), peer_info_clear, (void **) ret, ret_n);
}

int peer_infos_read_all(Context *c, PeerInfo **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_call_noargs(c, PIC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                            false, &reply);
        if (r < 0)
                return r;

        r = read_managed_peers(reply, ret, ret_n);
        if (r < 0)
                return report_parse_error(r);
        return 0;
}

/* cJSON numbers are doubles; print 64-bit counters exactly instead. */
static bool json_add_u64(cJSON *o, const char *key, uint64_t v) {
        char buf[24];

        snprintf(buf, sizeof buf, "%" PRIu64, v);
        return cJSON_AddRawToObject(o, key, buf);
}

cJSON *json_string_array(char *const *l) {
        cJSON *a = cJSON_CreateArray();

        for (char *const *s = l; a && s && *s; s++)
                if (!cJSON_AddItemToArray(a, cJSON_CreateString(*s))) {
                        cJSON_Delete(a);
                        return NULL;
                }
        return a;
}

static cJSON *peer_info_to_json(const PeerInfo *p) {
        cJSON *o = cJSON_CreateObject(), *access = NULL;

        if (!o)
                goto fail;
        if (!cJSON_AddStringToObject(o, "Name", strempty(p->name)) ||
            !cJSON_AddStringToObject(o, "PublicKey", strempty(p->public_key)) ||
            !cJSON_AddStringToObject(o, "Address", strempty(p->address)))
                goto fail;
        for (int i = 0; i < 2; i++) {
                access = json_string_array(i == 0 ? p->service_access : p->network_access);
                if (!access)
                        goto fail;
                if (!cJSON_AddItemToObject(o, i == 0 ? "ServiceAccess" : "NetworkAccess", access))
                        goto fail;
                access = NULL; /* owned by o now */
        }

        if (!cJSON_AddNumberToObject(o, "PersistentKeepalive", p->persistent_keepalive) ||
            !cJSON_AddBoolToObject(o, "HasPresharedKey", p->has_preshared_key) ||
            !cJSON_AddBoolToObject(o, "Enabled", p->enabled) ||
            !json_add_u64(o, "Created", p->created) ||
            !json_add_u64(o, "LatestHandshake", p->latest_handshake) ||
            !json_add_u64(o, "RxBytes", p->rx_bytes) ||
            !json_add_u64(o, "TxBytes", p->tx_bytes) ||
            !cJSON_AddStringToObject(o, "Endpoint", strempty(p->endpoint)) ||
            !cJSON_AddStringToObject(o, "Exit", strempty(p->exit_name)))
                goto fail;
        return o;

fail:
        cJSON_Delete(access);
        cJSON_Delete(o);
        return NULL;
}

int print_json(cJSON *json) {
        char *text;

        if (!json)
                return report_error(-ENOMEM, "out of memory");
        text = cJSON_Print(json);
        cJSON_Delete(json);
        if (!text)
                return report_error(-ENOMEM, "out of memory");
        puts(text);
        free(text);
        return 0;
}

static int print_peers_json(const PeerInfo *peers, size_t n) {
        cJSON *array = cJSON_CreateArray();

        for (size_t i = 0; array && i < n; i++) {
                cJSON *o = peer_info_to_json(&peers[i]);

                if (!o || !cJSON_AddItemToArray(array, o)) {
                        cJSON_Delete(o);
                        cJSON_Delete(array);
                        array = NULL;
                }
        }
        return print_json(array);
}

enum { COL_NAME, COL_ADDRESS, COL_ENABLED, COL_EXIT, COL_HANDSHAKE, COL_RX, COL_TX, N_COLUMNS };

static void print_peers_table(const PeerInfo *peers, size_t n) {
        static const char *const header[N_COLUMNS] = { "NAME", "ADDRESS", "ENABLED", "EXIT", "HANDSHAKE", "RX",
                                                         "TX" };
        char (*cells)[N_COLUMNS][FORMAT_AGO_MAX + FORMAT_BYTES_MAX];
        size_t width[N_COLUMNS];
        uint64_t now = now_usec();

        cells = calloc(n, sizeof *cells);
        if (!cells) {
                report_error(-ENOMEM, "out of memory");
                return;
        }

        for (size_t j = 0; j < N_COLUMNS; j++)
                width[j] = strlen(header[j]);

        for (size_t i = 0; i < n; i++) {
                snprintf(cells[i][COL_NAME], sizeof cells[i][COL_NAME], "%s", strempty(peers[i].name));
                snprintf(cells[i][COL_ADDRESS], sizeof cells[i][COL_ADDRESS], "%s", strempty(peers[i].address));
                snprintf(cells[i][COL_ENABLED], sizeof cells[i][COL_ENABLED], "%s", peers[i].enabled ? "yes" : "no");
                snprintf(cells[i][COL_EXIT], sizeof cells[i][COL_EXIT], "%s",
                         isempty(peers[i].exit_name) ? "-" : peers[i].exit_name);
                format_ago(cells[i][COL_HANDSHAKE], sizeof cells[i][COL_HANDSHAKE], peers[i].latest_handshake, now);
                format_bytes(cells[i][COL_RX], sizeof cells[i][COL_RX], peers[i].rx_bytes);
                format_bytes(cells[i][COL_TX], sizeof cells[i][COL_TX], peers[i].tx_bytes);

                for (size_t j = 0; j < N_COLUMNS; j++)
                        width[j] = MAX(width[j], strlen(cells[i][j]));
        }

        print_table_row(header, width, N_COLUMNS);
        for (size_t i = 0; i < n; i++) {
                const char *row[N_COLUMNS];

                for (size_t j = 0; j < N_COLUMNS; j++)
                        row[j] = cells[i][j];
                print_table_row(row, width, N_COLUMNS);
        }

        free(cells);
}

static int peer_list(int argc, char *argv[], Context *c) {
        PeerArgs a = {};
        PeerInfo *peers = NULL;
        size_t n = 0;
        int r;

        r = parse_peer_args(argc, argv, c, "peer list", false, PEER_OPTION_JSON, help_list, &a);
        if (r != ARGS_PARSED)
                return r;

        r = peer_infos_read_all(c, &peers, &n);
        if (r < 0)
                return r;

        if (a.json)
                r = print_peers_json(peers, n);
        else if (n == 0)
                printf("No peers. Add one with 'picctl peer add NAME'.\n");
        else
                print_peers_table(peers, n);

        peer_infos_free(peers, n);
        return r;
}

/* --- peer show --- */

static void help_show(void) {
        printf("picctl peer show NAME [--json]\n"
               "\n"
               "Show all properties of the peer NAME.\n"
               "\n"
               "  --json   Print them as a JSON object\n");
}

static void print_peer_field(const char *label, const char *value) {
        printf("%*s: %s\n", PEER_LABEL_WIDTH, label, isempty(value) ? "(none)" : value);
}

static int print_peer(const PeerInfo *p) {
        char buf[FORMAT_TIMESTAMP_MAX + FORMAT_AGO_MAX + 8], ts[FORMAT_TIMESTAMP_MAX], ago[FORMAT_AGO_MAX];
        _cleanup_(freep) char *access = strv_join(p->service_access, ", ");
        _cleanup_(freep) char *networks = strv_join(p->network_access, ", ");

        if (!access || !networks)
                return report_error(-ENOMEM, "out of memory");

        print_peer_field("Name", p->name);
        print_peer_field("PublicKey", p->public_key);
        print_peer_field("Address", p->address);
        print_peer_field("ServiceAccess", access);
        print_peer_field("NetworkAccess", networks);
        if (p->persistent_keepalive == 0)
                print_peer_field("PersistentKeepalive", "off");
        else {
                snprintf(buf, sizeof buf, "%u s", p->persistent_keepalive);
                print_peer_field("PersistentKeepalive", buf);
        }
        print_peer_field("HasPresharedKey", p->has_preshared_key ? "yes" : "no");
        print_peer_field("Enabled", p->enabled ? "yes" : "no");
        print_peer_field("Created", format_timestamp(ts, sizeof ts, p->created));
        if (p->latest_handshake == 0)
                print_peer_field("LatestHandshake", "never");
        else {
                snprintf(buf, sizeof buf, "%s (%s)", format_timestamp(ts, sizeof ts, p->latest_handshake),
                         format_ago(ago, sizeof ago, p->latest_handshake, now_usec()));
                print_peer_field("LatestHandshake", buf);
        }
        print_peer_field("RxBytes", format_bytes(buf, sizeof buf, p->rx_bytes));
        print_peer_field("TxBytes", format_bytes(buf, sizeof buf, p->tx_bytes));
        print_peer_field("Endpoint", p->endpoint);
        print_peer_field("Exit", isempty(p->exit_name) ? "none (the cell's uplink)" : p->exit_name);
        return 0;
}

static int peer_show(int argc, char *argv[], Context *c) {
        _cleanup_(peer_info_done) PeerInfo info = {};
        _cleanup_(freep) char *path = NULL;
        PeerArgs a = {};
        int r;

        r = parse_peer_args(argc, argv, c, "peer show", true, PEER_OPTION_JSON, help_show, &a);
        if (r != ARGS_PARSED)
                return r;

        r = bus_find_peer(c, a.name, &path);
        if (r < 0)
                return r;
        r = peer_info_read(c, path, &info);
        if (r < 0)
                return r;

        if (a.json)
                return print_json(peer_info_to_json(&info));
        return print_peer(&info);
}

/* --- peer config --- */

static void help_config(void) {
        printf("picctl peer config NAME [--qr [--invert]]\n"
               "\n"
               "Print the peer's WireGuard (wg-quick) configuration. It holds the peer's\n"
               "private key when the cell generated it, so keep it secret.\n"
               "\n"
               "  --qr       Show it as a QR code for the WireGuard app on a phone\n"
               "  --invert   Draw the QR code for a terminal with dark text on a light\n"
               "             background\n");
}

static int peer_config(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *path = NULL, *qr = NULL;
        PeerArgs a = {};
        const char *config;
        size_t len;
        int r;

        r = parse_peer_args(argc, argv, c, "peer config", true, PEER_OPTION_QR, help_config, &a);
        if (r != ARGS_PARSED)
                return r;

        r = bus_find_peer(c, a.name, &path);
        if (r < 0)
                return r;
        r = bus_call_noargs(c, path, PIC_PEER_INTERFACE, "GetConfig", true, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &config);
        if (r < 0)
                return report_parse_error(r);

        if (!a.qr) {
                len = strlen(config);
                fputs(config, stdout);
                if (len > 0 && config[len - 1] != '\n')
                        fputc('\n', stdout);
                return 0;
        }

        r = qr_render_text(config, QR_QUIET_ZONE_DEFAULT, a.qr_ink, &qr);
        if (r == -ERANGE)
                return report_error(r, "the configuration is too long for a QR code");
        if (r < 0)
                return report_error(r, "cannot make a QR code: %s", strerror(-r));
        fputs(qr, stdout);
        return 0;
}

/* --- peer remove, enable, disable, rotate-keys --- */

static void help_remove(void) {
        printf("picctl peer remove NAME\n\nRemove the peer NAME; its device can no longer connect.\n");
}

static void help_enable(void) {
        printf("picctl peer enable NAME\n\nLet the disabled peer NAME connect again.\n");
}

static void help_disable(void) {
        printf("picctl peer disable NAME\n\nRefuse the peer NAME but keep its settings.\n");
}

static void help_rotate_keys(void) {
        printf("picctl peer rotate-keys NAME\n\n"
               "Give the peer NAME new keys. Its device needs the new configuration\n"
               "('picctl peer config NAME') to connect again.\n");
}

/* Finds the peer and calls @method on it with a boolean argument if @enabled >= 0.
 * Returns ARGS_PARSED when the call succeeded, so the caller can tell it from --help. */
static int peer_simple_call(int argc, char *argv[], Context *c, const char *label, void (*help)(void),
                            const char *method, int enabled, PeerArgs *a, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        int r;

        r = parse_peer_args(argc, argv, c, label, true, 0, help, a);
        if (r != ARGS_PARSED)
                return r;

        r = bus_find_peer(c, a->name, &path);
        if (r < 0)
                return r;
        r = bus_new_call(c, path, PIC_PEER_INTERFACE, method, &m);
        if (r < 0)
                return r;
        if (enabled >= 0) {
                r = sd_bus_message_append(m, "b", enabled);
                if (r < 0)
                        return report_error(r, "cannot build the %s call: %s", method, strerror(-r));
        }
        r = bus_call(c, m, true, ret_reply);
        return r < 0 ? r : ARGS_PARSED;
}

/* The peer commands that are one call and one line of output. */
typedef struct SimpleCommand {
        const char *label;
        void (*help)(void);
        const char *method;
        int enabled; /* SetEnabled's argument, or -1: no argument */
        const char *done;   /* "Removed peer" → "Removed peer NAME." */
        bool config_hint;   /* the device needs its new configuration */
} SimpleCommand;

static int peer_simple_command(int argc, char *argv[], Context *c, const SimpleCommand *cmd) {
        PeerArgs a = {};
        int r = peer_simple_call(argc, argv, c, cmd->label, cmd->help, cmd->method, cmd->enabled, &a, NULL);

        if (r != ARGS_PARSED)
                return r;
        printf("%s %s.", cmd->done, a.name);
        if (cmd->config_hint)
                printf(" Its device needs the new configuration:\n  picctl peer config %s", a.name);
        putchar('\n');
        return 0;
}

static int peer_remove(int argc, char *argv[], Context *c) {
        static const SimpleCommand cmd = { "peer remove", help_remove, "Remove", -1, "Removed peer" };
        return peer_simple_command(argc, argv, c, &cmd);
}

static int peer_enable(int argc, char *argv[], Context *c) {
        static const SimpleCommand cmd = { "peer enable", help_enable, "SetEnabled", 1, "Enabled peer" };
        return peer_simple_command(argc, argv, c, &cmd);
}

static int peer_disable(int argc, char *argv[], Context *c) {
        static const SimpleCommand cmd = { "peer disable", help_disable, "SetEnabled", 0, "Disabled peer" };
        return peer_simple_command(argc, argv, c, &cmd);
}

static int peer_rotate_keys(int argc, char *argv[], Context *c) {
        static const SimpleCommand cmd = {
                "peer rotate-keys", help_rotate_keys, "RotateKeys", -1, "Rotated the keys of peer", true
        };
        return peer_simple_command(argc, argv, c, &cmd);
}

static void help_login(void) {
        printf("picctl peer login NAME\n\n"
               "Give the peer NAME a new random password for the web interface (replacing any\n"
               "earlier one) and print it once; the peer signs in with its name and sees only\n"
               "its own status and configuration.\n");
}

static int peer_login(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PeerArgs a = {};
        const char *password;
        int r = peer_simple_call(argc, argv, c, "peer login", help_login, "SetLoginPassword", -1, &a, &reply);

        if (r != ARGS_PARSED)
                return r;
        r = sd_bus_message_read(reply, "s", &password);
        if (r < 0)
                return report_error(r, "unexpected reply from pic-celld: %s", strerror(-r));
        printf("Web login for peer %s (shown only now):\n  user:     %s\n  password: %s\n", a.name, a.name, password);
        return 0;
}

/* --- picctl peer --- */

static void help_peer(void) {
        printf("picctl peer COMMAND ...\n"
               "\n"
               "Manage the cell's peers (devices).\n"
               "\n"
               "  list [--json]            List peers, their last handshake and traffic\n"
               "  add " ADD_SYNOPSIS "\n"
               "                           Add a peer\n"
               "  show NAME [--json]       Show all properties of a peer\n"
               "  config NAME [--qr [--invert]]\n"
               "                           Print the peer's WireGuard configuration, or a QR\n"
               "                           code of it\n"
               "  access " ACCESS_SYNOPSIS "\n"
               "                           Show the services the peer may reach, or grant\n"
               "                           (+SERVICE) and revoke (-SERVICE) them\n"
               "  network " NETWORK_SYNOPSIS "\n"
               "                           The same for the networks it may reach:\n"
               "                           internet, lan, peers\n"
               "  " PEER_EXIT_SYNOPSIS "\n"
               "                           Show or change the exit its internet traffic\n"
               "                           leaves by (picctl exit)\n"
               "  enable NAME              Let a disabled peer connect again\n"
               "  disable NAME             Refuse the peer but keep its settings\n"
               "  rotate-keys NAME         Give the peer new keys\n"
               "  login NAME               Give the peer a new password for the web interface\n"
               "  remove NAME              Remove the peer\n"
               "\n"
               "See 'picctl peer COMMAND --help' for each command's options.\n");
}

static int peer_help(int argc, char *argv[], Context *c) {
        help_peer();
        return 0;
}

static const Verb peer_verbs[] = {
        { "list",        peer_list        },
        { "add",         peer_add         },
        { "show",        peer_show        },
        { "config",      peer_config      },
        { "access",      peer_access      },
        { "network",     peer_network     },
        { "exit",        peer_exit        },
        { "enable",      peer_enable      },
        { "disable",     peer_disable     },
        { "rotate-keys", peer_rotate_keys },
        { "login",       peer_login       },
        { "remove",      peer_remove      },
        { "help",        peer_help        },
        {}
};

int verb_peer(int argc, char *argv[], Context *c) {
        return dispatch_group(peer_verbs, "peer",
                              "list, add, show, config, access, network, exit, enable, disable, rotate-keys, login, "
                              "remove",
                              help_peer, argc, argv, c);
}
