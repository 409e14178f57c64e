/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cJSON.h>

/* For _cleanup_(cjson_deletep) cJSON *o = …; */
static inline void cjson_deletep(cJSON **j) {
        if (*j)
                cJSON_Delete(*j);
}
