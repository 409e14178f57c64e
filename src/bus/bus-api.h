/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.pic.Cell1's names, one place for the daemon, the gateway and picctl
 * (dbus/org.pic.Cell1.xml is the interface itself). */

#define PIC_BUS_NAME          "org.pic.Cell1"
#define PIC_MANAGER_PATH      "/org/pic/Cell1"
#define PIC_PEER_PATH_PREFIX  "/org/pic/Cell1/peer"
#define PIC_MANAGER_INTERFACE "org.pic.Cell1.Manager"
#define PIC_PEER_INTERFACE    "org.pic.Cell1.Peer"
#define PIC_LINK_PATH_PREFIX  "/org/pic/Cell1/link"
#define PIC_LINK_INTERFACE    "org.pic.Cell1.Link"
#define PIC_EXIT_PATH_PREFIX  "/org/pic/Cell1/exit"
#define PIC_EXIT_INTERFACE    "org.pic.Cell1.Exit"

/* The service's own errors; the gateway maps each to one HTTP status. */
#define PIC_ERROR_SETUP_REQUIRED "org.pic.Cell1.Error.SetupRequired" /* 428 */
#define PIC_ERROR_CONFLICT       "org.pic.Cell1.Error.Conflict"      /* 409 */
#define PIC_ERROR_FAILED         "org.pic.Cell1.Error.Failed"        /* 500: the system refused a change */
/* Cell links (src/link/PROTOCOL.md) */
#define PIC_ERROR_INVALID_INVITE "org.pic.Cell1.Error.InvalidInvite" /* 400: malformed invite or pairing request */
#define PIC_ERROR_FORGED         "org.pic.Cell1.Error.Forged"        /* 403: a signature or MAC does not match */
#define PIC_ERROR_INVITE_EXPIRED "org.pic.Cell1.Error.InviteExpired" /* 410 */
#define PIC_ERROR_INVITE_UNKNOWN "org.pic.Cell1.Error.InviteUnknown" /* 404: used, revoked or never made */
#define PIC_ERROR_UNREACHABLE    "org.pic.Cell1.Error.Unreachable"   /* 502: the other cell did not answer */
#define PIC_ERROR_INVALID_MESSAGE "org.pic.Cell1.Error.InvalidMessage" /* 400: a malformed message from a cell */
#define PIC_ERROR_UNKNOWN_CELL   "org.pic.Cell1.Error.UnknownCell"   /* 404: from a cell this one is not linked with */
#define PIC_ERROR_REPLAYED       "org.pic.Cell1.Error.Replayed"      /* 409: a message counter not above the last */
#define PIC_ERROR_INVALID_BACKUP "org.pic.Cell1.Error.InvalidBackup" /* 400: not a backup, altered, truncated, newer */
