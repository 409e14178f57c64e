/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Stops every pic-exit-*.service the service manager runs that is not the unit of one of this
 * cell's exits: left behind by a restore (the exits of the state it replaced) or by a crash
 * between a removal's commit and its StopUnit. Asynchronous; without a service manager on the
 * bus it does nothing. */
void exit_strays_stop(Manager *m);

/* The exit name in a unit name "pic-exit-NAME.service" into @buf; false when it is not one. */
bool exit_strays_unit_exit_name(const char *unit, char *buf, size_t size);
