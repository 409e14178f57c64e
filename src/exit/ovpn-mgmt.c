/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "ovpn-mgmt.h"

static bool parse_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;
        if (len == 0 || len > 19)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* "time,NAME,detail,local,remote,…": the name and the local address. */
static int parse_state(const char *s, OvpnStatus *st) {
        const char *f[5];
        size_t len[5], n = 0;
        uint64_t when;

        for (const char *p = s; n < ELEMENTSOF(f); n++) {
                const char *comma = strchr(p, ',');
                f[n] = p;
                len[n] = comma ? (size_t) (comma - p) : strlen(p);
                if (!comma) {
                        n++;
                        break;
                }
                p = comma + 1;
        }
        if (n < 2 || !parse_u64(f[0], len[0], &when) || len[1] == 0 || len[1] >= sizeof st->state)
                return -EINVAL;
        for (size_t i = 0; i < len[1]; i++)
                if (f[1][i] < 'A' || f[1][i] > 'Z') {
                        if (f[1][i] != '_')
                                return -EINVAL;
                }
        OvpnStatus next = *st;
        memcpy(next.state, f[1], len[1]);
        next.state[len[1]] = 0;
        next.local_address[0] = 0;
        if (n >= 4 && len[3] > 0) {
                unsigned char a[4];
                if (len[3] >= sizeof next.local_address)
                        return -EINVAL;
                memcpy(next.local_address, f[3], len[3]);
                next.local_address[len[3]] = 0;
                if (inet_pton(AF_INET, next.local_address, a) != 1)
                        return -EINVAL;
        }
        bool changed = memcmp(&next, st, sizeof next) != 0;
        *st = next;
        return changed;
}

static int parse_bytecount(const char *s, OvpnStatus *st) {
        const char *comma = strchr(s, ',');
        uint64_t in, out;
        if (!comma || !parse_u64(s, (size_t) (comma - s), &in) || !parse_u64(comma + 1, strlen(comma + 1), &out))
                return -EINVAL;
        bool changed = in != st->rx_bytes || out != st->tx_bytes;
        st->rx_bytes = in;
        st->tx_bytes = out;
        return changed;
}

int ovpn_mgmt_line(const char *line, OvpnStatus *st) {
        if (strlen(line) > OVPN_MGMT_LINE_MAX)
                return -EINVAL;
        if (strncmp(line, ">STATE:", 7) == 0)
                return parse_state(line + 7, st);
        if (strncmp(line, ">BYTECOUNT:", 11) == 0)
                return parse_bytecount(line + 11, st);
        if (line[0] >= '0' && line[0] <= '9') /* the answer to "state" */
                return parse_state(line, st);
        return 0;
}

bool ovpn_status_connected(const OvpnStatus *st) {
        return streq(st->state, "CONNECTED");
}
