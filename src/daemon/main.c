/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "cell-firewall.h"
#include "dnsmasq.h"
#include "log.h"
#include "manager.h"
#include "memory.h"
#include "names.h"
#include "sandbox.h"
#include "strv.h"
#include "test-kind.h"
#include "time-util.h"

static void help(void) {
        printf("pic-celld — the Personal Internet Cell system service (org.pic.Cell1)\n\n"
               "  -h --help                    show this help\n"
               "     --version                 show the version\n"
               "     --state-dir=DIR           where the cell's state lives (default %s)\n"
               "     --netns=NAME              run in network namespace /run/netns/NAME\n"
               "     --netns-name=NAME         already put in /run/netns/NAME (NetworkNamespacePath=):\n"
               "                               the units it starts (DNS) join it too\n"
               "     --interface=IFNAME        the WireGuard interface (default pic0)\n"
               "     --wireguard-run-dir=DIR   where UAPI sockets live (default /run/wireguard); another\n"
               "                               directory, outside /run, is bound there in a mount namespace\n"
               "                               of the daemon's own with an empty /run\n"
               "     --wireguard-go=PATH       wireguard-go to start without kernel WireGuard (default %s)\n"
               "     --backend=auto|kernel|userspace\n"
               "     --exit-ifname-prefix=NAME an exit's interface is NAME and its number (default pic-exit)\n"
               "     --exit-run-dir=DIR        the WireGuard run directory as the service manager sees it, bound\n"
               "                               on /run/wireguard in the exits' units (default: --wireguard-run-dir)\n"
               "     --exit-proxy-helper=PATH  a proxy exit's unit program (default %s)\n"
               "     --uplink=IFNAME           where peers' internet traffic leaves (default: the default route's)\n"
               "     --lan-networks=CIDR,…     what a peer's \"lan\" grant reaches (default: 10.0.0.0/8,\n"
               "                               172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 169.254.0.0/16)\n"
               "     --services=FILE           JSON replacing built-in services: {\"files\": {\"address\": \"10.0.9.2\",\n"
               "                               \"ports\": [\"tcp/445\"]}, …}\n"
               "     --dns-dir=DIR             the hosts files of the cell's dnsmasq (default /run/pic/dns)\n"
               "     --dnsmasq=PATH            the dnsmasq its DNS unit runs (default /usr/sbin/dnsmasq)\n"
               "     --dns-unit=NAME           that unit's name (default pic-dns.service)\n"
               "     --resolv-conf=FILE        where Setup finds the default DNS upstreams (default /etc/resolv.conf)\n"
               "     --stats-interval=SEC      how often to read WireGuard statistics (default 5)\n"
               "     --polkit-timeout=SEC      deny when polkit does not answer in time (default 25)\n"
               "     --link-confirm-timeout=SEC\n"
               "                               drop a cell link with no handshake this long after pairing\n"
               "                               (default 600)\n"
               "     --log-level=LEVEL         debug, info, notice, warning or err\n",
               PIC_STATE_DIR, PIC_WIREGUARD_GO, PIC_EXIT_PROXY_HELPER);
}

static bool endswith_service(const char *s) {
        size_t n = strlen(s);

        if (n <= strlen(".service") || n > 200 || !streq(s + n - strlen(".service"), ".service"))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("-_.@", *p)))
                        return false;
        return true;
}

static int parse_lan_networks(const char *arg, ManagerConfig *c) {
        _cleanup_(strv_freep) char **l = strv_split_comma(arg);
        if (!l)
                return -ENOMEM;
        c->n_lan_networks = 0;
        for (char **i = l; *i; i++) {
                if (c->n_lan_networks >= FIREWALL_LAN_NETWORKS_MAX) {
                        log_error("--lan-networks: at most %d networks.", FIREWALL_LAN_NETWORKS_MAX);
                        return -E2BIG;
                }
                if (cidr4_parse(*i, true, &c->lan_networks[c->n_lan_networks]) < 0) {
                        log_error("--lan-networks: '%s' is not an IPv4 network such as 192.168.1.0/24.", *i);
                        return -EINVAL;
                }
                c->n_lan_networks++;
        }
        c->has_lan_networks = true; /* even none: then "lan" grants nothing */
        return 0;
}

static int parse_argv(int argc, char *argv[], ManagerConfig *c) {
        enum { ARG_VERSION = 0x100, ARG_STATE_DIR, ARG_NETNS, ARG_INTERFACE, ARG_RUN_DIR, ARG_WIREGUARD_GO,
               ARG_BACKEND, ARG_UPLINK, ARG_LAN, ARG_SERVICES, ARG_TEST_FIREWALL_FAILURE, ARG_TEST_FAILURE, ARG_TEST_STATIC_PEER, ARG_STATS, ARG_POLKIT_TIMEOUT, ARG_LOG_LEVEL,
               ARG_DNS_DIR, ARG_DNSMASQ, ARG_DNS_UNIT, ARG_RESOLV_CONF, ARG_TEST_DNS_FORWARD, ARG_NETNS_NAME, ARG_LINK_CONFIRM, ARG_EXIT_IFNAME, ARG_EXIT_RUN_DIR,
               ARG_EXIT_PROXY_HELPER, ARG_TEST_DDNS_CA_FILE, ARG_TEST_DDNS_BASE, ARG_TEST_DDNS_CHECK_INTERVAL,
               ARG_TEST_DDNS_BACKOFF, ARG_TEST_DDNS_REFRESH };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "netns", required_argument, NULL, ARG_NETNS },
                { "netns-name", required_argument, NULL, ARG_NETNS_NAME },
                { "interface", required_argument, NULL, ARG_INTERFACE },
                { "wireguard-run-dir", required_argument, NULL, ARG_RUN_DIR },
                { "wireguard-go", required_argument, NULL, ARG_WIREGUARD_GO },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "exit-ifname-prefix", required_argument, NULL, ARG_EXIT_IFNAME },
                { "exit-run-dir", required_argument, NULL, ARG_EXIT_RUN_DIR },
                { "exit-proxy-helper", required_argument, NULL, ARG_EXIT_PROXY_HELPER },
                { "uplink", required_argument, NULL, ARG_UPLINK },
                { "lan-networks", required_argument, NULL, ARG_LAN },
                { "services", required_argument, NULL, ARG_SERVICES },
                { "test-firewall-failure-file", required_argument, NULL, ARG_TEST_FIREWALL_FAILURE },
                { "test-failure-file", required_argument, NULL, ARG_TEST_FAILURE },
                { "test-static-peer", required_argument, NULL, ARG_TEST_STATIC_PEER },
                { "dns-dir", required_argument, NULL, ARG_DNS_DIR },
                { "dnsmasq", required_argument, NULL, ARG_DNSMASQ },
                { "dns-unit", required_argument, NULL, ARG_DNS_UNIT },
                { "resolv-conf", required_argument, NULL, ARG_RESOLV_CONF },
                { "test-dns-forward", required_argument, NULL, ARG_TEST_DNS_FORWARD },
                { "stats-interval", required_argument, NULL, ARG_STATS },
                { "polkit-timeout", required_argument, NULL, ARG_POLKIT_TIMEOUT },
                { "link-confirm-timeout", required_argument, NULL, ARG_LINK_CONFIRM },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "test-ddns-ca-file", required_argument, NULL, ARG_TEST_DDNS_CA_FILE },
                { "test-ddns-base", required_argument, NULL, ARG_TEST_DDNS_BASE },
                { "test-ddns-check-interval", required_argument, NULL, ARG_TEST_DDNS_CHECK_INTERVAL },
                { "test-ddns-backoff", required_argument, NULL, ARG_TEST_DDNS_BACKOFF },
                { "test-ddns-refresh", required_argument, NULL, ARG_TEST_DDNS_REFRESH },
                {}
        };
        int o, r;

        while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (o) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PIC_VERSION);
                        return 0;
                case ARG_STATE_DIR:
                        c->state_dir = optarg;
                        break;
                case ARG_NETNS:
                        c->netns = c->netns_name = optarg;
                        break;
                case ARG_NETNS_NAME:
                        if (isempty(optarg) || strchr(optarg, '/') || strlen(optarg) > 200) {
                                log_error("--netns-name: '%s' is not a name under /run/netns.", optarg);
                                return -EINVAL;
                        }
                        c->netns_name = optarg;
                        break;
                case ARG_INTERFACE:
                        if (strlen(optarg) == 0 || strlen(optarg) > 15 || strchr(optarg, '/')) {
                                log_error("--interface: '%s' is not a valid interface name (1-15 characters).", optarg);
                                return -EINVAL;
                        }
                        c->ifname = optarg;
                        break;
                case ARG_RUN_DIR:
                        if (optarg[0] != '/') {
                                log_error("--wireguard-run-dir must be an absolute path.");
                                return -EINVAL;
                        }
                        c->wireguard_run_dir = optarg;
                        break;
                case ARG_WIREGUARD_GO:
                        c->wireguard_go = optarg;
                        break;
                case ARG_EXIT_IFNAME: /* room for two digits: exits are numbered up to 64 */
                        if (isempty(optarg) || strlen(optarg) > IFNAMSIZ - 3 || strchr(optarg, '/')) {
                                log_error("--exit-ifname-prefix must be 1 to %d characters, without '/'.", IFNAMSIZ - 3);
                                return -EINVAL;
                        }
                        c->exit_ifname_prefix = optarg;
                        break;
                case ARG_EXIT_RUN_DIR:
                        if (optarg[0] != '/') {
                                log_error("--exit-run-dir must be an absolute path.");
                                return -EINVAL;
                        }
                        c->exit_run_dir = optarg;
                        break;
                case ARG_EXIT_PROXY_HELPER:
                        if (optarg[0] != '/') {
                                log_error("--exit-proxy-helper must be an absolute path.");
                                return -EINVAL;
                        }
                        c->exit_proxy_helper = optarg;
                        break;
                case ARG_BACKEND:
                        if (streq(optarg, "auto"))
                                c->backend = WG_BACKEND_CHOICE_AUTO;
                        else if (streq(optarg, "kernel"))
                                c->backend = WG_BACKEND_CHOICE_KERNEL;
                        else if (streq(optarg, "userspace"))
                                c->backend = WG_BACKEND_CHOICE_USERSPACE;
                        else {
                                log_error("--backend must be auto, kernel or userspace.");
                                return -EINVAL;
                        }
                        break;
                case ARG_UPLINK:
                        if (strlen(optarg) == 0 || strlen(optarg) > 15 || strchr(optarg, '/')) {
                                log_error("--uplink: '%s' is not a valid interface name (1-15 characters).", optarg);
                                return -EINVAL;
                        }
                        c->uplink = optarg;
                        break;
                case ARG_LAN:
                        r = parse_lan_networks(optarg, c);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SERVICES:
                        c->services_file = optarg;
                        break;
                case ARG_TEST_FIREWALL_FAILURE: /* undocumented on purpose: for tests only */
                        c->test_firewall_failure_file = optarg;
                        break;
                case ARG_TEST_FAILURE: /* likewise: failure-injection.h */
                        c->test_failure_file = optarg;
                        break;
                case ARG_TEST_STATIC_PEER: /* likewise: test-kind.h */
                        if (c->n_test_static_peers >= TEST_STATIC_PEERS_MAX ||
                            test_static_peer_parse(optarg, &c->test_static_peers[c->n_test_static_peers]) < 0) {
                                log_error("--test-static-peer: '%s' is not KEY@ADDRESS (at most %d).", optarg,
                                          TEST_STATIC_PEERS_MAX);
                                return -EINVAL;
                        }
                        c->n_test_static_peers++;
                        break;
                case ARG_DNS_DIR:
                case ARG_DNSMASQ:
                        /* Both end up on dnsmasq's command line: absolute, no spaces. */
                        if (optarg[0] != '/' || strpbrk(optarg, " \t\n")) {
                                log_error("%s must be an absolute path without spaces.", argv[optind - 1]);
                                return -EINVAL;
                        }
                        *(o == ARG_DNS_DIR ? &c->dns_dir : &c->dnsmasq) = optarg;
                        break;
                case ARG_TEST_DNS_FORWARD: { /* tests only: what cell links will set (DOMAIN=SERVER) */
                        const char *eq = strchr(optarg, '=');
                        _cleanup_(freep) char *domain = eq ? strndup(optarg, eq - optarg) : NULL;

                        if (!domain || !dns_domain_is_valid(domain) || dns_server_check(eq + 1) < 0) {
                                log_error("--test-dns-forward: '%s' is not DOMAIN=SERVER.", optarg);
                                return -EINVAL;
                        }
                        if (strv_extend(&c->test_dns_forward_domains, domain) < 0 ||
                            strv_extend(&c->test_dns_forward_servers, eq + 1) < 0)
                                return -ENOMEM;
                        break;
                }
                case ARG_RESOLV_CONF:
                        c->resolv_conf = optarg;
                        break;
                case ARG_DNS_UNIT:
                        if (!endswith_service(optarg)) {
                                log_error("--dns-unit: '%s' is not a service unit name (NAME.service).", optarg);
                                return -EINVAL;
                        }
                        c->dns_unit = optarg;
                        break;
                case ARG_STATS:
                case ARG_POLKIT_TIMEOUT:
                case ARG_LINK_CONFIRM:
                        r = parse_seconds(optarg, o == ARG_STATS ? &c->stats_interval_usec :
                                                  o == ARG_POLKIT_TIMEOUT ? &c->polkit_timeout_usec :
                                                  &c->link_confirm_timeout_usec);
                        if (r < 0) {
                                log_error("%s: '%s' is not a number of seconds.", argv[optind - 1], optarg);
                                return r;
                        }
                        break;
                /* Dynamic DNS, tests only (undocumented on purpose, like the other --test- options): */
                case ARG_TEST_DDNS_CA_FILE: /* the stand-in providers' trust anchor instead of the system's */
                        if (optarg[0] != '/') {
                                log_error("--test-ddns-ca-file must be an absolute path.");
                                return -EINVAL;
                        }
                        c->test_ddns_ca_file = optarg;
                        break;
                case ARG_TEST_DDNS_BASE: { /* PROVIDER=https://HOST:PORT: a stand-in server instead of the provider's */
                        const char *eq = strchr(optarg, '=');
                        _cleanup_(freep) char *name = eq ? strndup(optarg, eq - optarg) : NULL;
                        DdnsProviderId id = ddns_provider_from_string(name);
                        if (id < 0 || !ddns_https_url_is_valid(eq + 1, false)) {
                                log_error("--test-ddns-base: '%s' is not PROVIDER=https://HOST[:PORT].", optarg);
                                return -EINVAL;
                        }
                        c->test_ddns_base[id] = (char *) eq + 1;
                        break;
                }
                case ARG_TEST_DDNS_CHECK_INTERVAL: /* how often the address is looked at (default 300 s) */
                case ARG_TEST_DDNS_REFRESH:        /* the provider told again, unchanged (default a day) */
                        r = parse_seconds(optarg, o == ARG_TEST_DDNS_REFRESH ? &c->ddns_refresh_usec
                                                                             : &c->ddns_check_interval_usec);
                        if (r < 0) {
                                log_error("%s: '%s' is not a number of seconds.", argv[optind - 1], optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_TEST_DDNS_BACKOFF: { /* FIRST,MAX seconds after a failed update (default 60,3600) */
                        const char *comma = strchr(optarg, ',');
                        _cleanup_(freep) char *first = comma ? strndup(optarg, comma - optarg) : NULL;
                        if (!first || parse_seconds(first, &c->ddns_backoff_first_usec) < 0 ||
                            parse_seconds(comma + 1, &c->ddns_backoff_max_usec) < 0 || c->ddns_backoff_first_usec == 0 ||
                            c->ddns_backoff_max_usec < c->ddns_backoff_first_usec) {
                                log_error("--test-ddns-backoff: '%s' is not FIRST,MAX seconds (FIRST > 0, MAX >= FIRST).",
                                          optarg);
                                return -EINVAL;
                        }
                        break;
                }
                case ARG_LOG_LEVEL:
                        r = log_level_from_string(optarg);
                        if (r < 0) {
                                log_error("--log-level must be debug, info, notice, warning or err.");
                                return r;
                        }
                        log_set_max_level(r);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("Unexpected argument '%s'.", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        ManagerConfig config = {
                .state_dir = (char *) PIC_STATE_DIR,
                .ifname = (char *) "pic0",
                .wireguard_run_dir = (char *) "/run/wireguard",
                .wireguard_go = (char *) PIC_WIREGUARD_GO,
                .exit_ifname_prefix = (char *) "pic-exit",
                .exit_proxy_helper = (char *) PIC_EXIT_PROXY_HELPER,
                .backend = WG_BACKEND_CHOICE_AUTO,
                .dns_dir = (char *) "/run/pic/dns",
                .dnsmasq = (char *) "/usr/sbin/dnsmasq",
                .dns_unit = (char *) "pic-dns.service",
                .resolv_conf = (char *) "/etc/resolv.conf",
                .stats_interval_usec = 5 * 1000000ULL,
                .polkit_timeout_usec = 25 * 1000000ULL,
                .link_confirm_timeout_usec = 10 * 60 * 1000000ULL,
                .ddns_check_interval_usec = 5 * 60 * 1000000ULL,
                .ddns_backoff_first_usec = 60 * 1000000ULL,
                .ddns_backoff_max_usec = 3600 * 1000000ULL,
                .ddns_refresh_usec = 24 * 3600 * 1000000ULL,
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        r = parse_argv(argc, argv, &config);
        if (r <= 0)
                return r;

        memory_return_large_blocks();

        /* The event loop delivers these; SIGCHLD for wireguard-go. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if (config.netns && (r = sandbox_enter_netns(config.netns)) < 0)
                return r;
        r = manager_new(&m, &config);
        if (r < 0)
                return r;
        if (config.services_file && (r = cell_firewall_load_services(m, config.services_file)) < 0)
                return r;
        r = manager_connect_bus(m);
        if (r < 0)
                return r;
        r = sandbox_bind_wireguard_run_dir(config.wireguard_run_dir);
        if (r < 0)
                return r;
        /* Inside this process the sockets now appear under /run/wireguard. */
        r = wg_backend_set_run_dir(m->wg, "/run/wireguard");
        if (r < 0)
                return r;
        r = manager_start(m);
        if (r < 0)
                return r;
        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.pic.Cell1.");
        r = manager_run(m);
        (void) sd_notify(false, "STOPPING=1");
        return r;
}

int main(int argc, char *argv[]) {
        /* a backup's reader that goes away is an error to report, not a reason to die */
        (void) signal(SIGPIPE, SIG_IGN);
        int r = run(argc, argv);
        if (r < 0)
                log_error_errno(r, "pic-celld failed: %m");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
