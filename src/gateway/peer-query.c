/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /api/peers' query parameters (peer-query.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "names.h"
#include "peer-query.h"

static bool is_name_chars(const char *s) {
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '-' && *s != '_')
                        return false;
        return true;
}

void peer_query_init(PeerQuery *q) {
        *q = (PeerQuery) { .limit = SIZE_MAX };
}

bool peer_query_add(PeerQuery *q, const char *key, const char *value) {
        bool *seen = streq(key, "limit") ? &q->seen_limit : streq(key, "prefix") ? &q->seen_prefix :
                     streq(key, "cursor") ? &q->seen_cursor : NULL;

        if (!seen) {
                bool printable = string_is_printable_ascii(key, PEER_NAME_MAX);
                snprintf(q->error, sizeof q->error, "Unknown parameter%s%s: /api/peers takes limit, cursor and prefix.",
                         printable ? " " : "", printable ? key : "");
                q->error_field = printable ? key : NULL;
                return false;
        }
        q->error_field = streq(key, "limit") ? "limit" : streq(key, "prefix") ? "prefix" : "cursor";
        if (*seen) {
                snprintf(q->error, sizeof q->error, "%s is given twice.", q->error_field);
                return false;
        }
        *seen = true;
        value = strempty(value);
        if (seen == &q->seen_limit) {
                char *end;
                errno = 0;
                unsigned long v = strtoul(value, &end, 10);
                if (!isdigit((unsigned char) value[0]) || *end || errno || v < 1 || v > PAGE_LIMIT_MAX) {
                        snprintf(q->error, sizeof q->error, "limit must be a whole number from 1 to %d.", PAGE_LIMIT_MAX);
                        return false;
                }
                q->limit = v;
        } else if (seen == &q->seen_prefix) {
                if (strlen(value) > PEER_NAME_MAX || !is_name_chars(value)) {
                        snprintf(q->error, sizeof q->error,
                                 "prefix must be at most %d characters: letters, digits, '-' and '_'.", PEER_NAME_MAX);
                        return false;
                }
                strcpy(q->prefix, value);
        } else {
                if (!peer_name_is_valid(value)) {
                        snprintf(q->error, sizeof q->error,
                                 "cursor must be a peer name (the last one of the page before): %s.", PEER_NAME_CHARSET_DOC);
                        return false;
                }
                strcpy(q->cursor, value);
        }
        q->error_field = NULL;
        return true;
}
