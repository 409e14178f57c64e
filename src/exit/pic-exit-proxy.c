/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pic-exit-proxy: the main process of an exit of type "proxy" or
 * "sshuttle". It runs the program that carries the peers' TCP (redsocks,
 * sshuttle) as its child, relays their DNS while the way out serves (through
 * the proxy: dns-relay.h; to sshuttle's own DNS port: dns-forward.h), probes
 * it, and says in a status file whether it serves: "up" or "down <reason>".
 * Its child's end is its own (exit 1, a few seconds later: systemd restarts
 * the unit, and the status file says why meanwhile). */
#define _GNU_SOURCE 1 /* close_range */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "cidr.h"
#include "dns-forward.h"
#include "dns-relay.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "netlink/sock-diag.h"
#include "proxy-url.h"
#include "time-util.h"

#define PROXY_FILE_MAX (PROXY_URL_MAX + 1) /* the URL and a newline */
#define RESOLVERS_FILE_MAX 256
#define STATUS_MAX 256 /* "down <reason>\n" at most */
#define PROBE_FAILING_USEC (5 * 1000000ULL)
#define PROBE_FINE_USEC (10 * 1000000ULL) /* a proxy that went away shows within seconds, at one tunnel per 10 s */
#define PROBE_SOON_USEC (1 * 1000000ULL) /* after a query failed while the proxy seemed fine */
#define CHILD_STOP_USEC (10 * 1000000ULL)
/* after the child ended: its reason stays readable, and restarts stay under systemd's start limit */
#define CHILD_GONE_USEC (3 * 1000000ULL)
#define ORPHANS_WAIT_USEC (10 * 1000000ULL)
#define CHILD_LINE_MAX 100 /* of each of its last two lines of output kept for the status */

extern char **environ;

typedef struct Args {
        const char *listen, *proxy_file, *status_file, *resolvers_file, *dns_from_child, *free_port;
        uint32_t child_dns_address, free_address;
        uint16_t free_port_number;
        uint32_t listen_address;
        uint16_t listen_port;
        uint32_t resolvers[DNS_RELAY_RESOLVERS_MAX];
        size_t n_resolvers;
        char **program;
} Args;

typedef struct Context {
        Args *args;
        sd_event *event;
        ProxyUrl proxy;
        pid_t child;
        sd_event_source *child_source, *probe_timer, *kill_timer;
        ProxyProbe *probe;
        bool forward_probing;
        DnsRelay *relay;     /* a proxy exit's */
        DnsForward *forward; /* an sshuttle exit's */
        int child_output;    /* its stderr and stdout, passed on to ours */
        sd_event_source *output_source, *gone_timer;
        char output[4096];
        size_t output_len;
        char last_lines[2][CHILD_LINE_MAX + 1];
        bool terminating, have_status, up;
        char status[STATUS_MAX + 1];
        DnsRelayCounters reported;
} Context;

static void help(void) {
        printf("pic-exit-proxy — relays an exit's DNS through its proxy and runs the program for its TCP\n\n"
               "usage: pic-exit-proxy --listen A.B.C.D:PORT --proxy-file PATH --resolver A.B.C.D [--resolver …]\n"
               "                      --status-file PATH -- PROGRAM [ARGS…]\n"
               "       pic-exit-proxy --listen A.B.C.D:PORT --dns-from-child A.B.C.D --status-file PATH\n"
               "                      -- PROGRAM [ARGS…]\n\n"
               "  -h --help                  show this help\n"
               "     --listen=A.B.C.D:PORT   where the DNS relay takes queries (UDP)\n"
               "     --proxy-file=PATH       a file holding the proxy's URL (socks5:// or http://)\n"
               "     --resolver=A.B.C.D      a resolver asked over TCP through the proxy (up to %u)\n"
               "     --resolvers-file=PATH   resolvers, one a line (with --resolver: up to %u in all)\n"
               "     --status-file=PATH      where \"up\" or \"down <reason>\" is written\n"
               "     --dns-from-child=A.B.C.D  forward DNS to the UDP port PROGRAM binds there (sshuttle's)\n"
               "     --free-port=A.B.C.D:PORT  end the TIME_WAIT sockets there before PROGRAM binds it\n",
               DNS_RELAY_RESOLVERS_MAX, DNS_RELAY_RESOLVERS_MAX);
}

static int parse_listen(const char *s, uint32_t *ret_address, uint16_t *ret_port) {
        char host[CIDR4_STRLEN];
        const char *colon = strrchr(s, ':');
        unsigned long port = 0;

        if (!colon || (size_t) (colon - s) >= sizeof host)
                return -EINVAL;
        memcpy(host, s, colon - s);
        host[colon - s] = 0;
        const char *p = colon + 1;
        for (size_t digits = 0; *p; p++, digits++) {
                if (*p < '0' || *p > '9' || digits >= 5)
                        return -EINVAL;
                port = port * 10 + (unsigned long) (*p - '0');
        }
        if (port == 0 || port > 65535 || ipv4_parse(host, ret_address) < 0)
                return -EINVAL;
        *ret_port = (uint16_t) port;
        return 0;
}

static int add_resolver(Args *a, const char *s) {
        uint32_t address;

        if (ipv4_parse(s, &address) < 0)
                return log_error_errno(-EINVAL, "A resolver must be an IPv4 address, not '%s'.", s);
        if (a->n_resolvers >= DNS_RELAY_RESOLVERS_MAX)
                return log_error_errno(-E2BIG, "At most %u resolvers.", DNS_RELAY_RESOLVERS_MAX);
        a->resolvers[a->n_resolvers++] = address;
        return 0;
}

static int read_resolvers_file(Args *a, const char *path) {
        _cleanup_(freep) char *text = NULL;
        size_t size;

        int r = read_file_at(AT_FDCWD, path, RESOLVERS_FILE_MAX, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", path);
        if (strlen(text) != size)
                return log_error_errno(-EINVAL, "%s is not text.", path);
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (*line == 0)
                        continue;
                r = add_resolver(a, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* 1: go on; 0: done (--help); negative: refused. */
static int parse_argv(int argc, char *argv[], Args *a) {
        enum { ARG_LISTEN = 0x100, ARG_PROXY_FILE, ARG_RESOLVER, ARG_RESOLVERS_FILE, ARG_STATUS_FILE,
               ARG_DNS_FROM_CHILD, ARG_FREE_PORT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "proxy-file", required_argument, NULL, ARG_PROXY_FILE },
                { "resolver", required_argument, NULL, ARG_RESOLVER },
                { "resolvers-file", required_argument, NULL, ARG_RESOLVERS_FILE },
                { "status-file", required_argument, NULL, ARG_STATUS_FILE },
                { "dns-from-child", required_argument, NULL, ARG_DNS_FROM_CHILD },
                { "free-port", required_argument, NULL, ARG_FREE_PORT },
                {}
        };
        int o, r;

        /* '+': PROGRAM's own options are its, even without "--" */
        while ((o = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (o) {
                case 'h':
                        help();
                        return 0;
                case ARG_LISTEN:
                        a->listen = optarg;
                        if (parse_listen(optarg, &a->listen_address, &a->listen_port) < 0)
                                return log_error_errno(-EINVAL, "--listen takes A.B.C.D:PORT, not '%s'.", optarg);
                        break;
                case ARG_PROXY_FILE:
                        a->proxy_file = optarg;
                        break;
                case ARG_RESOLVER:
                        r = add_resolver(a, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_RESOLVERS_FILE:
                        r = read_resolvers_file(a, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_STATUS_FILE:
                        a->status_file = optarg;
                        break;
                case ARG_DNS_FROM_CHILD:
                        a->dns_from_child = optarg;
                        if (ipv4_parse(optarg, &a->child_dns_address) < 0)
                                return log_error_errno(-EINVAL, "--dns-from-child takes an IPv4 address, not '%s'.",
                                                       optarg);
                        break;
                case ARG_FREE_PORT:
                        a->free_port = optarg;
                        if (parse_listen(optarg, &a->free_address, &a->free_port_number) < 0)
                                return log_error_errno(-EINVAL, "--free-port takes A.B.C.D:PORT, not '%s'.", optarg);
                        break;
                default:
                        return -EINVAL;
                }
        if (!a->listen || !a->status_file)
                return log_error_errno(-EINVAL, "--listen and --status-file are needed.");
        if (a->dns_from_child ? a->proxy_file || a->n_resolvers > 0 : !a->proxy_file || a->n_resolvers == 0)
                return log_error_errno(-EINVAL, "Either --proxy-file and a resolver, or --dns-from-child.");
        if (optind >= argc)
                return log_error_errno(-EINVAL, "The program to run is missing: -- PROGRAM [ARGS…]");
        a->program = argv + optind;
        return 1;
}

/* The URL: at most PROXY_FILE_MAX bytes, one newline allowed at the end. */
static int read_proxy_file(const char *path, ProxyUrl *ret) {
        _cleanup_(erase_and_freep) char *text = NULL;
        char why[256];
        size_t size;

        int r = read_file_at(AT_FDCWD, path, PROXY_FILE_MAX, &text, &size);
        if (r == -EFBIG)
                return log_error_errno(r, "%s is larger than %u bytes.", path, PROXY_FILE_MAX);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", path);
        if (size > 0 && text[size - 1] == '\n')
                text[--size] = 0;
        if (strlen(text) != size)
                return log_error_errno(-EINVAL, "%s holds more than a URL.", path);
        r = proxy_url_parse(text, ret, why, sizeof why);
        if (r < 0) /* proxy-url.h: the message quotes no credential */
                return log_error_errno(r, "%s: %s", path, why);
        return 0;
}

/* An error as the status file says it: lower case, like the probe's reasons. */
static const char *error_text(int error, char buf[static 128]) {
        snprintf(buf, 128, "%s", strerror(error < 0 ? -error : error));
        if (buf[0] >= 'A' && buf[0] <= 'Z')
                buf[0] = (char) (buf[0] - 'A' + 'a');
        return buf;
}

/* ---- the status file ---- */

/* Written whole or not at all (a temp file renamed over it); printable ASCII only. */
static void set_status(Context *c, const char *word, const char *reason) {
        char text[STATUS_MAX + 1];

        int n = snprintf(text, STATUS_MAX, "%s%s%s", word, reason ? " " : "", strempty(reason));
        n = MIN(n, STATUS_MAX - 1);
        for (int i = 0; i < n; i++)
                if (text[i] < 0x20 || text[i] > 0x7e)
                        text[i] = '?';
        text[n++] = '\n';
        text[n] = 0;
        if (c->have_status && streq(text, c->status))
                return;

        if (reason)
                log_warning("%s", reason);
        else
                log_info("Proxy serves; DNS relay on %s.", c->args->listen);

        const char *slash = strrchr(c->args->status_file, '/');
        _cleanup_(freep) char *dir = slash ? strndup(c->args->status_file, MAX(slash - c->args->status_file, 1)) : NULL;
        if (slash && !dir) {
                log_error("Out of memory.");
                return;
        }
        _cleanup_(closep) int dir_fd = open(dir ?: ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = dir_fd < 0 ? -errno : write_file_replace(dir_fd, slash ? slash + 1 : c->args->status_file, text,
                                                         (size_t) n, 0644);
        if (r < 0) {
                log_error_errno(r, "Cannot write %s: %m", c->args->status_file);
                return;
        }
        memcpy(c->status, text, (size_t) n + 1);
        c->have_status = true;
}

/* ---- the probe ---- */

static void probe_start(Context *c);

static int on_probe_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        probe_start(c);
        return 0;
}

static void probe_schedule(Context *c, uint64_t usec) {
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        int r = sd_event_add_time_relative(c->event, &c->probe_timer, CLOCK_MONOTONIC, usec, 0, on_probe_timer, c);
        if (r < 0) { /* without probes nothing would change any more: let systemd start over */
                log_error_errno(r, "Cannot arm the probe timer: %m");
                sd_event_exit(c->event, 1);
        }
}

/* Failures are counted, never logged one by one: a query is a peer's look-up. */
static void report_counters(Context *c) {
        DnsRelayCounters now = c->relay ? dns_relay_counters(c->relay) : dns_forward_counters(c->forward);

        if (now.failed == c->reported.failed && now.dropped == c->reported.dropped)
                return;
        log_notice("DNS relay: %llu queries failed and %llu dropped since the last report (%llu answered in all).",
                   (unsigned long long) (now.failed - c->reported.failed),
                   (unsigned long long) (now.dropped - c->reported.dropped), (unsigned long long) now.answered);
        c->reported = now;
}

static void dns_close(Context *c) {
        if (c->relay)
                dns_relay_close(c->relay);
        else
                dns_forward_close(c->forward);
}

/* reason: the whole of it, as the status file says it. */
static void serve_not(Context *c, const char *reason) {
        dns_close(c);
        set_status(c, "down", reason);
        c->up = false;
        probe_schedule(c, PROBE_FAILING_USEC);
}

static void probe_failed(Context *c, const char *what) {
        char proxy[CIDR4_STRLEN], reason[STATUS_MAX];

        if (c->forward && !c->have_status) {
                /* sshuttle still connecting: if it cannot, it ends, and says why */
                probe_schedule(c, PROBE_SOON_USEC);
                return;
        }
        if (c->relay)
                snprintf(reason, sizeof reason, "proxy %s:%u: %s", ipv4_format(c->proxy.address, proxy),
                         c->proxy.port, what);
        else
                snprintf(reason, sizeof reason, "%s: %s", c->args->program[0], what);
        serve_not(c, reason);
}

/* The way out answered: DNS is served and the status says so. */
static void probe_succeeded(Context *c) {
        int r = c->relay ? dns_relay_listen(c->relay) : dns_forward_listen(c->forward);
        if (r < 0) {
                char why[STATUS_MAX], buf[128];
                snprintf(why, sizeof why, "cannot listen on %s: %s", c->args->listen, error_text(r, buf));
                serve_not(c, why);
                return;
        }
        set_status(c, "up", NULL);
        c->up = true;
        probe_schedule(c, PROBE_FINE_USEC);
}

static void on_probe_done(ProxyProbe *p, int r, const char *reason, void *userdata) {
        Context *c = userdata;

        c->probe = proxy_probe_free(p);
        report_counters(c);
        if (r < 0)
                probe_failed(c, reason);
        else
                probe_succeeded(c);
}

static void on_forward_probe_done(int r, const char *reason, void *userdata) {
        Context *c = userdata;

        c->forward_probing = false;
        report_counters(c);
        if (r < 0)
                probe_failed(c, reason);
        else
                probe_succeeded(c);
}

/* A query failed with every resolver: the proxy may have gone, and the status should not say
 * "up" for up to 10 s more. At most one probe a second however many fail. */
static void on_relay_failed(DnsRelay *relay, void *userdata) {
        Context *c = userdata;
        uint64_t next;

        if (!c->up || c->probe || !c->probe_timer || sd_event_source_get_time(c->probe_timer, &next) < 0)
                return;
        uint64_t now;
        if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) >= 0 && next > now + PROBE_SOON_USEC)
                probe_schedule(c, PROBE_SOON_USEC);
}

/* sshuttle's DNS port is wherever it bound it: looked up each time, as a restart may move it. */
static void forward_probe_start(Context *c) {
        char why[STATUS_MAX], buf[128];
        uint16_t port;

        int r = process_udp_port(c->child, c->args->child_dns_address, &port);
        if (r < 0) {
                probe_failed(c, "no DNS port of its own yet (still connecting?)");
                return;
        }
        dns_forward_set_upstream(c->forward, c->args->child_dns_address, port);
        r = dns_forward_probe(c->forward, on_forward_probe_done, c);
        if (r < 0) {
                snprintf(why, sizeof why, "cannot ask its DNS port: %s", error_text(r, buf));
                probe_failed(c, why);
                return;
        }
        c->forward_probing = true;
}

static void probe_start(Context *c) {
        if (c->child <= 0)
                return; /* gone: the status says why until we end */
        if (c->forward) {
                forward_probe_start(c);
                return;
        }
        int r = proxy_probe_start(&c->probe, c->event, &c->proxy, c->args->resolvers[0], 53, on_probe_done, c);
        if (r < 0) {
                char why[STATUS_MAX], buf[128];
                snprintf(why, sizeof why, "cannot open a connection: %s", error_text(r, buf));
                probe_failed(c, why);
        }
}

/* ---- the child's output: passed on, its last two lines kept for the status ---- */

static void keep_line(Context *c, const char *line, size_t len) {
        char text[CHILD_LINE_MAX + 1];
        size_t n = 0;

        for (size_t i = 0; i < len && n < CHILD_LINE_MAX; i++)
                if ((unsigned char) line[i] >= 0x20 && (unsigned char) line[i] <= 0x7e)
                        text[n++] = line[i];
        text[n] = 0;
        if (n == 0 || strspn(text, "@ ") == n) /* ssh's banners of '@' say nothing */
                return;
        memcpy(c->last_lines[0], c->last_lines[1], sizeof c->last_lines[0]);
        memcpy(c->last_lines[1], text, n + 1);
}

static int on_child_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Context *c = userdata;

        ssize_t n = read(fd, c->output + c->output_len, sizeof c->output - c->output_len);
        if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                c->output_source = sd_event_source_disable_unref(c->output_source);
                return 0;
        }
        (void) write(STDERR_FILENO, c->output + c->output_len, (size_t) n);
        c->output_len += (size_t) n;
        char *start = c->output, *nl;
        while ((nl = memchr(start, '\n', c->output_len - (size_t) (start - c->output)))) {
                keep_line(c, start, (size_t) (nl - start));
                start = nl + 1;
        }
        c->output_len -= (size_t) (start - c->output);
        memmove(c->output, start, c->output_len);
        if (c->output_len == sizeof c->output) { /* a line longer than the buffer: its start is enough */
                keep_line(c, c->output, c->output_len);
                c->output_len = 0;
        }
        return 0;
}

/* ---- the child and the signals ---- */

static int on_gone_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        sd_event_exit(((Context *) userdata)->event, 1);
        return 0;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Context *c = userdata;
        const char *name = c->args->program[0];

        c->child = 0;
        if (c->terminating) {
                sd_event_exit(c->event, 0);
                return 0;
        }
        char reason[STATUS_MAX];
        int n = si->si_code == CLD_EXITED ? snprintf(reason, sizeof reason, "%s exited with status %i", name,
                                                     si->si_status)
                                          : snprintf(reason, sizeof reason, "%s was killed by signal %s", name,
                                                     strsignal(si->si_status));
        if (n > 0 && (size_t) n < sizeof reason && (c->last_lines[0][0] || c->last_lines[1][0]))
                snprintf(reason + n, sizeof reason - (size_t) n, ": %s%s%s", c->last_lines[0],
                         c->last_lines[0][0] ? " " : "", c->last_lines[1]);
        c->probe = proxy_probe_free(c->probe);
        if (c->forward)
                dns_forward_probe_cancel(c->forward);
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        dns_close(c);
        set_status(c, "down", reason); /* logged there */
        if (sd_event_add_time_relative(c->event, &c->gone_timer, CLOCK_MONOTONIC, CHILD_GONE_USEC, 0, on_gone_timer,
                                       c) < 0)
                sd_event_exit(c->event, 1);
        return 0;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Context *c = userdata;
        if (c->child > 0) {
                log_warning("%s did not stop within %llu s: killing it.", c->args->program[0],
                            (unsigned long long) (CHILD_STOP_USEC / 1000000));
                (void) kill(c->child, SIGKILL);
        }
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Context *c = userdata;

        if (c->terminating)
                return 0;
        c->terminating = true;
        c->probe = proxy_probe_free(c->probe);
        if (c->forward)
                dns_forward_probe_cancel(c->forward);
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        dns_close(c);
        if (c->child <= 0) {
                sd_event_exit(c->event, 0);
                return 0;
        }
        (void) kill(c->child, SIGTERM);
        int r = sd_event_add_time_relative(c->event, &c->kill_timer, CLOCK_MONOTONIC, CHILD_STOP_USEC, 0,
                                           on_kill_timer, c);
        if (r < 0)
                (void) kill(c->child, SIGKILL);
        return 0;
}

static int start_program(Context *c) {
        pid_t parent = getpid();
        int pipe_fds[2];

        /* its output comes to us: passed on to the journal, its last words kept for the status */
        if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return log_error_errno(-errno, "Cannot make a pipe: %m");
        pid_t pid = fork();
        if (pid < 0) {
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                return log_error_errno(-errno, "Cannot fork: %m");
        }
        if (pid == 0) {
                (void) fcntl(pipe_fds[1], F_SETFL, 0); /* blocking, as its stderr would be */
                if (dup2(pipe_fds[1], STDOUT_FILENO) < 0 || dup2(pipe_fds[1], STDERR_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                /* its own signals back, and it ends with us if we are killed */
                sigset_t none;
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_FAILURE);
                (void) close_range(3, UINT_MAX, CLOSE_RANGE_CLOEXEC);
                execve(c->args->program[0], c->args->program, environ);
                fprintf(stderr, "<3>Cannot run %s: %s\n", c->args->program[0], strerror(errno));
                _exit(127);
        }
        c->child = pid;
        close(pipe_fds[1]);
        c->child_output = pipe_fds[0];
        int r = sd_event_add_io(c->event, &c->output_source, c->child_output, EPOLLIN, on_child_output, c);
        if (r < 0)
                log_warning_errno(r, "Cannot read %s's output: %m", c->args->program[0]); /* it still runs */
        r = sd_event_add_child(c->event, &c->child_source, pid, WEXITED, on_child_exit, c);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                c->child = 0;
                return log_error_errno(r, "Cannot watch %s: %m", c->args->program[0]);
        }
        return 0;
}

static void context_done(Context *c) {
        c->probe = proxy_probe_free(c->probe);
        c->relay = dns_relay_free(c->relay);
        c->forward = dns_forward_free(c->forward);
        c->output_source = sd_event_source_disable_unref(c->output_source);
        c->gone_timer = sd_event_source_disable_unref(c->gone_timer);
        if (c->child_output >= 0)
                close(c->child_output);
        c->probe_timer = sd_event_source_disable_unref(c->probe_timer);
        c->kill_timer = sd_event_source_disable_unref(c->kill_timer);
        c->child_source = sd_event_source_disable_unref(c->child_source);
        if (c->child > 0) { /* we leave for another reason: not without it */
                (void) kill(c->child, SIGKILL);
                (void) waitpid(c->child, NULL, 0);
        }
        c->event = sd_event_unref(c->event);
        proxy_url_wipe(&c->proxy);
}

static int run(int argc, char *argv[]) {
        _cleanup_(context_done) Context c = { .child_output = -EBADF };
        Args args = {};
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return r;
        c.args = &args;
        if (args.proxy_file) {
                r = read_proxy_file(args.proxy_file, &c.proxy);
                if (r < 0)
                        return r;
        }

        /* blocked before the child exists: none of their signals is lost (sd-event reads them) */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Cannot block signals: %m");

        r = sd_event_default(&c.event);
        if (r >= 0)
                r = sd_event_add_signal(c.event, NULL, SIGTERM, on_terminate, &c);
        if (r >= 0)
                r = sd_event_add_signal(c.event, NULL, SIGINT, on_terminate, &c);
        if (r >= 0)
                r = args.dns_from_child ?
                        dns_forward_new(&c.forward, c.event, args.listen_address, args.listen_port) :
                        dns_relay_new(&c.relay, c.event, &c.proxy, args.resolvers, args.n_resolvers, args.listen_address,
                                  args.listen_port, on_relay_failed, &c);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");

        if (args.free_port) {
                /* sshuttle binds without SO_REUSEADDR: the last run's connections would keep it out for 60 s */
                r = tcp_time_wait_release(htonl(args.free_address), args.free_port_number);
                if (r < 0)
                        log_warning_errno(r, "Cannot end the TIME_WAIT sockets on %s: %m", args.free_port);
                else if (r > 0)
                        log_info("Ended %d TIME_WAIT sockets on %s for the program to bind it.", r, args.free_port);
        }
        r = start_program(&c);
        if (r < 0)
                return r;
        probe_start(&c);
        return sd_event_loop(c.event);
}

/* What the program left behind (sshuttle's firewall process, undoing its rules once the
 * program is gone) ends before we do: systemd kills what remains once we have ended. */
static void wait_for_orphans(void) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + ORPHANS_WAIT_USEC;

        for (;;) {
                pid_t pid = waitpid(-1, NULL, WNOHANG);
                if (pid > 0)
                        continue;
                if (pid < 0 || now_usec(CLOCK_MONOTONIC) >= deadline)
                        return; /* ECHILD: none left */
                (void) usleep(20 * 1000);
        }
}

int main(int argc, char *argv[]) {
        /* orphans of the program become ours, to be waited for */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        int r = run(argc, argv);
        wait_for_orphans();
        return r < 0 ? EXIT_FAILURE : r;
}
