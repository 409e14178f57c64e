/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gateway.h"

int events_new(Events **ret, Gateway *g);
Events *events_free(Events *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Events *, events_free);
/* Subscribes to the daemon's signals (and name owner changes). */
int events_start(Events *e);
/* Ends every stream (before MHD stops). */
void events_close_all(Events *e);
size_t events_clients(Events *e);
