/* The kernels' large workspaces, kept from one call to the next.
 *
 * glibc serves a malloc of 32 MiB or more (its largest mmap threshold on 64-bit) with a
 * fresh mmap and gives it back with munmap on free: every call of a kernel with such a
 * workspace then faults in every page of it while it computes (U-Net's k2 s2 up-convolution
 * on a 128x128 map: a 32 MiB column buffer, 17 ms of first touches in a 71 ms call; the
 * profile in docs/performance.md). So each extension module keeps its most recent workspace
 * of at least SUITE_KEEP_BYTES after the call that used it and hands it to the next call that
 * needs no more; smaller buffers come from malloc, whose heap keeps them warm anyway.
 *
 * The callers hold the GIL (pyx/_gemm.pxd: allocate and release run outside the kernels'
 * nogil sections), which serializes these functions; a call made while the kept block is in
 * use (another Python thread's kernel) gets a block of its own. One block per module is held
 * at most, until a larger one replaces it or the process ends.
 */
#ifndef SUITE_WORKSPACE_H
#define SUITE_WORKSPACE_H

#include <stddef.h>
#include <stdlib.h>

#define SUITE_KEEP_BYTES ((size_t)32 << 20)

static void *suite_kept = NULL;
static size_t suite_kept_bytes = 0;
static int suite_kept_busy = 0;

/* A block of at least `bytes` (NULL when out of memory). */
static inline void *suite_workspace_take(size_t bytes)
{
    if (bytes < SUITE_KEEP_BYTES || suite_kept_busy)
        return malloc(bytes);
    if (suite_kept == NULL || suite_kept_bytes < bytes) {
        free(suite_kept);
        suite_kept = malloc(bytes);
        suite_kept_bytes = suite_kept == NULL ? 0 : bytes;
        if (suite_kept == NULL)
            return NULL;
    }
    suite_kept_busy = 1;
    return suite_kept;
}

/* Give back a block from suite_workspace_take (NULL: nothing). */
static inline void suite_workspace_give(void *p)
{
    if (p == NULL)
        return;
    if (p == suite_kept)
        suite_kept_busy = 0;
    else
        free(p);
}

#endif
