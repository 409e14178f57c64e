/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which names the gateway answers by (issue 8: DNS rebinding). A page of
 * evil.example whose name was rebound to this machine reaches the gateway as
 * the browser's own origin; its Host header still says evil.example. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "name", "name:port" or "[v6]:port" (a port without a leading zero) into the
 * name, brackets kept, and the port (0: none given). -EINVAL for anything else,
 * including a name with characters no host name or address has. */
int host_port_split(const char *s, char *name, size_t size, unsigned *port);

/* Whether a Host header value names this gateway for a connection that
 * arrived at @local: localhost, 127.0.0.1, [::1] or @local's own address,
 * each with @local's port; or one of @allowed ("NAME": any port, "NAME:PORT":
 * that one). Names compare without regard to case; nothing else matches. */
bool host_allowed(const char *host, char *const *allowed, const struct sockaddr *local);
/* The same for a name a client asked for over @https (through a trusted proxy): a Host without a
 * port means 443 then, for the allowed "NAME:PORT" entries. */
bool host_allowed_scheme(const char *host, bool https, char *const *allowed, const struct sockaddr *local);

/* Whether an Origin header value is exactly "http://" and an allowed host. */
bool origin_allowed(const char *origin, char *const *allowed, const struct sockaddr *local);

/* Whether an Origin header value is exactly the origin of @host reached over https (@https) or
 * http: the scheme, then the same name (any case) and port (443 or 80 when not written). For a
 * request through a trusted proxy, @host being the name the client asked the proxy for. */
bool origin_matches_host(const char *origin, bool https, const char *host);
