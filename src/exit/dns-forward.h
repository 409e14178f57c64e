/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* DNS for an exit of type "sshuttle": sshuttle relays DNS through its tunnel
 * from a UDP port it chooses itself; the exit's own DNS port forwards each
 * query there (over UDP, one socket per query, 5 s) and sends back only the
 * answer to that query. Nothing about a query is logged. And a probe: does a
 * query get an answer through it at all? */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "dns-relay.h"

typedef struct DnsForward DnsForward;

/* Does not listen yet; forwards nowhere until dns_forward_set_upstream(). */
int dns_forward_new(DnsForward **ret, sd_event *event, uint32_t listen_address, uint16_t listen_port);
DnsForward *dns_forward_free(DnsForward *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsForward *, dns_forward_free);
void dns_forward_set_upstream(DnsForward *f, uint32_t address, uint16_t port);
int dns_forward_listen(DnsForward *f);
void dns_forward_close(DnsForward *f);
DnsRelayCounters dns_forward_counters(const DnsForward *f);

/* Asks the upstream for the root's NS records; done gets 0 when an answer came, or a negative errno
 * with the reason in words. Called once from the loop; the probe is freed after it returns. */
typedef void (*DnsForwardProbeDone)(int r, const char *reason, void *userdata);
int dns_forward_probe(DnsForward *f, DnsForwardProbeDone done, void *userdata);
void dns_forward_probe_cancel(DnsForward *f);

/* The port of the UDP socket that process pid holds bound to address (host order), from /proc:
 * -ENOENT while it has none. */
int process_udp_port(pid_t pid, uint32_t address, uint16_t *ret);
