/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "gateway.h"

int metrics_new(Metrics **ret);
Metrics *metrics_free(Metrics *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Metrics *, metrics_free);
void metrics_bus_call(Metrics *m, uint64_t usec, bool failed);
void metrics_http_request(Metrics *m, unsigned status);
