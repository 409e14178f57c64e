/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The objects of one kind on the bus (links, exits: /org/pic/Cell1/<kind>/<escaped
 * name>), found in and listed from the map that owns them by name. */

#include <stddef.h>

#include "hashmap.h"

/* 1 and *found for the object the path names, 0 for none. */
int bus_objects_find(const char *path, const char *prefix, const Hashmap *by_name, void **found);
/* Every object's path; path_offset: offsetof(Type, object_path). */
int bus_objects_enumerate(const Hashmap *by_name, size_t path_offset, char ***nodes);
