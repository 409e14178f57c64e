/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "bus-api.h"
#include "macro.h"


/* Exit status of a command line the user got wrong. */
#define EXIT_USAGE 2

typedef struct Context {
        sd_bus *bus;
        bool ask_password;   /* allow polkit to ask for a password */
        pid_t agent;         /* our pkttyagent, 0 if none */
} Context;

void context_done(Context *c);

/* The system bus, connected on first use; failure is reported on stderr. */
int context_get_bus(Context *c, sd_bus **ret);

/* A method call to pic-celld's object @path. */
int bus_new_call(Context *c, const char *path, const char *interface, const char *member, sd_bus_message **ret);

/* Sends @m and waits for the reply. Any failure is reported on stderr as one
 * line; the return value is then negative. @needs_auth: the method may ask
 * polkit, so a password agent is started first. */
int bus_call(Context *c, sd_bus_message *m, bool needs_auth, sd_bus_message **ret_reply);

/* The same, waiting up to @timeout_usec for the reply (0: sd-bus's default, 25 s). */
int bus_call_timeout(Context *c, sd_bus_message *m, bool needs_auth, uint64_t timeout_usec,
                     sd_bus_message **ret_reply);

/* The same, reporting nothing: a failure is left in @ret_error (and the negative return value)
 * for the caller to word, or to hand to bus_report_call_error(). @m is from bus_new_call(). */
int bus_call_unreported(Context *c, sd_bus_message *m, bool needs_auth, uint64_t timeout_usec,
                        sd_bus_error *ret_error, sd_bus_message **ret_reply);

/* Reports the failure @e (@r) of the call @m as bus_call() does; returns @r. */
int bus_report_call_error(sd_bus_message *m, const sd_bus_error *e, int r);

/* A call without arguments. */
int bus_call_noargs(Context *c, const char *path, const char *interface, const char *member,
                    bool needs_auth, sd_bus_message **ret_reply);

/* org.freedesktop.DBus.Properties.GetAll; the reply is positioned at its a{sv}. */
int bus_get_all(Context *c, const char *path, const char *interface, sd_bus_message **ret_reply);

/* The object path of the peer called @name (Manager.GetPeerByName). */
int bus_find_peer(Context *c, const char *name, char **ret_path);

/* Maps a{sv} entries onto struct fields. Signatures: "s" and "o" (char *),
 * "b" (bool), "q" (uint16_t), "u" (uint32_t), "t" (uint64_t), "as" (char **),
 * "a{sv}" (char **, alternating key and value rendered as text). Entries not
 * in the table or of another type are skipped. */
typedef struct BusProperty {
        const char *name;
        const char *signature;
        size_t offset;
} BusProperty;

int bus_read_properties(sd_bus_message *m, const BusProperty *table, void *userdata);

/* Every object with @interface in an ObjectManager.GetManagedObjects reply: a
 * new array of @size-byte structs, each zeroed and read with @table, sorted by
 * the string (char *) at @name_offset. On failure nothing is handed out and
 * @done (which clears one struct) has cleared what was read. */
int bus_read_objects(sd_bus_message *reply, const char *interface, const BusProperty *table, size_t size,
                     size_t name_offset, void (*done)(void *item), void **ret, size_t *ret_n);

/* Clears @n structs of @size bytes with @done, then frees the array. */
void bus_objects_free(void *items, size_t n, size_t size, void (*done)(void *item));

/* The struct at @userdata as --json shows it: an object keyed by the names of
 * @table ("s", "b", "q", "u", "t", "as" fields; 64-bit counters printed
 * exactly). NULL when out of memory. */
cJSON *bus_properties_json(const BusProperty *table, const void *userdata);
/* A JSON array of bus_properties_json() of @n structs of @size bytes. */
cJSON *bus_objects_json(const BusProperty *table, const void *items, size_t n, size_t size);

/* Reads one variant and renders its value as text for people. */
int bus_read_variant_text(sd_bus_message *m, char **ret);

/* "picctl: <message>" on stderr; returns @r. */
int report_error(int r, const char *format, ...) _printf_(2, 3);

/* Reports a reply we could not parse. */
int report_parse_error(int r);

/* "picctl: <message>" and a pointer to @verb's help on stderr; returns EXIT_USAGE. */
int usage_error(const char *verb, const char *format, ...) _printf_(2, 3);
