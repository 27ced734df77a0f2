/* The kernels' workspaces, kept from one call to the next.
 *
 * glibc serves a large malloc with a fresh mmap (from 128 KiB, its threshold rising with
 * what was freed up to 32 MiB) and trims the top of its heap on free, so a kernel whose
 * workspaces are freed after each call faults in every page of them again while it computes:
 * U-Net's k2 s2 up-convolution on a 128x128 map, a 32 MiB column buffer, 17 ms of first
 * touches in a 71 ms call; a k4 s2 layer on 12x12 maps, ~7% of its 2.8 ms in page faults of
 * its packed input and column buffers (docs/performance.md, items 20 and 41). So each
 * extension module keeps up to SUITE_KEEP_SLOTS blocks of SUITE_KEEP_MIN_BYTES or more after
 * the calls that used them and hands each to a later call that needs no more (the smallest
 * that fits); a block too small for a request is given back and replaced by a larger one, so
 * a module holds at most as many blocks as a call takes at once, each as large as the
 * largest request it served. Smaller buffers come from malloc, whose heap keeps them warm.
 *
 * The callers hold the GIL (pyx/_gemm.pxd: allocate and release run outside the kernels'
 * nogil sections), which serializes these functions; a request that finds every slot in use
 * (another Python thread's kernel) gets a block of its own, freed after use.
 */
#ifndef SUITE_WORKSPACE_H
#define SUITE_WORKSPACE_H

#include <stddef.h>
#include <stdlib.h>

#define SUITE_KEEP_MIN_BYTES ((size_t)64 << 10)
#define SUITE_KEEP_SLOTS 4

static void *suite_kept[SUITE_KEEP_SLOTS];
static size_t suite_kept_bytes[SUITE_KEEP_SLOTS];
static int suite_kept_busy[SUITE_KEEP_SLOTS];

/* A block of at least `bytes` (NULL when out of memory). */
static inline void *suite_workspace_take(size_t bytes)
{
    int fit = -1, other = -1;
    if (bytes < SUITE_KEEP_MIN_BYTES)
        return malloc(bytes);
    for (int s = 0; s < SUITE_KEEP_SLOTS; s++) {
        if (suite_kept_busy[s])
            continue;
        if (suite_kept[s] != NULL && suite_kept_bytes[s] >= bytes) {
            if (fit < 0 || suite_kept_bytes[s] < suite_kept_bytes[fit])
                fit = s;
        } else if (other < 0 || suite_kept[s] == NULL ||
                   (suite_kept[other] != NULL &&
                    suite_kept_bytes[s] < suite_kept_bytes[other])) {
            other = s;      /* an empty slot, else the smallest block that is too small */
        }
    }
    if (fit < 0) {
        if (other < 0)
            return malloc(bytes);
        fit = other;
        free(suite_kept[fit]);
        suite_kept[fit] = malloc(bytes);
        suite_kept_bytes[fit] = suite_kept[fit] == NULL ? 0 : bytes;
        if (suite_kept[fit] == NULL)
            return NULL;
    }
    suite_kept_busy[fit] = 1;
    return suite_kept[fit];
}

/* Give back a block from suite_workspace_take (NULL: nothing). */
static inline void suite_workspace_give(void *p)
{
    if (p == NULL)
        return;
    for (int s = 0; s < SUITE_KEEP_SLOTS; s++) {
        if (p == suite_kept[s] && suite_kept_busy[s]) {
            suite_kept_busy[s] = 0;
            return;
        }
    }
    free(p);
}

#endif
