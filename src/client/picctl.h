/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus-message.h"
#include "picctl-bus.h"

/* A command: argv[0] is its own name; returns 0, EXIT_USAGE, or a negative
 * errno after reporting the failure. */
typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[], Context *c);
} Verb;

/* What an argument parser returns when the command should run; otherwise it
 * returns the exit status (0 after --help, EXIT_USAGE). */
#define ARGS_PARSED 1

enum {
        ARG_NO_ASK_PASSWORD = 0x100,
        ARG_FIRST_VERB_OPTION,   /* commands number their own long options from here */
};

/* Options every command accepts, after the command too. */
#define COMMON_OPTIONS                                                          \
        { "help",            no_argument, NULL, 'h'                 },          \
        { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD }

/* Runs the entry of @verbs named argv[0]; @group is "" or "peer" for messages. */
int dispatch_verb(const Verb *verbs, const char *group, int argc, char *argv[], Context *c);
/* Reads only the common options (--help, --no-ask-password): ARGS_PARSED with
 * optind at the first other word, 0 after --help, or EXIT_USAGE. @in_order:
 * stop at the first word that is not an option (a group's command). */
int parse_common_args(int argc, char *argv[], Context *c, void (*help)(void), const char *verb, bool in_order);
/* Parses a command that takes no arguments but the common options. Returns ARGS_PARSED
 * to go on, 0 after --help, or EXIT_USAGE. */
int parse_no_args(int argc, char *argv[], Context *c, void (*help)(void));
/* The same for a command whose one option is --json. */
int parse_json_only(int argc, char *argv[], Context *c, void (*help)(void), const char *verb, bool *json);
/* A command group ("peer", "link"): its options, then its command from @verbs;
 * @commands lists them for the message when none is given. */
int dispatch_group(const Verb *verbs, const char *group, const char *commands, void (*help)(void), int argc,
                   char *argv[], Context *c);

/* Reports getopt_long()'s ':' (missing argument) or '?' (unknown option)
 * result for @verb; returns EXIT_USAGE. */
int getopt_usage_error(const char *verb, int opt, char *argv[]);

/* Strict decimal in [min, 65535]. */
int parse_u16(const char *s, uint16_t min, uint16_t *ret);

int verb_peer(int argc, char *argv[], Context *c);
int verb_firewall(int argc, char *argv[], Context *c);
int verb_dns(int argc, char *argv[], Context *c);
int verb_ddns(int argc, char *argv[], Context *c);
int verb_link(int argc, char *argv[], Context *c);
int verb_exit(int argc, char *argv[], Context *c);
int verb_backup(int argc, char *argv[], Context *c);
int verb_restore(int argc, char *argv[], Context *c);
int verb_wait_online(int argc, char *argv[], Context *c);
