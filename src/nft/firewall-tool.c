/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pic-firewall-test-tool: drives src/nft/firewall.h in the network namespace it
 * runs in, for integration tests and measurements. Not installed. */
#include <getopt.h>
#include <netinet/in.h>
#include <time.h>

#include "firewall.h"
#include "log.h"
#include "strv.h"

/* "a,b,c" → {"a","b","c",NULL}; "" or "-" → {NULL}. */
static char **split_list(const char *s) {
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_(freep) char *copy = NULL;
        size_t n = 0;
        char *save = NULL;

        l = calloc(1, sizeof *l);
        if (!l || !s || isempty(s) || streq(s, "-"))
                return TAKE_PTR(l);
        copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char **a = realloc(l, (n + 2) * sizeof *a);
                if (!a)
                        return NULL;
                l = a;
                l[n] = strdup(t);
                if (!l[n])
                        return NULL;
                l[++n] = NULL;
        }
        return TAKE_PTR(l);
}

/* NAME=ADDR[:tcp/P,udp/P,...] */
static int parse_service(const char *arg, FirewallService *ret) {
        _cleanup_(freep) char *copy = strdup(arg);
        char *eq, *colon, *save = NULL;
        FirewallService s = {};
        size_t n_defaults;
        const FirewallService *defaults = firewall_default_services(&n_defaults);
        int r;

        if (!copy)
                return -ENOMEM;
        eq = strchr(copy, '=');
        if (!eq)
                return -EINVAL;
        *eq = '\0';
        colon = strchr(eq + 1, ':');
        if (colon)
                *colon = '\0';
        for (size_t i = 0; i < n_defaults; i++)
                if (streq(defaults[i].name, copy))
                        s = defaults[i];
        if (!s.name)
                return -EINVAL;
        r = ipv4_parse(eq + 1, &s.address);
        if (r < 0)
                return r;
        if (colon) {
                s.n_ports = 0;
                for (char *t = strtok_r(colon + 1, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        unsigned port;
                        char proto[4];

                        if (s.n_ports >= FIREWALL_SERVICE_PORTS_MAX ||
                            sscanf(t, "%3[a-z]/%u", proto, &port) != 2 || port == 0 || port > 65535)
                                return -EINVAL;
                        s.ports[s.n_ports++] = (FirewallPort) {
                                .protocol = streq(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP,
                                .port = port,
                        };
                }
        }
        *ret = s;
        return 0;
}

static int help(void) {
        printf("pic-firewall-test-tool [OPTIONS] COMMAND ...\n"
               "  --wg IFNAME --uplink IFNAME --subnet CIDR --vpn-address ADDR\n"
               "  --service NAME=ADDR[:tcp/PORT,udp/PORT...]   (repeatable)\n"
               "Commands:\n"
               "  --lan-networks CIDR,...     what the \"lan\" grant reaches (default: private ranges)\n"
               "  apply [PEER=SVC,SVC[/NET,NET] ...]\n"
               "                               replace the table with these peers; NET: internet lan\n"
               "                               peers, \"internet\" without a '/'\n"
               "  access PEER OLD NEW          OLD/NEW: comma lists, '-' for none\n"
               "  remove PEER SVC,SVC          remove a peer's elements\n"
               "  dump                         print the table as the kernel has it\n"
               "  exists                       exit 0 if the table exists, 1 if not\n"
               "  bench N                      apply N peers with every service, print seconds\n");
        return 0;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_apply(Firewall *f, int argc, char **argv) {
        _cleanup_(freep) FirewallPeer *peers = calloc(MAX(argc, 1), sizeof *peers);
        int r;

        if (!peers)
                return -ENOMEM;
        r = 0;
        for (int i = 0; i < argc && r == 0; i++) {
                char *eq = strchr(argv[i], '='), *slash;
                if (!eq) {
                        r = -EINVAL;
                        break;
                }
                *eq = '\0';
                slash = strchr(eq + 1, '/');
                if (slash)
                        *slash = '\0';
                r = ipv4_parse(argv[i], &peers[i].address);
                if (r < 0)
                        break;
                peers[i].services = split_list(eq + 1);
                peers[i].networks = split_list(slash ? slash + 1 : "internet"); /* the daemon's default */
                if (!peers[i].services || !peers[i].networks)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = firewall_apply(f, peers, argc);
        for (int i = 0; i < argc; i++) {
                strv_free(peers[i].services);
                strv_free(peers[i].networks);
        }
        return r;
}

static int cmd_bench(Firewall *f, unsigned n) {
        _cleanup_(freep) FirewallPeer *peers = calloc(MAX(n, 1u), sizeof *peers);
        char *all[] = { "dns", "web", "mail", "calendar", "files", "webdav", NULL }, *internet[] = { "internet", NULL };
        double t;
        int r;

        if (!peers)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++)
                peers[i] = (FirewallPeer) { .address = (10u << 24) | (100u << 16) | (i + 2), .services = all,
                                            .networks = internet };
        t = now();
        r = firewall_apply(f, peers, n);
        if (r < 0)
                return r;
        printf("%u peers, %.4f s\n", n, now() - t);
        return 0;
}

int main(int argc, char **argv) {
        enum { ARG_WG = 0x100, ARG_UPLINK, ARG_SUBNET, ARG_VPN_ADDRESS, ARG_SERVICE, ARG_LAN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "wg", required_argument, NULL, ARG_WG },
                { "uplink", required_argument, NULL, ARG_UPLINK },
                { "subnet", required_argument, NULL, ARG_SUBNET },
                { "vpn-address", required_argument, NULL, ARG_VPN_ADDRESS },
                { "service", required_argument, NULL, ARG_SERVICE },
                { "lan-networks", required_argument, NULL, ARG_LAN },
                {}
        };
        FirewallService services[16];
        Cidr4 lan[FIREWALL_LAN_NETWORKS_MAX];
        _cleanup_(strv_freep) char **lan_list = NULL;
        FirewallConfig c = { .services = services };
        _cleanup_(firewall_freep) Firewall *f = NULL;
        const char *cmd;
        int opt, r;

        if (getenv("PIC_DEBUG"))
                log_set_max_level(LOG_DEBUG);

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        return help();
                case ARG_WG:
                        c.wg_ifname = optarg;
                        break;
                case ARG_UPLINK:
                        c.uplink_ifname = optarg;
                        break;
                case ARG_SUBNET:
                        if (cidr4_parse(optarg, true, &c.vpn_subnet) < 0) {
                                fprintf(stderr, "bad --subnet %s\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_VPN_ADDRESS:
                        if (ipv4_parse(optarg, &c.vpn_address) < 0) {
                                fprintf(stderr, "bad --vpn-address %s\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_SERVICE:
                        if (c.n_services >= ELEMENTSOF(services) || parse_service(optarg, &services[c.n_services]) < 0) {
                                fprintf(stderr, "bad --service %s\n", optarg);
                                return 2;
                        }
                        c.n_services++;
                        break;
                case ARG_LAN:
                        strv_free(lan_list);
                        lan_list = split_list(optarg);
                        if (!lan_list)
                                return 1;
                        c.lan_networks = lan;
                        c.n_lan_networks = 0;
                        for (char **i = lan_list; *i; i++)
                                if (c.n_lan_networks >= ELEMENTSOF(lan) ||
                                    cidr4_parse(*i, true, &lan[c.n_lan_networks++]) < 0) {
                                        fprintf(stderr, "bad --lan-networks %s\n", optarg);
                                        return 2;
                                }
                        break;
                default:
                        return 2;
                }

        if (optind >= argc) {
                help();
                return 2;
        }
        cmd = argv[optind++];

        if (streq(cmd, "dump") || streq(cmd, "exists"))
                c.wg_ifname = c.wg_ifname ?: "unused"; /* reading needs no configuration */

        r = firewall_new(&f, &c);
        if (r < 0) {
                log_error_errno(r, "Invalid configuration: %m");
                return 2;
        }

        if (streq(cmd, "apply"))
                r = cmd_apply(f, argc - optind, argv + optind);
        else if (streq(cmd, "access") || streq(cmd, "remove")) {
                bool remove = streq(cmd, "remove");
                _cleanup_(strv_freep) char **old = NULL, **new = NULL;
                uint32_t peer;

                if (argc - optind != (remove ? 2 : 3) || ipv4_parse(argv[optind], &peer) < 0)
                        return 2;
                old = split_list(argv[optind + 1]);
                new = split_list(remove ? "-" : argv[optind + 2]);
                if (!old || !new)
                        return 1;
                r = remove ? firewall_remove_peer(f, peer, old) : firewall_set_peer_access(f, peer, old, new);
        } else if (streq(cmd, "dump")) {
                _cleanup_(freep) char *text = NULL;
                r = firewall_dump(f, &text);
                if (r >= 0)
                        fputs(text, stdout);
        } else if (streq(cmd, "exists")) {
                r = firewall_table_exists(f);
                if (r >= 0)
                        return r > 0 ? 0 : 1;
        } else if (streq(cmd, "bench") && argc - optind == 1)
                r = cmd_bench(f, (unsigned) strtoul(argv[optind], NULL, 10));
        else {
                help();
                return 2;
        }
        if (r < 0) {
                log_error_errno(r, "%s failed: %m", cmd);
                return 1;
        }
        return 0;
}
