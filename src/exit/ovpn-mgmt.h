/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an exit's OpenVPN says on its management interface, read line by line:
 * its state (">STATE:time,NAME,detail,local address,remote address,…", and
 * the same without ">STATE:" in the answer to "state") and its traffic
 * (">BYTECOUNT:in,out"). Everything else is not of interest. Model code. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVPN_MGMT_LINE_MAX 512 /* longer lines are not OpenVPN's: the reader drops the connection */

typedef struct OvpnStatus {
        char state[24];         /* CONNECTING, WAIT, AUTH, GET_CONFIG, ASSIGN_IP, ADD_ROUTES, CONNECTED, RECONNECTING, EXITING */
        char local_address[16]; /* the tunnel's address, once assigned */
        uint64_t rx_bytes, tx_bytes;
} OvpnStatus;

/* 1 when the line changed st, 0 when it is not of interest, -EINVAL when it is malformed. */
int ovpn_mgmt_line(const char *line, OvpnStatus *st);
bool ovpn_status_connected(const OvpnStatus *st);
