/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <microhttpd.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* A request's headers must arrive within a time limit: libmicrohttpd's own timeout is an idle
 * one, so a client sending a byte now and then would hold a connection for ever (slowloris).
 * Connections still without their headers after the limit are shut down. */
typedef struct SlowClients SlowClients;

int slow_clients_new(sd_event *event, uint64_t header_timeout_usec, SlowClients **ret);
SlowClients *slow_clients_free(SlowClients *s);

/* MHD_OPTION_NOTIFY_CONNECTION's callback (cls: the SlowClients). */
void slow_clients_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                         enum MHD_ConnectionNotificationCode code);
/* The connection's request headers have arrived (the access handler's first call). */
void slow_clients_headers_done(struct MHD_Connection *connection);
/* Its request is over: a kept-alive connection has the limit again for its next one. */
void slow_clients_request_done(SlowClients *s, struct MHD_Connection *connection);
