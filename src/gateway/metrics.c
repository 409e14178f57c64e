/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /metrics: the cell's peers (read from the bus) and the gateway's own counters. */
#include <time.h>

#include "api.h"
#include "bus-call.h"
#include "metrics.h"
#include "peer-cache.h"

static const double bucket_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS ELEMENTSOF(bucket_bounds)

struct Metrics {
        uint64_t bus_buckets[N_BUCKETS];   /* cumulative on output, per bucket here */
        uint64_t bus_count, bus_errors;
        double bus_sum;
        uint64_t http_by_class[6];         /* 1xx … 5xx */
};

int metrics_new(Metrics **ret) {
        *ret = calloc(1, sizeof(Metrics));
        return *ret ? 0 : -ENOMEM;
}

Metrics *metrics_free(Metrics *m) {
        free(m);
        return NULL;
}

void metrics_bus_call(Metrics *m, uint64_t usec, bool failed) {
        double s = usec / 1e6;
        for (size_t i = 0; i < N_BUCKETS; i++)
                if (s <= bucket_bounds[i]) {
                        m->bus_buckets[i]++;
                        break;
                }
        m->bus_count++;
        m->bus_sum += s;
        if (failed)
                m->bus_errors++;
}

void metrics_http_request(Metrics *m, unsigned status) {
        unsigned c = status / 100;
        if (c < ELEMENTSOF(m->http_by_class))
                m->http_by_class[c]++;
}

static void label_value(FILE *f, const char *s) {
        for (; s && *s; s++) {
                if (*s == '\\' || *s == '"')
                        fputc('\\', f);
                if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

static double json_number(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItem(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void answer_metrics(Request *r) {
        Metrics *m = r->gateway->metrics;
        PeerCache *peers = r->gateway->peers;
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, n = peer_cache_count(peers);
        struct timespec ts;

        FILE *f = open_memstream(&buf, &size);
        if (!f) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        double now = ts.tv_sec + ts.tv_nsec / 1e9;
        const cJSON *p;

        fprintf(f, "# HELP pic_peers Peers (WireGuard devices) of the cell.\n# TYPE pic_peers gauge\npic_peers %zu\n", n);
        static const struct { const char *name, *key, *help; } counters[] = {
                { "pic_peer_rx_bytes", "rx_bytes", "Bytes received from the peer." },
                { "pic_peer_tx_bytes", "tx_bytes", "Bytes sent to the peer." },
        };
        for (size_t i = 0; i < ELEMENTSOF(counters); i++) {
                fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", counters[i].name, counters[i].help, counters[i].name);
                for (size_t k = 0; k < n; k++) {
                        p = peer_cache_json(peers, k);
                        fprintf(f, "%s{peer=\"", counters[i].name);
                        label_value(f, cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")));
                        fprintf(f, "\"} %.0f\n", json_number(p, counters[i].key));
                }
        }
        fputs("# HELP pic_peer_handshake_age_seconds Seconds since the peer's latest handshake (absent: never).\n"
              "# TYPE pic_peer_handshake_age_seconds gauge\n", f);
        for (size_t k = 0; k < n; k++) {
                p = peer_cache_json(peers, k);
                double hs = json_number(p, "latest_handshake");
                if (hs <= 0)
                        continue;
                fputs("pic_peer_handshake_age_seconds{peer=\"", f);
                label_value(f, cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")));
                fprintf(f, "\"} %.3f\n", MAX(0.0, now - hs / 1e6));
        }

        fputs("# HELP pic_bus_call_seconds Time the gateway waited for the cell's bus replies.\n"
              "# TYPE pic_bus_call_seconds histogram\n", f);
        uint64_t cumulative = 0;
        for (size_t i = 0; i < N_BUCKETS; i++) {
                cumulative += m->bus_buckets[i];
                fprintf(f, "pic_bus_call_seconds_bucket{le=\"%g\"} %llu\n", bucket_bounds[i],
                        (unsigned long long) cumulative);
        }
        fprintf(f, "pic_bus_call_seconds_bucket{le=\"+Inf\"} %llu\npic_bus_call_seconds_sum %.6f\n"
                   "pic_bus_call_seconds_count %llu\n",
                (unsigned long long) m->bus_count, m->bus_sum, (unsigned long long) m->bus_count);
        fprintf(f, "# HELP pic_bus_call_errors_total Bus calls that failed or timed out.\n"
                   "# TYPE pic_bus_call_errors_total counter\npic_bus_call_errors_total %llu\n",
                (unsigned long long) m->bus_errors);
        fputs("# HELP pic_http_responses_total HTTP responses by status class.\n"
              "# TYPE pic_http_responses_total counter\n", f);
        for (unsigned c = 1; c < ELEMENTSOF(m->http_by_class); c++)
                fprintf(f, "pic_http_responses_total{code=\"%uxx\"} %llu\n", c,
                        (unsigned long long) m->http_by_class[c]);
        fprintf(f, "# HELP pic_gateway_sessions Live web sessions.\n# TYPE pic_gateway_sessions gauge\n"
                   "pic_gateway_sessions %zu\n", sessions_count(r->gateway->sessions));
        if (fclose(f) != 0) {
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf, size);
}

static void on_peers_loaded(Request *r, sd_bus_message *reply) {
        if (peers_loaded(r, reply) >= 0)
                answer_metrics(r);
}

void api_metrics(Request *r) {
        if (peer_cache_valid(r->gateway->peers))
                answer_metrics(r);
        else
                peers_load(r, on_peers_loaded);
}
