/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* DNS for an exit of type "proxy": queries that arrive over UDP go to the
 * resolvers as DNS over TCP through the proxy, one tunnel per query, the
 * resolvers in order, each tried once for 5 s. Nothing about a query is
 * logged (they are the peers' look-ups); what fails is counted. And a probe:
 * can a tunnel through the proxy be opened at all? */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "proxy-url.h"

#define DNS_RELAY_RESOLVERS_MAX 4
#define DNS_RELAY_QUERIES_MAX 64         /* in flight; more are dropped */
#define DNS_RELAY_QUERY_MIN 12           /* a DNS header */
#define DNS_RELAY_QUERY_MAX 4096
#define DNS_RELAY_TIMEOUT_USEC 5000000ULL /* per resolver, and for a probe */
#define DNS_RELAY_REASON_MAX 160

typedef struct DnsRelay DnsRelay;

typedef struct DnsRelayCounters {
        uint64_t answered;
        uint64_t failed;  /* no resolver answered, or the answer could not be sent back */
        uint64_t dropped; /* not a query (size, QR bit), or too many in flight */
} DnsRelayCounters;

/* Called (from the loop) after a query failed with every resolver: the proxy may be gone. */
typedef void (*DnsRelayFailed)(DnsRelay *r, void *userdata);

/* Does not listen yet: dns_relay_listen(). The URL is copied (and wiped at free). */
int dns_relay_new(DnsRelay **ret, sd_event *event, const ProxyUrl *proxy, const uint32_t *resolvers,
                  size_t n_resolvers, uint32_t listen_address, uint16_t listen_port, DnsRelayFailed failed,
                  void *userdata);
DnsRelay *dns_relay_free(DnsRelay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsRelay *, dns_relay_free);
/* Binds the UDP socket (0 if it is already). */
int dns_relay_listen(DnsRelay *r);
/* Closes it; the queries in flight are dropped. */
void dns_relay_close(DnsRelay *r);
bool dns_relay_is_listening(const DnsRelay *r);
DnsRelayCounters dns_relay_counters(const DnsRelay *r);

typedef struct ProxyProbe ProxyProbe;
/* r is 0 (the tunnel opened) or a negative errno with reason in words ("connection refused",
 * "timed out", "proxy refused the credentials", …: never a credential). */
typedef void (*ProxyProbeDone)(ProxyProbe *p, int r, const char *reason, void *userdata);

/* Opens a tunnel through the proxy to address:port (host order) and closes it again; done is called
 * once, from the loop, and may free the probe. */
int proxy_probe_start(ProxyProbe **ret, sd_event *event, const ProxyUrl *proxy, uint32_t address, uint16_t port,
                      ProxyProbeDone done, void *userdata);
ProxyProbe *proxy_probe_free(ProxyProbe *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProxyProbe *, proxy_probe_free);

/* A UDP socket bound to address:port (host order) whose queries go to handler; returns the
 * socket (the source holds no reference to it: close it after the source) or a negative errno.
 * The relay's and dns-forward.h's listening socket. */
int dns_udp_listen(sd_event *event, uint32_t address, uint16_t port, sd_event_io_handler_t handler, void *userdata,
                   sd_event_source **ret_source);
