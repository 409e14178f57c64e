/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeps a long-running daemon's RSS at what it holds. glibc raises its mmap
 * threshold to the size of the largest block freed so far, so after one
 * multi-megabyte bus reply (GetManagedObjects with 10,000 peers) every later
 * one is built on the heap and stays in RSS when freed. Fixing the threshold
 * keeps such blocks mmapped: freeing one gives it back to the kernel. */
void memory_return_large_blocks(void);
