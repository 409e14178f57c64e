/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-api.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "macro.h"
#include "pairing-listener.h"

#define PAIRING_ROUTE "/cell/v1/pair"
#define MESSAGE_ROUTE "/cell/v1/message"
#define PAIRING_BODY_MAX 4096   /* src/link/pairing.h PAIRING_TEXT_MAX, message.h LINK_MESSAGE_TEXT_MAX */

struct PairingListener {
        struct MHD_Daemon *mhd;
        sd_bus *bus;            /* opened and used in MHD's thread only */
        uint64_t bus_timeout_usec;
};

typedef struct Upload {
        char body[PAIRING_BODY_MAX + 1];
        size_t size;
        bool too_big, wrong_route;
        const char *member;     /* the Manager method the route hands the body to */
} Upload;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const char *text) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(resp, "Cache-Control", "no-store");
        enum MHD_Result r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static unsigned status_of(const char *error) {
        static const struct {
                const char *name;
                unsigned status;
        } map[] = {
                { PIC_ERROR_INVALID_INVITE, 400 }, { PIC_ERROR_FORGED, 403 },   { SD_BUS_ERROR_ACCESS_DENIED, 403 },
                { PIC_ERROR_INVITE_UNKNOWN, 404 }, { PIC_ERROR_CONFLICT, 409 }, { PIC_ERROR_INVITE_EXPIRED, 410 },
                { SD_BUS_ERROR_INVALID_ARGS, 400 }, { PIC_ERROR_INVALID_MESSAGE, 400 }, { PIC_ERROR_UNKNOWN_CELL, 404 },
                { PIC_ERROR_REPLAYED, 409 },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(error, map[i].name))
                        return map[i].status;
        return 502;
}

/* {"error": NAME, "message": TEXT} with both escaped for JSON. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *name, const char *message) {
        char buf[1024];
        size_t n = 0;

        n += (size_t) snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"message\":\"", name);
        for (const char *p = message; *p && n + 8 < sizeof buf; p++) {
                unsigned char ch = (unsigned char) *p;
                if (ch == '"' || ch == '\\')
                        n += (size_t) snprintf(buf + n, sizeof buf - n, "\\%c", ch);
                else if (ch < 0x20)
                        n += (size_t) snprintf(buf + n, sizeof buf - n, "\\u%04x", ch);
                else
                        buf[n++] = (char) ch;
        }
        snprintf(buf + n, sizeof buf - n, "\"}");
        return reply(c, status, "application/json", buf);
}

/* Hands the body to Manager.@member: its answer (a string) comes back as 200, none as 204. */
static enum MHD_Result hand_over(PairingListener *p, struct MHD_Connection *c, const char *member, const char *request) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *answer = NULL;
        const char *text;
        int r;

        if (!p->bus) {
                r = sd_bus_open_system(&p->bus);
                if (r < 0) {
                        log_error_errno(r, "Pairing: cannot connect to the system bus: %m");
                        return reply_error(c, 503, PIC_ERROR_UNREACHABLE, "The cell is not reachable right now.");
                }
                (void) sd_bus_set_allow_interactive_authorization(p->bus, false);
        }
        r = sd_bus_message_new_method_call(p->bus, &m, PIC_BUS_NAME, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE,
                                           member);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", request);
        if (r >= 0)
                r = sd_bus_call(p->bus, m, p->bus_timeout_usec, &error, &answer);
        if (r < 0 && sd_bus_error_is_set(&error)) {
                log_info("%s refused: %s: %s", member, error.name, error.message);
                return reply_error(c, status_of(error.name), error.name, error.message ?: "");
        }
        if (r >= 0 && sd_bus_message_is_empty(answer)) {
                struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
                if (!resp)
                        return MHD_NO;
                enum MHD_Result ret = MHD_queue_response(c, 204, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        if (r >= 0)
                r = sd_bus_message_read(answer, "s", &text);
        if (r < 0) {
                /* the bus connection may be the trouble: a fresh one next time */
                p->bus = sd_bus_flush_close_unref(p->bus);
                return reply_error(c, 503, PIC_ERROR_UNREACHABLE, "The cell did not answer.");
        }
        log_info("%s accepted.", member);
        return reply(c, 200, "text/plain", text);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        PairingListener *p = cls;
        Upload *u = *con_cls;

        if (!u) {
                u = calloc(1, sizeof *u);
                if (!u)
                        return MHD_NO;
                u->member = streq(url, PAIRING_ROUTE) ? "AcceptPairing" : streq(url, MESSAGE_ROUTE) ? "ReceiveMessage" : NULL;
                u->wrong_route = !streq(method, "POST") || !u->member;
                *con_cls = u;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (!u->wrong_route && !u->too_big) {
                        if (u->size + *upload_data_size > PAIRING_BODY_MAX)
                                u->too_big = true;
                        else {
                                memcpy(u->body + u->size, upload_data, *upload_data_size);
                                u->size += *upload_data_size;
                        }
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (u->wrong_route)
                return reply_error(c, 404, "not_found", "Only POST " PAIRING_ROUTE " and " MESSAGE_ROUTE " are served here.");
        if (u->too_big)
                return reply_error(c, 413, PIC_ERROR_INVALID_INVITE, "A request is at most 4096 bytes.");
        u->body[u->size] = 0;
        if (u->size == 0 || strlen(u->body) != u->size)
                return reply_error(c, 400, PIC_ERROR_INVALID_INVITE, "The body is not a pairing request.");
        return hand_over(p, c, u->member, u->body);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        free(*con_cls);
        *con_cls = NULL;
}

int pairing_listener_start(const char *listen, int fd, uint64_t bus_timeout_usec, PairingListener **ret) {
        struct sockaddr_storage ss = {};
        socklen_t len = 0;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

        if (listen) {
                int r = gateway_parse_listen(listen, &ss, &len);
                if (r < 0)
                        return log_error_errno(r, "--pairing-listen=%s is not ADDR:PORT with a numeric address.", listen);
                if (ss.ss_family == AF_INET6)
                        flags |= MHD_USE_IPv6;
        }
        PairingListener *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->bus_timeout_usec = bus_timeout_usec;
        /* an fd from systemd, or the address (each its own option type in MHD's varargs) */
        if (listen)
                p->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, p,
                                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, p,
                                          MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64,
                                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) 4,
                                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32 * 1024,
                                          MHD_OPTION_END);
        else
                p->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, p,
                                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, p,
                                          MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64,
                                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) 4,
                                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32 * 1024,
                                          MHD_OPTION_END);
        if (!p->mhd) {
                free(p);
                return log_error_errno(-EADDRNOTAVAIL, "Failed to listen for pairing requests on %s.",
                                       listen ?: "the socket from systemd");
        }
        log_info("Taking pairing requests from other cells on %s.", listen ?: "the socket from systemd");
        *ret = p;
        return 0;
}

PairingListener *pairing_listener_stop(PairingListener *p) {
        if (!p)
                return NULL;
        MHD_stop_daemon(p->mhd); /* joins its thread: the bus is ours again */
        sd_bus_flush_close_unref(p->bus);
        free(p);
        return NULL;
}
