/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* --trusted-proxy (issue 8). Behind a TLS proxy every connection comes from the proxy: the
 * client's address, the scheme it used and the name it asked for arrive in X-Forwarded-For,
 * X-Forwarded-Proto and X-Forwarded-Host. They are believed only when the connection's peer is
 * inside one of the trusted networks; from any other peer they are ignored, as if absent. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ProxyNet {
        int family;            /* AF_INET or AF_INET6 */
        uint8_t addr[16];      /* the network (4 bytes used for AF_INET) */
        unsigned prefix;
} ProxyNet;

/* Trusted entries of X-Forwarded-For skipped from the right before the request is refused. */
#define FORWARDED_HOPS_MAX 16U
/* The longest entry of X-Forwarded-For taken: an IPv6 address with an IPv4 tail. */
#define FORWARDED_ENTRY_MAX 45U
#define FORWARDED_HOST_MAX 255U

/* "ADDR" or "ADDR/PREFIX", IPv4 or IPv6, no host bits set past the prefix (an IPv4-mapped IPv6
 * network is taken as the IPv4 one). -EINVAL for anything else. */
int proxy_net_parse(const char *s, ProxyNet *ret);
/* Whether @addr (4 bytes for AF_INET, 16 for AF_INET6; IPv4-mapped counts as IPv4) is in one of @nets. */
bool proxy_nets_contain(const ProxyNet *nets, size_t n, int family, const void *addr);

/* The client's address in an X-Forwarded-For value written by trusted proxies: each hop appends
 * the address it was reached from, so entries are read from the right, trusted proxies skipped,
 * and the first address that is not one is the client (the left-most when all are). Entries to
 * its left were written by the client itself or by hops nobody vouches for: never believed nor
 * looked at. Written in canonical form (inet_ntop) to @ret. -EBADMSG with *why when an entry
 * that is looked at is empty, longer than FORWARDED_ENTRY_MAX or not an IP address, or more than
 * FORWARDED_HOPS_MAX trusted entries come first. Linear in the part looked at. */
int forwarded_for_client(const char *value, const ProxyNet *nets, size_t n, char *ret, size_t size,
                         const char **why);

typedef struct Forwarded {
        bool proxied;          /* the peer is a trusted proxy: what follows comes from its headers */
        bool https;            /* the client reached the proxy over https (X-Forwarded-Proto) */
        const char *host;      /* the name the client asked for: X-Forwarded-Host, else Host; may be NULL */
        char client[INET6_ADDRSTRLEN]; /* the client's address: X-Forwarded-For's, else the peer's */
} Forwarded;

/* What a request says of its client. @xff, @proto, @xhost: the X-Forwarded-* headers (NULL:
 * absent), @host: the Host header. From a peer that is not a trusted proxy the X-Forwarded-*
 * headers change nothing. From a trusted proxy a malformed one is refused: -EBADMSG with
 * *bad_header naming it and *why saying what is wrong (X-Forwarded-Proto must be http or https,
 * X-Forwarded-Host one host[:port], never a list). */
int forwarded_resolve(const ProxyNet *nets, size_t n, const struct sockaddr *peer, const char *xff,
                      const char *proto, const char *xhost, const char *host, Forwarded *ret,
                      const char **bad_header, const char **why);
