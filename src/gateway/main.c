/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "gateway.h"
#include "host-check.h"
#include "log.h"
#include "memory.h"
#include "routes.h"
#include "strv.h"
#include "time-util.h"

static void help(void) {
        printf("pic-gatewayd — the PIC web gateway: REST/JSON over HTTP to org.pic.Cell1\n\n"
               "  -h --help                 show this help\n"
               "     --version              show the version\n"
               "     --listen=ADDR:PORT     where to listen (default 127.0.0.1:8080; ignored with\n"
               "                            sockets passed by systemd)\n"
               "     --pairing-listen=ADDR:PORT\n"
               "                            take other cells' pairing requests there (only those)\n"
               "     --allowed-host=NAME[:PORT]\n"
               "                            answer requests for this name too (repeatable; without a\n"
               "                            port: on any); localhost, 127.0.0.1, [::1] and the address\n"
               "                            listened on, with its port, and the cell's own names (its\n"
               "                            domain, name.domain, endpoint host) always; any other: 421\n"
               "     --trusted-proxy=ADDR[/PREFIX]\n"
               "                            believe X-Forwarded-For, -Proto and -Host only from peers here\n"
               "                            (repeatable; IPv4 or IPv6): the client's address (the right-most\n"
               "                            that is not a trusted proxy) for login limits and logs, the host\n"
               "                            for the Host check, Origin exactly PROTO://HOST, Secure cookies\n"
               "                            over https; /metrics through it answers only the scrape token\n"
               "     --metrics-token-file=FILE\n"
               "                            /metrics also answers \"Authorization: Bearer <its one line>\"\n"
               "                            (otherwise only an admin session, not through a trusted proxy)\n"
               "     --web-root=DIR         the web UI's files (default %s)\n"
               "     --session-idle=SEC     end sessions idle this long (default 43200)\n"
               "     --bus-timeout=SEC      answer 504 when the cell takes longer (default 30: longer\n"
               "                            than the cell waits for polkit, 25, so it refuses first)\n"
               "     --login-attempts=N     login attempts allowed per minute for a user at an address, 4N\n"
               "                            for an address (default 5); a successful one is not counted\n"
               "     --login-rate=N         password checks per second for all clients together\n"
               "                            (default 10; each costs the cell an Argon2 hash)\n"
               "     --connections-per-client=N\n"
               "                            open connections one client address may hold (default 64)\n"
               "     --header-timeout=SEC   close a connection whose request headers have not all\n"
               "                            arrived this long after it opened or its last request (default 10)\n"
               "     --log-level=LEVEL      debug, info, notice, warning or err\n",
               PIC_GATEWAY_WEB_ROOT);
}

static int parse_argv(int argc, char *argv[], GatewayConfig *c) {
        enum { ARG_VERSION = 0x100, ARG_LISTEN, ARG_WEB_ROOT, ARG_SESSION_IDLE, ARG_BUS_TIMEOUT,
               ARG_LOGIN_ATTEMPTS, ARG_LOGIN_RATE, ARG_CONNECTIONS_PER_CLIENT, ARG_HEADER_TIMEOUT, ARG_SSE_KEEPALIVE, ARG_LIST_ROUTES, ARG_LOG_LEVEL, ARG_PAIRING_LISTEN,
               ARG_ALLOWED_HOST, ARG_METRICS_TOKEN_FILE, ARG_TRUSTED_PROXY };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "pairing-listen", required_argument, NULL, ARG_PAIRING_LISTEN },
                { "web-root", required_argument, NULL, ARG_WEB_ROOT },
                { "allowed-host", required_argument, NULL, ARG_ALLOWED_HOST },
                { "metrics-token-file", required_argument, NULL, ARG_METRICS_TOKEN_FILE },
                { "trusted-proxy", required_argument, NULL, ARG_TRUSTED_PROXY },
                { "session-idle", required_argument, NULL, ARG_SESSION_IDLE },
                { "bus-timeout", required_argument, NULL, ARG_BUS_TIMEOUT },
                { "login-attempts", required_argument, NULL, ARG_LOGIN_ATTEMPTS },
                { "login-rate", required_argument, NULL, ARG_LOGIN_RATE },
                { "connections-per-client", required_argument, NULL, ARG_CONNECTIONS_PER_CLIENT },
                { "header-timeout", required_argument, NULL, ARG_HEADER_TIMEOUT },
                { "sse-keepalive", required_argument, NULL, ARG_SSE_KEEPALIVE },
                { "list-routes", no_argument, NULL, ARG_LIST_ROUTES },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
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
                case ARG_LISTEN:
                        c->listen = optarg;
                        break;
                case ARG_PAIRING_LISTEN:
                        c->pairing_listen = optarg;
                        break;
                case ARG_WEB_ROOT:
                        c->web_root = optarg;
                        break;
                case ARG_METRICS_TOKEN_FILE:
                        c->metrics_token_file = optarg;
                        break;
                case ARG_ALLOWED_HOST: {
                        char name[256];
                        unsigned port;
                        if (host_port_split(optarg, name, sizeof name, &port) < 0) {
                                log_error("--allowed-host=%s is not NAME, NAME:PORT or [V6ADDR]:PORT.", optarg);
                                return -EINVAL;
                        }
                        r = strv_extend(&c->allowed_hosts, optarg);
                        if (r < 0)
                                return r;
                        break;
                }
                case ARG_TRUSTED_PROXY: {
                        ProxyNet net;
                        if (proxy_net_parse(optarg, &net) < 0) {
                                log_error("--trusted-proxy=%s is not ADDR or ADDR/PREFIX (IPv4 or IPv6, no host bits "
                                          "set past the prefix).", optarg);
                                return -EINVAL;
                        }
                        if (c->n_trusted_proxies >= 64) {
                                log_error("--trusted-proxy: at most 64.");
                                return -E2BIG;
                        }
                        ProxyNet *nets = reallocarray(c->trusted_proxies, c->n_trusted_proxies + 1, sizeof(ProxyNet));
                        if (!nets)
                                return -ENOMEM;
                        nets[c->n_trusted_proxies++] = net;
                        c->trusted_proxies = nets;
                        break;
                }
                case ARG_SESSION_IDLE:
                case ARG_BUS_TIMEOUT:
                case ARG_SSE_KEEPALIVE: /* undocumented: for tests */
                case ARG_HEADER_TIMEOUT:
                        r = parse_seconds(optarg, o == ARG_SESSION_IDLE ? &c->session_idle_usec :
                                                  o == ARG_BUS_TIMEOUT ? &c->bus_timeout_usec :
                                                  o == ARG_HEADER_TIMEOUT ? &c->header_timeout_usec : &c->sse_keepalive_usec);
                        if (r < 0) {
                                log_error("%s: '%s' is not a number of seconds.", argv[optind - 1], optarg);
                                return r;
                        }
                        break;
                case ARG_LOGIN_ATTEMPTS:
                case ARG_LOGIN_RATE:
                case ARG_CONNECTIONS_PER_CLIENT: {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (*end || n == 0 || n > 1000) {
                                log_error("%s must be a number from 1 to 1000.", argv[optind - 1]);
                                return -EINVAL;
                        }
                        *(o == ARG_LOGIN_RATE ? &c->login_rate :
                          o == ARG_CONNECTIONS_PER_CLIENT ? &c->connections_per_client : &c->login_attempts) = (unsigned) n;
                        break;
                }
                case ARG_LIST_ROUTES: /* undocumented: the route table, for the OpenAPI test */
                        routes_print(stdout);
                        return 0;
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
        GatewayConfig config = {
                .listen = "127.0.0.1:8080",
                .web_root = PIC_GATEWAY_WEB_ROOT,
                .session_idle_usec = 12 * 3600 * 1000000ULL,
                /* past pic-celld's polkit wait (--polkit-timeout, 25 s): a call the cell still
                 * carries out is never answered 504 first */
                .bus_timeout_usec = 30 * 1000000ULL,
                .login_attempts = 5,
                .login_rate = 10,
                .connections_per_client = 64,
                .header_timeout_usec = 10 * 1000000ULL,
                .login_window_usec = 60 * 1000000ULL,
                .sse_keepalive_usec = 15 * 1000000ULL,
        };
        _cleanup_(strv_freep) char **allowed_hosts = NULL; /* after the gateway using it */
        _cleanup_(freep) ProxyNet *trusted_proxies = NULL;
        _cleanup_(gateway_freep) Gateway *g = NULL;
        int r;

        r = parse_argv(argc, argv, &config);
        allowed_hosts = config.allowed_hosts;
        trusted_proxies = config.trusted_proxies;
        if (r <= 0)
                return r;

        memory_return_large_blocks();

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* a client that goes away mid-write must not kill us */
        signal(SIGPIPE, SIG_IGN);

        r = gateway_new(&g, &config);
        if (r < 0)
                return r;
        r = gateway_start(g);
        if (r < 0)
                return r;
        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving HTTP on port %u.", g->port);
        r = gateway_run(g);
        (void) sd_notify(false, "STOPPING=1");
        return r;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        if (r < 0)
                log_error_errno(r, "pic-gatewayd failed: %m");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
