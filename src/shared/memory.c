/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>

#include "memory.h"

void memory_return_large_blocks(void) {
        /* Setting either value turns glibc's dynamic adjustment off. */
        (void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 512 * 1024);
}
