/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns-forward.h"

#define INODES_MAX 256 /* sockets of the process looked at */
#define PROC_LINE_MAX 512

typedef struct Forwarded Forwarded;
struct Forwarded {
        DnsForward *forward;
        Forwarded *prev, *next;
        struct sockaddr_in client; /* .sin_family 0: the probe */
        uint8_t id[2];
        int fd;
        sd_event_source *io, *timer;
};

struct DnsForward {
        sd_event *event;
        uint32_t listen_address, upstream_address;
        uint16_t listen_port, upstream_port;
        int fd;
        sd_event_source *io;
        Forwarded *queries, *probe;
        size_t n_queries;
        DnsForwardProbeDone probe_done;
        void *probe_userdata;
        DnsRelayCounters counters;
};

static void forwarded_free(Forwarded *q) {
        DnsForward *f = q->forward;

        sd_event_source_disable_unref(q->io);
        sd_event_source_disable_unref(q->timer);
        if (q->fd >= 0)
                close(q->fd);
        if (q == f->probe)
                f->probe = NULL;
        else {
                if (q->prev)
                        q->prev->next = q->next;
                else
                        f->queries = q->next;
                if (q->next)
                        q->next->prev = q->prev;
                f->n_queries--;
        }
        explicit_bzero(q, sizeof *q); /* a peer's look-up */
        free(q);
}

/* The probe's end: its callback, after it is gone. */
static void probe_finish(DnsForward *f, int r, const char *reason) {
        DnsForwardProbeDone done = f->probe_done;
        void *userdata = f->probe_userdata;

        forwarded_free(f->probe);
        done(r, reason, userdata);
}

static int on_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Forwarded *q = userdata;
        DnsForward *f = q->forward;
        uint8_t buf[65536];

        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        bool ours = n >= 12 && buf[0] == q->id[0] && buf[1] == q->id[1] && (buf[2] & 0x80);
        if (n >= 0 && !ours)
                return 0; /* not the answer to this query: wait for it */
        if (q == f->probe) {
                probe_finish(f, n < 0 ? -errno : 0, n < 0 ? "its DNS port refused the query" : "");
                return 0;
        }
        if (n > 0 && f->fd >= 0 &&
            sendto(f->fd, buf, (size_t) n, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *) &q->client,
                   sizeof q->client) >= 0)
                f->counters.answered++;
        else
                f->counters.failed++;
        explicit_bzero(buf, (size_t) MAX(n, 0));
        forwarded_free(q);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Forwarded *q = userdata;
        DnsForward *f = q->forward;

        if (q == f->probe) {
                probe_finish(f, -ETIMEDOUT, "no answer through the tunnel within 5 s");
                return 0;
        }
        f->counters.failed++;
        forwarded_free(q);
        return 0;
}

/* A socket connected to the upstream that sent data, watched for its answer. */
static int forwarded_start(DnsForward *f, Forwarded *q, const uint8_t *data, size_t len) {
        struct sockaddr_in up = { .sin_family = AF_INET, .sin_port = htons(f->upstream_port),
                                  .sin_addr.s_addr = htonl(f->upstream_address) };

        q->forward = f;
        q->id[0] = data[0];
        q->id[1] = data[1];
        q->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (q->fd < 0)
                return -errno;
        if (f->upstream_port == 0)
                return -ENOENT;
        if (connect(q->fd, (const struct sockaddr *) &up, sizeof up) < 0 ||
            send(q->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                return -errno;
        int r = sd_event_add_io(f->event, &q->io, q->fd, EPOLLIN, on_answer, q);
        if (r >= 0)
                r = sd_event_add_time_relative(f->event, &q->timer, CLOCK_MONOTONIC, DNS_RELAY_TIMEOUT_USEC, 0,
                                               on_timeout, q);
        return r;
}

static void take_query(DnsForward *f, const uint8_t *data, size_t len, const struct sockaddr_in *client) {
        if (len < DNS_RELAY_QUERY_MIN || len > DNS_RELAY_QUERY_MAX || (data[2] & 0x80) /* QR: an answer */ ||
            f->n_queries >= DNS_RELAY_QUERIES_MAX) {
                f->counters.dropped++;
                return;
        }
        Forwarded *q = calloc(1, sizeof *q);
        if (!q) {
                f->counters.dropped++;
                return;
        }
        q->fd = -EBADF;
        q->forward = f;
        q->client = *client;
        q->next = f->queries;
        if (q->next)
                q->next->prev = q;
        f->queries = q;
        f->n_queries++;
        if (forwarded_start(f, q, data, len) < 0) {
                f->counters.failed++;
                forwarded_free(q);
        }
}

static int on_query(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DnsForward *f = userdata;
        uint8_t buf[DNS_RELAY_QUERY_MAX + 1];

        for (unsigned i = 0; i < 32; i++) { /* a few per wake-up; the rest on the next */
                struct sockaddr_in client;
                socklen_t len = sizeof client;
                /* MSG_TRUNC: the real size, so a longer datagram is seen as one */
                ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *) &client, &len);
                if (n < 0)
                        break;
                if (len != sizeof client || client.sin_family != AF_INET)
                        f->counters.dropped++;
                else
                        take_query(f, buf, (size_t) n, &client);
        }
        explicit_bzero(buf, sizeof buf);
        return 0;
}

int dns_forward_new(DnsForward **ret, sd_event *event, uint32_t listen_address, uint16_t listen_port) {
        DnsForward *f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->event = sd_event_ref(event);
        f->listen_address = listen_address;
        f->listen_port = listen_port;
        f->fd = -EBADF;
        *ret = f;
        return 0;
}

DnsForward *dns_forward_free(DnsForward *f) {
        if (!f)
                return NULL;
        dns_forward_close(f);
        dns_forward_probe_cancel(f);
        sd_event_unref(f->event);
        free(f);
        return NULL;
}

void dns_forward_set_upstream(DnsForward *f, uint32_t address, uint16_t port) {
        f->upstream_address = address;
        f->upstream_port = port;
}

int dns_forward_listen(DnsForward *f) {
        if (f->fd >= 0)
                return 0;
        int fd = dns_udp_listen(f->event, f->listen_address, f->listen_port, on_query, f, &f->io);
        if (fd < 0)
                return fd;
        f->fd = fd;
        return 0;
}

void dns_forward_close(DnsForward *f) {
        while (f->queries)
                forwarded_free(f->queries);
        f->io = sd_event_source_disable_unref(f->io);
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -EBADF;
}

DnsRelayCounters dns_forward_counters(const DnsForward *f) {
        return f->counters;
}

int dns_forward_probe(DnsForward *f, DnsForwardProbeDone done, void *userdata) {
        /* ". IN NS", recursion desired, a fresh ID */
        uint8_t query[17] = { 0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1 };
        uint16_t id = 0;

        (void) getrandom(&id, sizeof id, GRND_NONBLOCK); /* an answer that guesses it is not taken as one */

        if (f->probe)
                return -EBUSY;
        query[0] = (uint8_t) (id >> 8);
        query[1] = (uint8_t) id;
        Forwarded *q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->fd = -EBADF;
        q->forward = f;
        f->probe = q;
        f->probe_done = done;
        f->probe_userdata = userdata;
        int r = forwarded_start(f, q, query, sizeof query);
        if (r < 0)
                forwarded_free(q);
        return r;
}

void dns_forward_probe_cancel(DnsForward *f) {
        if (f->probe)
                forwarded_free(f->probe);
}

/* The socket inodes among the process's open files. */
static size_t socket_inodes(pid_t pid, uint64_t *inodes, size_t max) {
        char path[64], target[64];
        size_t n = 0;

        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return 0;
        for (struct dirent *de; n < max && (de = readdir(d));) {
                char link[sizeof path + sizeof de->d_name + 1];
                uint64_t inode;
                snprintf(link, sizeof link, "%s/%s", path, de->d_name);
                ssize_t len = readlink(link, target, sizeof target - 1);
                if (len <= 0)
                        continue;
                target[len] = 0;
                if (sscanf(target, "socket:[%" SCNu64 "]", &inode) == 1)
                        inodes[n++] = inode;
        }
        closedir(d);
        return n;
}

int process_udp_port(pid_t pid, uint32_t address, uint16_t *ret) {
        uint64_t inodes[INODES_MAX];
        char path[64], line[PROC_LINE_MAX];

        size_t n = socket_inodes(pid, inodes, ELEMENTSOF(inodes));
        if (n == 0)
                return -ENOENT;
        snprintf(path, sizeof path, "/proc/%d/net/udp", (int) pid);
        FILE *file = fopen(path, "re");
        if (!file)
                return -errno;
        int r = -ENOENT;
        /* "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …", the address as the
         * kernel holds it (network order) printed as a number */
        while (r < 0 && fgets(line, sizeof line, file)) {
                unsigned raw, port;
                uint64_t inode;
                if (sscanf(line, " %*u: %8X:%4X %*8X:%*4X %*2X %*8X:%*8X %*2X:%*8X %*8X %*u %*u %" SCNu64, &raw, &port,
                           &inode) != 3 || ntohl(raw) != address)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (inodes[i] == inode) {
                                *ret = (uint16_t) port;
                                r = 0;
                        }
        }
        fclose(file);
        return r;
}
