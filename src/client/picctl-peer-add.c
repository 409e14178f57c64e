/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl peer add: one peer, its options turned into AddPeer's a{sv}. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "picctl.h"
#include "picctl-format.h"
#include "picctl-peer.h"
#include "strv.h"

static void help_add(void) {
        printf("picctl peer add " ADD_SYNOPSIS "\n"
               "\n"
               "Add a peer (a device) called NAME.\n"
               "\n"
               "  --public-key KEY         The device's WireGuard public key (base64); without\n"
               "                           it the cell generates the key pair\n"
               "  --address IP             The peer's IPv4 address in the VPN subnet; without\n"
               "                           it the next free address is taken\n"
               "  --access SERVICE,...     Services the peer may reach: dns web mail calendar\n"
               "                           files webdav (\"\" for none)\n"
               "  --network NETWORK,...    What else it may reach: internet lan peers\n"
               "                           (default internet; \"\" for none)\n"
               "  --keepalive SECONDS      Persistent keepalive, 0 = off\n"
               "  --preshared-key[=KEY]    Use a preshared key: KEY (base64), or one the cell\n"
               "                           generates\n");
}

typedef struct AddArgs {
        const char *name;
        const char *public_key;
        const char *address;
        char **access;
        char **networks;
        bool has_keepalive;
        uint16_t keepalive;
        bool preshared;
        const char *preshared_key;   /* NULL with preshared: the cell generates one */
} AddArgs;

static int parse_add_args(int argc, char *argv[], Context *c, AddArgs *a) {
        enum {
                ARG_PUBLIC_KEY = ARG_FIRST_VERB_OPTION,
                ARG_ADDRESS,
                ARG_ACCESS,
                ARG_NETWORK,
                ARG_KEEPALIVE,
                ARG_PRESHARED_KEY,
        };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "public-key",    required_argument, NULL, ARG_PUBLIC_KEY    },
                { "address",       required_argument, NULL, ARG_ADDRESS       },
                { "access",        required_argument, NULL, ARG_ACCESS        },
                { "network",       required_argument, NULL, ARG_NETWORK       },
                { "keepalive",     required_argument, NULL, ARG_KEEPALIVE     },
                { "preshared-key", optional_argument, NULL, ARG_PRESHARED_KEY },
                {}
        };
        const char *label = "peer add";
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_add();
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_PUBLIC_KEY:
                        a->public_key = optarg;
                        break;
                case ARG_ADDRESS:
                        a->address = optarg;
                        break;
                case ARG_ACCESS:
                case ARG_NETWORK: {
                        char ***l = opt == ARG_ACCESS ? &a->access : &a->networks;
                        strv_free(*l);
                        *l = strv_split_comma(optarg);
                        if (!*l)
                                return report_error(-ENOMEM, "out of memory");
                        for (char **s = *l; *s; s++)
                                if (isempty(*s))
                                        return usage_error(label, "%s has an empty name in '%s'",
                                                           opt == ARG_ACCESS ? "--access" : "--network", optarg);
                        break;
                }
                case ARG_KEEPALIVE:
                        if (parse_u16(optarg, 0, &a->keepalive) < 0)
                                return usage_error(label, "--keepalive must be a number of seconds from 0 to 65535, not '%s'", optarg);
                        a->has_keepalive = true;
                        break;
                case ARG_PRESHARED_KEY:
                        a->preshared = true;
                        a->preshared_key = optarg;
                        if (a->preshared_key && isempty(a->preshared_key))
                                return usage_error(label, "--preshared-key= needs a key; leave out '=' to generate one");
                        break;
                default:
                        return getopt_usage_error(label, opt, argv);
                }

        if (optind >= argc)
                return usage_error(label, "missing peer NAME");
        a->name = argv[optind++];
        if (optind < argc)
                return usage_error(label, "unexpected argument '%s'", argv[optind]);
        return ARGS_PARSED;
}

/* The {key: <as>} entry of an a{sv}. */
int append_strv_entry(sd_bus_message *m, const char *key, char **access) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, access);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_add_options(sd_bus_message *m, const AddArgs *a) {
        int r;

        r = sd_bus_message_append(m, "s", a->name);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;

        if (a->public_key && (r = sd_bus_message_append(m, "{sv}", "PublicKey", "s", a->public_key)) < 0)
                return r;
        if (a->address && (r = sd_bus_message_append(m, "{sv}", "Address", "s", a->address)) < 0)
                return r;
        if (a->access && (r = append_strv_entry(m, "ServiceAccess", a->access)) < 0)
                return r;
        if (a->networks && (r = append_strv_entry(m, "NetworkAccess", a->networks)) < 0)
                return r;
        if (a->has_keepalive &&
            (r = sd_bus_message_append(m, "{sv}", "PersistentKeepalive", "q", a->keepalive)) < 0)
                return r;
        if (a->preshared) {
                if (a->preshared_key)
                        r = sd_bus_message_append(m, "{sv}", "PresharedKey", "s", a->preshared_key);
                else
                        r = sd_bus_message_append(m, "{sv}", "PresharedKey", "b", 1);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}

int peer_add(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(peer_info_done) PeerInfo info = {};
        AddArgs a = {};
        const char *path;
        int r;

        r = parse_add_args(argc, argv, c, &a);
        if (r != ARGS_PARSED)
                goto finish;

        r = bus_new_call(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "AddPeer", &m);
        if (r < 0)
                goto finish;
        r = append_add_options(m, &a);
        if (r < 0) {
                r = report_error(r, "cannot build the AddPeer call: %s", strerror(-r));
                goto finish;
        }
        r = bus_call(c, m, true, &reply);
        if (r < 0)
                goto finish;

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                r = report_parse_error(r);
                goto finish;
        }

        /* The peer exists now; its address is only a nicety for the message. */
        if (peer_info_read(c, path, &info) >= 0 && !isempty(info.address))
                printf("Added peer %s (%s).\n", a.name, info.address);
        else
                printf("Added peer %s.\n", a.name);
        printf("Get its configuration with 'picctl peer config %s' (add --qr for a QR code).\n", a.name);
        r = 0;

finish:
        strv_free(a.access);
        strv_free(a.networks);
        return r;
}

