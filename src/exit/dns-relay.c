/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1 /* strerror_r that returns the text */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns-relay.h"
#include "proxy-handshake.h"

#define DNS_ANSWER_MIN 12 /* a DNS header */

/* One try at one thing through the proxy: connect, handshake, and for a
 * query send it and read the answer. Finishes once, through done(). */
typedef struct Attempt Attempt;
struct Attempt {
        sd_event *event;
        int fd;
        sd_event_source *io, *timer, *defer;
        bool connected, open;
        ProxyHandshake hs;

        const uint8_t *send; /* a query with its length prefix; NULL for a probe */
        size_t send_len, send_sent;
        uint8_t head[2];
        size_t head_got;
        uint8_t *answer;
        size_t answer_len, answer_got;

        int error; /* before the loop ran: reported by the defer source */
        char reason[DNS_RELAY_REASON_MAX];
        void (*done)(Attempt *a, int r);
        void *userdata;
};

typedef struct Query Query;
struct Query {
        DnsRelay *relay;
        Query *prev, *next;
        struct sockaddr_in client;
        size_t resolver; /* the one being tried */
        size_t len;      /* of the query, without the prefix */
        Attempt attempt;
        uint8_t packet[2 + DNS_RELAY_QUERY_MAX];
};

struct DnsRelay {
        sd_event *event;
        ProxyUrl proxy;
        uint32_t resolvers[DNS_RELAY_RESOLVERS_MAX];
        size_t n_resolvers;
        uint32_t listen_address;
        uint16_t listen_port;
        int fd;
        sd_event_source *io;
        Query *queries;
        size_t n_queries;
        DnsRelayCounters counters;
        DnsRelayFailed failed;
        void *userdata;
};

struct ProxyProbe {
        Attempt attempt;
        ProxyProbeDone done;
        void *userdata;
};

/* ---- an attempt ---- */

static int attempt_fail(Attempt *a, int error, const char *fmt, ...) _printf_(3, 4);
static int attempt_fail(Attempt *a, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(a->reason, sizeof a->reason, fmt, ap);
        va_end(ap);
        return error;
}

/* What a person reads for a socket error: short, lower case. */
static int attempt_fail_errno(Attempt *a, int error) {
        static const struct {
                int error;
                const char *text;
        } known[] = {
                { ECONNREFUSED, "connection refused" }, { EHOSTUNREACH, "no route to host" },
                { ENETUNREACH, "network unreachable" }, { ETIMEDOUT, "timed out" },
                { ECONNRESET, "connection reset" },     { EPIPE, "connection closed" },
        };
        error = error < 0 ? -error : error;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (known[i].error == error)
                        return attempt_fail(a, -error, "%s", known[i].text);
        char buf[128];
        const char *text = strerror_r(error, buf, sizeof buf);
        attempt_fail(a, -error, "%s", text);
        if (a->reason[0] >= 'A' && a->reason[0] <= 'Z')
                a->reason[0] = (char) (a->reason[0] - 'A' + 'a');
        return -error;
}

/* The connection and its sources go; the answer stays for done() to read. */
static void attempt_close(Attempt *a) {
        a->io = sd_event_source_disable_unref(a->io);
        a->timer = sd_event_source_disable_unref(a->timer);
        a->defer = sd_event_source_disable_unref(a->defer);
        if (a->fd >= 0)
                close(a->fd);
        a->fd = -EBADF;
        proxy_handshake_wipe(&a->hs);
}

static void attempt_stop(Attempt *a) {
        attempt_close(a);
        if (a->answer)
                explicit_bzero(a->answer, a->answer_len);
        free(a->answer);
        a->answer = NULL;
}

/* The last thing a handler does: done() may free or restart the attempt. */
static void attempt_finish(Attempt *a, int r) {
        attempt_close(a);
        a->done(a, r);
}

static int on_attempt_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Attempt *a = userdata;
        attempt_finish(a, attempt_fail(a, -ETIMEDOUT, "timed out"));
        return 0;
}

static int on_attempt_defer(sd_event_source *s, void *userdata) {
        Attempt *a = userdata;
        attempt_finish(a, a->error);
        return 0;
}

static int attempt_write(Attempt *a) {
        const uint8_t *data;
        size_t len;

        if (!a->open)
                data = proxy_handshake_output(&a->hs, &len);
        else {
                data = a->send + a->send_sent;
                len = a->send_len - a->send_sent;
        }
        if (len == 0)
                return 0;
        ssize_t n = send(a->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : attempt_fail_errno(a, errno);
        if (!a->open)
                proxy_handshake_advance(&a->hs, (size_t) n);
        else
                a->send_sent += (size_t) n;
        return 0;
}

static bool attempt_wants_write(Attempt *a) {
        size_t len;
        if (!a->open) {
                proxy_handshake_output(&a->hs, &len);
                return len > 0;
        }
        return a->send_sent < a->send_len;
}

/* The 2-byte length, then the answer: 1 once it is all there. */
static int attempt_take_answer(Attempt *a, const uint8_t *data, size_t len) {
        while (len > 0 && a->head_got < 2) {
                a->head[a->head_got++] = *data++;
                len--;
        }
        if (a->head_got < 2)
                return 0;
        if (!a->answer) {
                a->answer_len = (size_t) a->head[0] << 8 | a->head[1];
                if (a->answer_len < DNS_ANSWER_MIN)
                        return attempt_fail(a, -EPROTO, "resolver sent no DNS answer");
                a->answer = malloc(a->answer_len);
                if (!a->answer)
                        return attempt_fail(a, -ENOMEM, "out of memory");
        }
        size_t n = MIN(len, a->answer_len - a->answer_got);
        memcpy(a->answer + a->answer_got, data, n);
        a->answer_got += n;
        return a->answer_got == a->answer_len;
}

/* 1: finished (a probe's tunnel is open, or a query's answer is in); 0: more to come. */
static int attempt_read(Attempt *a) {
        uint8_t buf[4096];
        size_t used = 0;

        ssize_t n = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : attempt_fail_errno(a, errno);
        if (n == 0)
                return attempt_fail(a, -ECONNRESET, "%s closed the connection",
                                    a->open ? "resolver" : "proxy");
        if (!a->open) {
                int r = proxy_handshake_feed(&a->hs, buf, (size_t) n, &used);
                if (r < 0)
                        return attempt_fail(a, r, "%s", a->hs.message);
                if (r == 0)
                        return 0;
                a->open = true;
                proxy_handshake_wipe(&a->hs);
                if (!a->send)
                        return 1;
        }
        return attempt_take_answer(a, buf + used, (size_t) n - used);
}

static int on_attempt_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Attempt *a = userdata;
        int r = 0;

        if (!a->connected) {
                int error = 0;
                socklen_t len = sizeof error;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                        error = errno;
                if (error != 0) {
                        attempt_finish(a, attempt_fail_errno(a, error));
                        return 0;
                }
                a->connected = true;
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                r = attempt_read(a);
        if (r == 0)
                r = attempt_write(a);
        if (r != 0) {
                attempt_finish(a, r < 0 ? r : 0);
                return 0;
        }
        r = sd_event_source_set_io_events(a->io, EPOLLIN | (attempt_wants_write(a) ? EPOLLOUT : 0));
        if (r < 0)
                attempt_finish(a, attempt_fail_errno(a, r));
        return 0;
}

/* Connects to the proxy without waiting. A failure before the loop runs is reported through it,
 * like any other; a negative return means nothing was started. */
static int attempt_start(Attempt *a, sd_event *event, const ProxyUrl *proxy, uint32_t address, uint16_t port,
                         const uint8_t *send, size_t send_len) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(proxy->port),
                                  .sin_addr.s_addr = htonl(proxy->address) };
        int r;

        *a = (Attempt) { .event = event, .fd = -EBADF, .send = send, .send_len = send_len, .done = a->done,
                         .userdata = a->userdata };
        proxy_handshake_start(&a->hs, proxy, address, port);
        a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (a->fd < 0) {
                r = -errno;
                goto fail;
        }
        if (connect(a->fd, (const struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                a->error = attempt_fail_errno(a, errno);
                r = sd_event_add_defer(event, &a->defer, on_attempt_defer, a);
                if (r < 0)
                        goto fail;
                return 0;
        }
        r = sd_event_add_io(event, &a->io, a->fd, EPOLLOUT, on_attempt_io, a);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &a->timer, CLOCK_MONOTONIC, DNS_RELAY_TIMEOUT_USEC, 0,
                                               on_attempt_timeout, a);
        if (r >= 0)
                return 0;
fail:
        attempt_stop(a);
        return r;
}

/* ---- queries ---- */

static void query_free(Query *q) {
        DnsRelay *relay = q->relay;

        attempt_stop(&q->attempt);
        if (q->prev)
                q->prev->next = q->next;
        else
                relay->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        relay->n_queries--;
        explicit_bzero(q, sizeof *q); /* a peer's look-up */
        free(q);
}

static void query_attempt_done(Attempt *a, int r);

/* Tries the resolvers from q->resolver on; false when none is left to try. */
static bool query_try(Query *q) {
        DnsRelay *relay = q->relay;

        for (; q->resolver < relay->n_resolvers; q->resolver++)
                if (attempt_start(&q->attempt, relay->event, &relay->proxy, relay->resolvers[q->resolver], 53,
                                  q->packet, 2 + q->len) >= 0)
                        return true;
        return false;
}

/* Only an answer to this query goes back: same ID. */
static bool query_send_answer(Query *q) {
        const Attempt *a = &q->attempt;
        DnsRelay *relay = q->relay;

        if (a->answer[0] != q->packet[2] || a->answer[1] != q->packet[3])
                return false;
        if (relay->fd < 0)
                return true; /* closed meanwhile: dns_relay_close() drops queries anyway */
        if (sendto(relay->fd, a->answer, a->answer_len, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (const struct sockaddr *) &q->client, sizeof q->client) < 0)
                relay->counters.failed++;
        else
                relay->counters.answered++;
        return true;
}

static void query_attempt_done(Attempt *a, int r) {
        Query *q = a->userdata;

        if (r >= 0 && query_send_answer(q)) {
                query_free(q);
                return;
        }
        attempt_stop(a);
        q->resolver++;
        if (!query_try(q)) {
                DnsRelay *relay = q->relay;
                relay->counters.failed++;
                query_free(q);
                if (relay->failed)
                        relay->failed(relay, relay->userdata);
        }
}

static void relay_take_datagram(DnsRelay *relay, const uint8_t *data, size_t len, const struct sockaddr_in *client) {
        if (len < DNS_RELAY_QUERY_MIN || len > DNS_RELAY_QUERY_MAX || (data[2] & 0x80) /* QR: an answer */ ||
            relay->n_queries >= DNS_RELAY_QUERIES_MAX) {
                relay->counters.dropped++;
                return;
        }
        Query *q = calloc(1, sizeof *q);
        if (!q) {
                relay->counters.dropped++;
                return;
        }
        q->relay = relay;
        q->client = *client;
        q->len = len;
        q->packet[0] = (uint8_t) (len >> 8);
        q->packet[1] = (uint8_t) len;
        memcpy(q->packet + 2, data, len);
        q->attempt = (Attempt) { .fd = -EBADF, .done = query_attempt_done, .userdata = q };
        q->next = relay->queries;
        if (q->next)
                q->next->prev = q;
        relay->queries = q;
        relay->n_queries++;
        if (!query_try(q)) {
                relay->counters.failed++;
                query_free(q);
        }
}

static int on_udp(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DnsRelay *relay = userdata;
        uint8_t buf[DNS_RELAY_QUERY_MAX + 1];

        for (unsigned i = 0; i < 32; i++) { /* a few per wake-up; the rest on the next */
                struct sockaddr_in client;
                socklen_t len = sizeof client;
                /* MSG_TRUNC: the real size, so a longer datagram is seen as one */
                ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *) &client, &len);
                if (n < 0)
                        break;
                if (len != sizeof client || client.sin_family != AF_INET) {
                        relay->counters.dropped++;
                        continue;
                }
                relay_take_datagram(relay, buf, (size_t) n, &client);
        }
        explicit_bzero(buf, sizeof buf);
        return 0;
}

int dns_relay_new(DnsRelay **ret, sd_event *event, const ProxyUrl *proxy, const uint32_t *resolvers,
                  size_t n_resolvers, uint32_t listen_address, uint16_t listen_port, DnsRelayFailed failed,
                  void *userdata) {
        if (n_resolvers == 0 || n_resolvers > DNS_RELAY_RESOLVERS_MAX)
                return -EINVAL;
        DnsRelay *relay = calloc(1, sizeof *relay);
        if (!relay)
                return -ENOMEM;
        relay->event = sd_event_ref(event);
        relay->proxy = *proxy;
        memcpy(relay->resolvers, resolvers, n_resolvers * sizeof *resolvers);
        relay->n_resolvers = n_resolvers;
        relay->listen_address = listen_address;
        relay->listen_port = listen_port;
        relay->fd = -EBADF;
        relay->failed = failed;
        relay->userdata = userdata;
        *ret = relay;
        return 0;
}

DnsRelay *dns_relay_free(DnsRelay *relay) {
        if (!relay)
                return NULL;
        dns_relay_close(relay);
        sd_event_unref(relay->event);
        proxy_url_wipe(&relay->proxy);
        free(relay);
        return NULL;
}

int dns_udp_listen(sd_event *event, uint32_t address, uint16_t port, sd_event_io_handler_t handler, void *userdata,
                   sd_event_source **ret_source) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address) };

        _cleanup_(closep) int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (const struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        int r = sd_event_add_io(event, ret_source, fd, EPOLLIN, handler, userdata);
        return r < 0 ? r : TAKE_FD(fd);
}

int dns_relay_listen(DnsRelay *relay) {
        if (relay->fd >= 0)
                return 0;
        int fd = dns_udp_listen(relay->event, relay->listen_address, relay->listen_port, on_udp, relay, &relay->io);
        if (fd < 0)
                return fd;
        relay->fd = fd;
        return 0;
}

void dns_relay_close(DnsRelay *relay) {
        while (relay->queries)
                query_free(relay->queries);
        relay->io = sd_event_source_disable_unref(relay->io);
        if (relay->fd >= 0)
                close(relay->fd);
        relay->fd = -EBADF;
}

bool dns_relay_is_listening(const DnsRelay *relay) {
        return relay->fd >= 0;
}

DnsRelayCounters dns_relay_counters(const DnsRelay *relay) {
        return relay->counters;
}

/* ---- the probe ---- */

static void probe_attempt_done(Attempt *a, int r) {
        ProxyProbe *p = a->userdata;
        char reason[DNS_RELAY_REASON_MAX];

        snprintf(reason, sizeof reason, "%s", r < 0 ? a->reason : "");
        p->done(p, r < 0 ? r : 0, reason, p->userdata);
}

int proxy_probe_start(ProxyProbe **ret, sd_event *event, const ProxyUrl *proxy, uint32_t address, uint16_t port,
                      ProxyProbeDone done, void *userdata) {
        ProxyProbe *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->done = done;
        p->userdata = userdata;
        p->attempt = (Attempt) { .fd = -EBADF, .done = probe_attempt_done, .userdata = p };
        int r = attempt_start(&p->attempt, event, proxy, address, port, NULL, 0);
        if (r < 0) {
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

ProxyProbe *proxy_probe_free(ProxyProbe *p) {
        if (!p)
                return NULL;
        attempt_stop(&p->attempt);
        free(p);
        return NULL;
}
