/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* An IPv4 address with its prefix, host byte order for easy arithmetic. */
typedef struct Cidr4 {
        uint32_t addr;
        uint8_t prefix;
} Cidr4;

#define CIDR4_STRLEN 19 /* "255.255.255.255/32" + NUL */

/* Parses "a.b.c.d/n". With require_prefix false, a bare address means /32.
 * -EINVAL for anything else (leading zeros, spaces, out-of-range parts). */
int cidr4_parse(const char *s, bool require_prefix, Cidr4 *ret);
/* Parses a bare dotted quad. */
int ipv4_parse(const char *s, uint32_t *ret);
char *cidr4_format(const Cidr4 *c, char buf[static CIDR4_STRLEN]);
char *ipv4_format(uint32_t addr, char buf[static CIDR4_STRLEN]);

uint32_t cidr4_netmask(uint8_t prefix);
uint32_t cidr4_network(const Cidr4 *c);
uint32_t cidr4_broadcast(const Cidr4 *c);
bool cidr4_contains(const Cidr4 *net, uint32_t addr);
bool cidr4_overlaps(const Cidr4 *a, const Cidr4 *b);
/* 10/8, 172.16/12, 192.168/16: the whole prefix must lie inside one. */
bool cidr4_is_rfc1918(const Cidr4 *c);
/* A usable host address in the subnet: not the network or broadcast address
 * (for prefixes up to /30). */
bool cidr4_is_host(const Cidr4 *net, uint32_t addr);

/* Finds the lowest usable host address in net for which is_taken() is false.
 * -ENOSPC when the subnet is full. */
/* The same, looking from start on (wrapping around): callers that allocate
 * one after another pass the last address + 1, so each allocation costs about
 * one look-up instead of a walk over every address in use. */
int cidr4_allocate_from(const Cidr4 *net, uint32_t start, bool (*is_taken)(uint32_t addr, void *userdata),
                        void *userdata, uint32_t *ret);
int cidr4_allocate(const Cidr4 *net, bool (*is_taken)(uint32_t addr, void *userdata), void *userdata, uint32_t *ret);
