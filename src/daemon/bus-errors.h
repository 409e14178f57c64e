/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The service's own D-Bus errors; the gateway maps each to one HTTP status. */
#define BUS_ERROR_SETUP_REQUIRED "org.pic.Cell1.Error.SetupRequired" /* 428 */
#define BUS_ERROR_CONFLICT "org.pic.Cell1.Error.Conflict"            /* 409 */
#define BUS_ERROR_FAILED "org.pic.Cell1.Error.Failed"                /* 500: the system refused a change */
