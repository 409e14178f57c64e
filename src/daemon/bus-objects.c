/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <systemd/sd-bus.h>

#include "bus-objects.h"
#include "macro.h"
#include "strv.h"

int bus_objects_find(const char *path, const char *prefix, const Hashmap *by_name, void **found) {
        _cleanup_(freep) char *name = NULL;

        int r = sd_bus_path_decode(path, prefix, &name);
        if (r <= 0)
                return r;
        void *o = hashmap_get(by_name, name);
        if (!o)
                return 0;
        *found = o;
        return 1;
}

int bus_objects_enumerate(const Hashmap *by_name, size_t path_offset, char ***nodes) {
        _cleanup_(strv_freep) char **l = NULL;
        void *o;

        HASHMAP_FOREACH(o, by_name)
                if (strv_extend(&l, *(char **) ((char *) o + path_offset)) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 0;
}
