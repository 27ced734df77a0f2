/* Stage timers of the kernels (suite.profile): a recorder shared by every extension module.
 *
 * One recorder per process lives in suite._profile (suite_profiler_shared, in _profile.pyx);
 * every other module holds a pointer to it (suite_profile_state, one per module: each
 * translation unit has its own copy of this static), set when the module is imported
 * (_profile.pxd, attach_profiler). Until then it points at a recorder that is always off.
 *
 * Off (the default), a kernel pays one load and one predictable branch per parallel loop
 * (suite_profile_call) and one branch per task (suite_stage_start / suite_stage_stop, which
 * test the call id the loop read). On, each task appends one event (call, stage, OpenMP
 * thread, start and end on CLOCK_MONOTONIC in ns) to a preallocated buffer at an index
 * taken with an atomic increment; events past its capacity are dropped and counted
 * (next - capacity). The buffer is replaced only while no profiled call runs (suite.profiling
 * keeps count), so a running kernel never writes into freed memory.
 *
 * The call id is the one suite.profiling gave the Python thread that called the kernel
 * (thread-local in suite._profile, read on that thread through current_call); 0 means
 * "not profiled": outside a suite.profile() block, or a kernel called directly.
 */
#ifndef SUITE_PROFILE_H
#define SUITE_PROFILE_H

#include <stdint.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#define SUITE_PROFILE_THREAD() omp_get_thread_num()
#else
#define SUITE_PROFILE_THREAD() 0
#endif

/* The stages, as docs/design.md names the algorithms' steps. Their names, in this order,
 * are suite_stage_names (suite._profile.stage_names()); append new ones at the end. */
enum {
    SUITE_STAGE_IM2COL = 0,         /* the columns of a GEMM operand (im2col) */
    SUITE_STAGE_PACK,               /* images side by side in one GEMM operand */
    SUITE_STAGE_GEMM,               /* a single-threaded BLAS call */
    SUITE_STAGE_COL2IM,             /* col2im: columns added into the output (scatter) */
    SUITE_STAGE_BIAS,               /* outputs set to their bias (or zero) before a GEMM adds */
    SUITE_STAGE_UNPACK,             /* a batched GEMM's result back to NCHW (with the bias) */
    SUITE_STAGE_WEIGHT_PACK,        /* sub-kernels of the phases (or collapsed kernels) packed */
    SUITE_STAGE_PHASE_WRITE,        /* a phase's GEMM result written into its outputs */
    SUITE_STAGE_WINOGRAD_WEIGHT,    /* Winograd weight transform (G g G^T) */
    SUITE_STAGE_WINOGRAD_INPUT,     /* Winograd input transform (B^T d B) */
    SUITE_STAGE_WINOGRAD_OUTPUT,    /* Winograd output transform (A^T m A) and bias */
    SUITE_STAGE_DIRECT_ROWS,        /* the direct transposed convolution's output rows */
    SUITE_STAGE_INTERPOLATION,      /* upsampled rows made on the fly (banded convolution) */
    SUITE_STAGE_UPSAMPLE_TABLES,    /* the upsampling's index and weight tables (Python) */
    SUITE_STAGE_UPSAMPLE_ROWS,      /* nearest / bilinear output rows */
    SUITE_STAGE_UPSAMPLE_ADD_ROWS,  /* upsample + skip addition output rows */
    SUITE_STAGE_GRADIENT_ROWS,      /* an upsampling's gradient rows (gathered) */
    SUITE_STAGE_BIAS_GRADIENT,      /* grad_bias: the gradient summed over N, H, W */
    SUITE_STAGE_COUNT
};

static const char *const suite_stage_names[SUITE_STAGE_COUNT] = {
    "im2col", "pack", "gemm", "col2im scatter", "bias", "unpack", "weight pack",
    "phase write", "winograd weight transform", "winograd input transform",
    "winograd output transform", "direct rows", "interpolation", "upsample tables",
    "upsample rows", "upsample+add rows", "gradient rows", "bias gradient",
};

typedef struct {
    int64_t call;       /* suite.profiling's call id (> 0) */
    int64_t start_ns;   /* CLOCK_MONOTONIC */
    int64_t end_ns;
    int32_t stage;      /* SUITE_STAGE_* */
    int32_t thread;     /* omp_get_thread_num() of the thread that ran the task */
} suite_stage_event;

typedef struct {
    volatile int enabled;           /* any suite.profile() block open */
    int64_t (*current_call)(void);  /* the calling Python thread's call id, 0: none */
    suite_stage_event *events;
    int64_t capacity;
    int64_t next;                   /* the next free index (atomic); > capacity: dropped */
} suite_profiler;

static suite_profiler suite_profiler_off = {0, 0, 0, 0, 0};
static suite_profiler *suite_profile_state = &suite_profiler_off;

static inline void suite_profile_attach(void *recorder)
{
    suite_profile_state = (suite_profiler *)recorder;
}

static inline int64_t suite_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The id of the call this kernel runs for, 0 when not profiled: read once per parallel
 * loop, on the thread that starts it (the calling Python thread), and passed to the tasks. */
static inline int64_t suite_profile_call(void)
{
    suite_profiler *p = suite_profile_state;
    if (!p->enabled)
        return 0;
    return p->current_call();
}

static inline void suite_stage_record(int64_t call, int stage, int64_t start_ns,
                                      int64_t end_ns)
{
    suite_profiler *p = suite_profile_state;
    int64_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    suite_stage_event *e;
    if (i >= p->capacity)
        return;
    e = p->events + i;
    e->call = call;
    e->start_ns = start_ns;
    e->end_ns = end_ns;
    e->stage = stage;
    e->thread = SUITE_PROFILE_THREAD();
}

/* A task's start time when its call is profiled, else 0 (no clock read). */
static inline int64_t suite_stage_start(int64_t call)
{
    return call ? suite_now_ns() : 0;
}

/* Record the task that started at start_ns (suite_stage_start) and ends now. */
static inline void suite_stage_stop(int64_t call, int stage, int64_t start_ns)
{
    if (call)
        suite_stage_record(call, stage, start_ns, suite_now_ns());
}

#endif
