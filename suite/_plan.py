"""Planning: how a kernel call is cut into work (images per GEMM, bands, blocks, passes,
threads) and which deconvolution algorithm ``"auto"`` runs.

Every rule here is a function of the shapes, the itemsize, the thread count and the machine
(its cache; whether suite's own GEMM kernel runs on its CPU) only, so the planned work, and
hence the result, never depends on anything else. The split of a layer into GEMMs (images,
blocks, bands, parts) follows the planning width (:func:`planning_width`), not the call's
thread count: BLAS rounds each product as its shape says, so a split that moved with the
threads would move the bits. The budgets are sized from the cache and the BLAS behaviour
measured in docs/performance.md (cited by number).
"""

import functools
import glob
import math
import os

from ._buildinfo import planning_width
from ._validation import check_blas_dims, check_int, check_pair, check_size
from .geometry import PHASE_COUNT, PHASE_TAPS, check_shape

#: ``algorithm=`` values of suite.deconv2d: "auto" (the measured choice recorded in
#: suite.wisdom, else :func:`choose_algorithm`), the methods, and "measure" (time the
#: methods that apply). A literal: the benchmarks read it from the source.
DECONV_ALGORITHMS = ("auto", "col2im", "phase", "winograd", "direct", "measure")

#: The methods of suite.deconv2d.
DECONV_METHODS = DECONV_ALGORITHMS[1:-1]

#: ``algorithm=`` values of suite.upsample_conv2d: "auto" (the measured choice recorded in
#: suite.wisdom, else the first method that applies), the methods in that order, and
#: "measure" (time those that apply).
UPSAMPLE_CONV_ALGORITHMS = ("auto", "winograd", "collapsed", "banded", "measure")

#: The methods of suite.upsample_conv2d, in the order "auto" takes the first that applies.
UPSAMPLE_CONV_METHODS = UPSAMPLE_CONV_ALGORITHMS[1:-1]

#: algorithm="measure" tries the direct deconvolution only with at most this many input
#: channels per group: it adds without a GEMM, and one call of a dense layer takes as
#: long as many of the others (1 x C x 32 x 32, k4 s2, one thread: 3.6x col2im's time at
#: 4 channels, 7.5x at 16, 8.9x at 32, 21x at 64 -> 64 at 16 x 16).
DIRECT_MAX_CHANNELS = 16

#: Images are packed side by side until a GEMM has about this many columns: BLAS runs a
#: 16-column product (one 4x4 map) far below its peak, a 2048-column one near it.
GEMM_TARGET_COLUMNS = 2048

#: The direct deconvolution adds kernel rows shorter than this tap by tap (an axpy over the
#: input row into every stride-th output element), longer ones pixel by pixel (an axpy of
#: the kernel row into a contiguous stretch of the output row).
TAP_MAJOR_BELOW = 8

#: ... but the column workspace of one batch stays below this many bytes.
WORKSPACE_BUDGET_BYTES = 64 * 2**20


def images_per_gemm(n_images, columns_per_image, rows, itemsize):
    """How many images share one GEMM (see GEMM_TARGET_COLUMNS and WORKSPACE_BUDGET_BYTES)."""
    if n_images <= 1:
        return 1
    wanted = max(1, math.ceil(GEMM_TARGET_COLUMNS / columns_per_image))
    affordable = max(1, WORKSPACE_BUDGET_BYTES // max(1, rows * columns_per_image * itemsize))
    return int(min(n_images, wanted, affordable))



#: A 1x1, stride-1 convolution batches images only where its products would waste more of
#: the own kernels' work on padding than the batch costs: a copy of x into columns side by
#: side and one of the products back into the output, per column (K + C_out/groups) values
#: written and read again. Against the product's 2 K C_out/groups FLOPs a column, at the own
#: kernels' ~100 GFLOP/s and a copy within the cache at ~40 GB/s (float32), the two copies
#: cost this many times (K + C_out/g) / (K C_out/g) of the product (docs/performance.md,
#: item 83).
POINTWISE_COPY_COST = 10.0


def own_kernel_work(rows, columns, transposed):
    """The work of one product on the own kernels (pyx/_sgemm.h) over its useful work (>= 1):
    C = A^T B of at most NARROW_GEMM_COLUMNS columns (``transposed``) on the narrow kernel,
    rows in blocks of 48 and columns in panels of NARROW_GEMM_PANEL; any other on the wide
    kernel, rows in blocks of 6 and columns in panels of 64, the last in vectors of 16."""
    from . import _im2col
    if transposed and columns <= _im2col.NARROW_GEMM_COLUMNS:
        panel = _im2col.NARROW_GEMM_PANEL
        return (-(-rows // 48) * 48 * -(-columns // panel) * panel) / (rows * columns)
    padded = columns // 64 * 64 + -(-(columns % 64) // 16) * 16
    return (-(-rows // 6) * 6 * padded) / (rows * columns)


#: ... and only while x is at most this share of the last-level cache: one image's product
#: reads x where it lies, K rows of it at once, which from memory ran far below the batch's
#: copy, a row at a time (item 83: 8 images of 128 channels in 4 groups on 32x53, 6.9 MB,
#: 0.70-0.84x the batched time at 16-64 output channels a group; 3.0-3.7 MB inputs
#: 1.14-1.34x faster one image at a time). A measured bound, not a derived one.
POINTWISE_INPUT_SHARE = 8


def pointwise_images(n, per_image, depth, c_out_per_group, c_out, itemsize, transposed):
    """Images per product of a 1x1, stride-1 convolution (x multiplied where it lies, one
    image at a time, when this is 1; ``transposed``: its weight read as its transpose, a
    transposed convolution's). Where the own kernels take the products and x is at most
    1 / POINTWISE_INPUT_SHARE of the last-level cache: one image unless its product's
    padding (:func:`own_kernel_work`) costs more than the batched product's plus the
    batch's copies (POINTWISE_COPY_COST); elsewhere (BLAS, whose narrow products run far
    below its peak; depths below WIDE_GEMM_MIN_DEPTH; larger inputs) :func:`images_per_gemm`."""
    from . import _im2col
    batched = images_per_gemm(n, per_image, depth + c_out, itemsize)
    groups = c_out // c_out_per_group
    if (batched == 1 or not narrow_gemm_columns(itemsize)
            or depth < _im2col.WIDE_GEMM_MIN_DEPTH
            or n * groups * depth * per_image * itemsize
            > last_level_cache_bytes() // POINTWISE_INPUT_SHARE):
        return batched
    copies = POINTWISE_COPY_COST * (depth + c_out_per_group) / (depth * c_out_per_group)
    alone = own_kernel_work(c_out_per_group, per_image, transposed)
    together = own_kernel_work(c_out_per_group, batched * per_image, transposed) + copies
    return 1 if alone <= together else batched


def phase_gemm_images(n, phases_h, phases_w, cig, cog, itemsize):
    """Images per GEMM of the phase correlation (n images, cig -> cog channels per group):
    each phase's GEMM has cig * (the most taps of a phase) rows and that many images' worth
    of the largest phase's outputs as columns. Refuses, before any work, a workspace or a
    GEMM that would not fit."""
    rows = cig * int(phases_h[:, PHASE_TAPS].max()) * int(phases_w[:, PHASE_TAPS].max())
    per_phase = int(phases_h[:, PHASE_COUNT].max()) * int(phases_w[:, PHASE_COUNT].max())
    nb = images_per_gemm(n, per_phase, rows + cog, itemsize)
    check_size((rows, nb * per_phase), "the column workspace")
    check_blas_dims(M=cog, N=nb * per_phase, K=rows)
    return nb


#: Banded convolution: a task packs the columns of a band of output rows, at most this many
#: bytes (so they stay in the core's cache for the GEMM) ...
BAND_BYTES = 512 * 2**10

#: ... but at least this many output values wide, so the GEMM still runs near its peak.
#: Maps with fewer output values per image batch several images into one GEMM instead.
#: (Written 256 here, it ran as 512 from item 38 on, shadowed by col2im's constant of the
#: same name; 256 and 512 measured alike on 11 convolutions and fused layers after item
#: 69, 1.004x: docs/performance.md, item 74.)
BAND_MIN_COLUMNS = 512


def band_rows(planes, out_h, out_w, column_rows, itemsize, planned):
    """Output rows per task of the banded convolution (``planes`` = images x groups).

    Sized by BAND_BYTES and BAND_MIN_COLUMNS; cut further only when the tasks would be fewer
    than ``planned`` threads (:func:`planning_width`: a band is a product's width, so it
    must not follow the call's threads).
    """
    rows = max(math.ceil(BAND_MIN_COLUMNS / out_w),
               BAND_BYTES // max(1, column_rows * out_w * itemsize))
    rows = min(rows, out_h)
    if planes * math.ceil(out_h / rows) < planned:
        rows = max(1, math.ceil(out_h / math.ceil(planned / planes)))
    check_size((column_rows, rows * out_w), "the column workspace")
    return int(rows)


#: ... and where a band's columns of all its input channels would pass BAND_BYTES (deep
#: layers: 3x3 kernels over more than 28 channels at 512 columns), it packs and multiplies
#: them a slice of input channels at a time, each slice's product adding into the band's
#: sums: a slice holds at most BAND_BYTES of columns but at least this many rows of the
#: product's depth (K), which BLAS blocks by 256 to 384 itself, so the slices cost the
#: product one more pass over its output band each (docs/performance.md, item 106).
BAND_MIN_DEPTH = 256


def band_channels(channels, taps, columns, itemsize):
    """Input channels per slice of a band's columns (:data:`BAND_MIN_DEPTH`), at most
    ``channels`` (a group's): ``taps`` = kh*kw column rows per channel, ``columns`` = the
    band's output values (rows x W_out, or a batch's)."""
    depth = max(BAND_MIN_DEPTH, BAND_BYTES // max(1, columns * itemsize))
    return int(min(channels, max(1, depth // max(1, taps))))



#: Winograd blocks of tiles keep one block's transformed input and products (9 values per
#: tile and input or output channel) within about this many bytes, or half the phase's
#: transformed weights if larger (run_winograd), with 32 to WINOGRAD_MAX_BLOCK tiles: half
#: the core's L2 on the machines measured (larger blocks, which widen the GEMMs, ran
#: slower: DCGAN-G4 9.5 ms at 512 KiB, 12 ms at 2 MiB, 24 ms at 8 MiB).
WINOGRAD_BLOCK_BYTES = 512 * 2**10
WINOGRAD_MAX_BLOCK = 512


#: Winograd transforms a transposed convolution's weights for as many phases as fit in
#: this many bytes in one sweep over the weight, a phase at a time beyond it. A sweep per
#: phase reads the whole weight (C_in, C_out, k, k) once per phase, since a kernel's taps
#: share cache lines, and reorders it each time (DCGAN-G2: 20.7 -> 16.8 ms, StyleGAN 13.9
#: -> 12.0 by one sweep); larger buffers are mapped afresh by malloc on every call, and
#: their page faults cost more than the sweeps save. A convolution's weight (C_out, C_in,
#: k, k), the fused upsample + conv's, is read in its own order and goes a phase at a time
#: (StyleGAN's nearest x2 + 3x3: 11.4 ms, 12.5 in one sweep). suite.cost counts that
#: workspace from this constant.
WINOGRAD_PASS_BYTES = 24 * 2**20

#: choose_algorithm takes Winograd with at least this many 2x2 tiles per phase (and
#: C_out/groups >= C_in/groups / 2: docs/performance.md, item 72) ...
WINOGRAD_MIN_TILES = 128
#: ... and on one thread from this many, with C_out/groups >= C_in/groups on maps of at
#: least WINOGRAD_MIN_PIXELS pixels (item 73: on smaller maps col2im's narrow products
#: and Winograd's part-empty tiles favour col2im).
WINOGRAD_FEW_TILES = 32
WINOGRAD_MIN_PIXELS = 16
#: ... with at most this many input channels per group (item 81): deeper, col2im's one
#: product runs near the GEMM's rate and the per-call weight transform (9 values a channel
#: pair and phase, ~1 ns each) outweighs the 7/16 of the products it saves below ~100
#: tiles (14 random layers of 96-512 input channels and 32-127 tiles: Winograd up to 2.3x
#: slower); shallower, col2im's scatter and shallow product leave Winograd 1.1-1.6x faster.
WINOGRAD_FEW_TILES_MAX_DEPTH = 64


#: One addition of upsample_conv2d's collapsed-weight pack costs about as long as this many
#: FLOPs of the banded kernel it competes with (docs/performance.md, item 27). Since item
#: 77 the pack adds 0.3-0.66 ns a tap where banded runs at 72-88 GFLOP/s on the small maps
#: where the choice matters: 26-40 FLOPs an addition, but the collapsed products run slower
#: a FLOP than banded's (60 against 83-100 GFLOP/s on x4 + 3x3 of 384 -> 192 on 4x4), and
#: 50 picked the faster method (or one within 3%) on all 8 layers measured there, 32 on 7.
PACK_ADDITION_FLOPS = 50


def collapse_pays(saved_flops, pack_additions):
    """Whether collapsing the kernel (``saved_flops`` fewer than the unfused arithmetic)
    outweighs packing the collapsed weights (``pack_additions``) on a call that packs them."""
    return saved_flops > PACK_ADDITION_FLOPS * pack_additions


#: upsample_conv2d's rule takes the collapsed kernel before Winograd on a call that
#: transforms its weights with fewer than this many 2x2 tiles a phase (the batch's) when a
#: phase's transformed weights are more than UPSAMPLE_WINOGRAD_CACHED_BYTES: Winograd saves
#: 14 FLOPs a tile and channel pair (~0.14 ns) for 16 transformed weights a pair, ~1 ns
#: each past the cache (even at ~115 tiles), ~0.1 ns in it (even at ~12). Measured on 110
#: random layers and 2 of the sweeps': past 1 MiB and below 64 tiles collapsed ran
#: 1.23-1.37x faster on all 3; below 64 tiles in the cache Winograd stayed ahead on 5 of 15
#: (docs/performance.md, item 96).
UPSAMPLE_WINOGRAD_MIN_TILES = 64
UPSAMPLE_WINOGRAD_CACHED_BYTES = 2**20


#: deconv2d and upsample_conv2d give each thread at least this many FLOPs: 20-100 us of
#: work at the 20-100 GFLOP/s that small layers reach, several times what waking a second
#: thread costs. (It was 10 MFLOP, set when FCN-8s upscore2, 14 MFLOP, ran 0.33 ms on one
#: thread and 0.47 on two; with today's kernels two threads ran 1.3-2.1x faster than one on
#: 16 of 18 random layers of 1-9 MFLOP, median 1.66x, and 1.5-2.2x on 6 of 7 of 12-20
#: MFLOP, FCN-8s upscore2 unchanged: docs/performance.md, item 52.)
MIN_FLOPS_PER_THREAD = 2_000_000


#: ... or at least this many bytes of input and output to move: about what one thread
#: moves in the time of MIN_FLOPS_PER_THREAD at the GEMM's rate (25 GB/s against 100
#: GFLOP/s). Layers whose time is their memory (1x1 kernels at stride 2, depthwise k2 s2 on
#: large maps: 5-14 MB for 10-20 MFLOP) then get their threads (docs/performance.md, item
#: 34).
MIN_BYTES_OF_WORK_PER_THREAD = 2 * 2**20


def threads_for_work(n_threads, flops, nbytes=0):
    """n_threads, lowered so that each thread gets at least MIN_FLOPS_PER_THREAD or
    MIN_BYTES_OF_WORK_PER_THREAD of input and output (``nbytes``) to move, whichever gives
    more threads (at least one thread): for these kernels num_threads is an upper bound."""
    if MIN_FLOPS_PER_THREAD <= 0:
        return n_threads
    work = max(flops // MIN_FLOPS_PER_THREAD, nbytes // MIN_BYTES_OF_WORK_PER_THREAD)
    return int(max(1, min(n_threads, work)))


#: upsample, upsample_backward and upsample_add give each thread at least this many bytes
#: of output: they only move memory, and below it waking a second thread costs more than
#: the copy it takes over (nearest x2, one thread vs two, both busy with other work: 2x2
#: maps 29 vs 329 us, 256 KiB of output 19 vs 51 us, 676 KiB 34 vs 25 us).
MIN_BYTES_PER_THREAD = 256 * 2**10


def threads_for_bytes(n_threads, nbytes):
    """n_threads, lowered so that each thread writes at least MIN_BYTES_PER_THREAD (at least
    one thread): for the upsampling kernels num_threads is an upper bound."""
    if MIN_BYTES_PER_THREAD <= 0:
        return n_threads
    return int(max(1, min(n_threads, nbytes // MIN_BYTES_PER_THREAD)))


#: The last-level cache assumed where the system does not say (32 MiB, an L3 of the
#: machines measured).
DEFAULT_LAST_LEVEL_CACHE_BYTES = 32 * 2**20


@functools.lru_cache(maxsize=1)
def last_level_cache_bytes():
    """The largest data cache of CPU 0 in bytes, as the system reports it (sysconf, then
    /sys/devices/system/cpu/cpu0/cache), else DEFAULT_LAST_LEVEL_CACHE_BYTES."""
    for name in ("SC_LEVEL4_CACHE_SIZE", "SC_LEVEL3_CACHE_SIZE", "SC_LEVEL2_CACHE_SIZE"):
        try:
            size = os.sysconf(name)
        except (ValueError, OSError, AttributeError):
            continue
        if size > 0:
            return size
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        if text[-1:].upper() in units and text[:-1].isdigit():
            sizes.append(int(text[:-1]) * units[text[-1].upper()])
        elif text.isdigit():
            sizes.append(int(text))
    return max(sizes) if sizes else DEFAULT_LAST_LEVEL_CACHE_BYTES


@functools.lru_cache(maxsize=None)
def last_level_cache_sharing():
    """How many CPUs share the largest data cache of CPU 0 (its ``shared_cpu_list`` in
    /sys/devices/system/cpu/cpu0/cache), 1 where the system does not say."""
    best, sharing = -1, 1
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            with open(os.path.join(path, "level")) as f:
                level = int(f.read())
            with open(os.path.join(path, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(path, "shared_cpu_list")) as f:
                cpus = f.read().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction" or level <= best:
            continue
        count = 0
        for part in cpus.split(","):
            lo, _, hi = part.partition("-")
            if lo.isdigit() and (not hi or hi.isdigit()):
                count += int(hi or lo) - int(lo) + 1
        best, sharing = level, max(1, count)
    return sharing


def cache_share_bytes(n_threads):
    """The last-level cache a call on ``n_threads`` threads can count on: the cache divided
    among the CPUs that share it, times the threads (all of it at most), and at least half
    of it. Measured on a VM of 2 CPUs sharing 32 MiB (docs/performance.md, item 87): one
    thread's plain stores fell to memory speed between working sets of 13.5 and 15.7 MB,
    two threads' between 22.5 and 27."""
    size, sharing = last_level_cache_bytes(), last_level_cache_sharing()
    return max(size // 2, size * min(max(1, n_threads), sharing) // sharing)


def streams_past_cache(nbytes_moved, n_threads):
    """True when a pass on ``n_threads`` threads that reads and writes ``nbytes_moved`` in
    all cannot keep them in its share of the last-level cache (:func:`cache_share_bytes`):
    its output then goes to memory anyway, and streaming stores, which do not read the
    destination lines first, halve its write traffic (docs/performance.md, items 28, 87)."""
    return nbytes_moved > cache_share_bytes(n_threads)


#: Column blocks of the blocked col2im deconvolution stay below this many bytes, so a
#: block is still in the core's cache (1 MiB of L2 on the machines measured) when col2im
#: reads it back right after the GEMM wrote it.
COLUMN_BLOCK_BYTES = 512 * 2**10

#: ... but each block's GEMM keeps at least this many columns (images are batched for
#: that) and rows (a thinner product streams its whole input once per block).
BLOCK_MIN_COLUMNS = 256
BLOCK_MIN_ROWS = 256

#: Large maps go through col2im in bands of input rows of at least this many columns: a
#: band's GEMM re-reads the weight block, about 10 / columns of the GEMM's time at this
#: machine's GEMM and copy rates (2 x 100 GFLOP/s over columns x 20 GB/s).
COL2IM_BAND_MIN_COLUMNS = 512


def own_gemm_takes(rows, columns, depth, itemsize):
    """Whether suite's own kernels (pyx/_sgemm.h) run col2im's product C = W^T X of this
    shape (rows of C, columns, K) and every part of it a thread may run: float32 on a CPU
    with AVX-512, at most ``narrow_gemm_columns`` columns or K of at least 32
    (docs/performance.md, items 37, 40 and 41). Then no BLAS call is made."""
    narrow = narrow_gemm_columns(itemsize)
    if not narrow:
        return False
    from . import _im2col
    return columns <= narrow or depth >= _im2col.WIDE_GEMM_MIN_DEPTH


def narrow_gemm_columns(itemsize):
    """The widest product (columns) that suite's own GEMM kernel runs for col2im (float32 on
    a CPU with AVX-512: pyx/_sgemm.h, docs/performance.md item 37), else 0."""
    if itemsize != 4:
        return 0
    from . import _im2col
    return _im2col.NARROW_GEMM_COLUMNS if _im2col.gemm_kernel() == "avx512" else 0


def narrow_batch(n, per_image, narrow):
    """Images per product of the own narrow kernel for maps of ``per_image`` <= ``narrow``
    columns: the fewest (at most n, at most ``narrow`` columns) whose columns fill its panels
    of NARROW_GEMM_PANEL best (1 when a map fills them: 4x4, 8x8; 8 for 1x1, 2 for 2x2)."""
    from . import _im2col
    panel = _im2col.NARROW_GEMM_PANEL
    best, best_waste = 1, None
    for nb in range(1, int(min(n, narrow // per_image)) + 1):
        columns = nb * per_image
        waste = (-columns % panel) / columns
        if best_waste is None or waste < best_waste - 1e-12:
            best, best_waste = nb, waste
        if waste == 0:
            break
    return best


def col2im_blocking(n, c_in, height, width, c_out_per_group, taps, groups, itemsize,
                    planned):
    """(images per GEMM, output channels per block, input rows per band) of the col2im
    deconvolution.

    Blocks are sized by the cache, then split further only when there are fewer tasks than
    ``planned`` threads (:func:`planning_width`, whatever the call runs on: the blocks set
    the products' shapes, hence their rounding). 0 channels per block selects the unblocked
    method (one GEMM per group split in blocks), for layers too small to give every planned
    thread a task (one image, one output channel). Images
    are batched to give BLAS wide products, except maps narrow enough for suite's own kernel
    (``narrow_gemm_columns``), which multiplies them at full rate one image at a time: there
    batching only adds the packing of the images, unless the weight, read once per batch,
    does not stay in the cache from one image to the next (then as many images as the
    kernel's width takes: DCGAN-G2's 8 MB weight, 16 images of 4x4: 14.2 -> 11.7 ms, one
    thread; 1024 -> 512 channels k4 on 2x2 maps, 32 MB: 1 image per product 6.0 ms, 2: 3.8),
    or the map is narrower than the kernel's panel of columns, which pads it: then the
    fewest images that waste least of the panels (``narrow_batch``; DCGAN's first layer,
    16 latent vectors of 1x1: one image a product computed 8 columns for 1, docs/
    performance.md item 43).

    Large maps, whose columns for even BLOCK_MIN_ROWS rows would not fit in a block, take
    one image at a time in bands of input rows (COL2IM_BAND_MIN_COLUMNS columns or more;
    fewer rows per band than the height): each band's GEMM and col2im stay in cache instead of
    writing the whole column matrix to memory and reading it back (docs/performance.md,
    item 38). The band depends on the shapes alone: it sets the order in which the output
    rows two bands share are summed.
    """
    per_image = height * width
    narrow = narrow_gemm_columns(itemsize)
    if per_image <= narrow:
        nb = narrow_batch(n, per_image, narrow)
        if c_in * c_out_per_group * taps * itemsize > last_level_cache_bytes() // 2:
            nb = int(min(n, max(1, narrow // per_image)))
    else:
        nb = int(min(n, max(1, math.ceil(BLOCK_MIN_COLUMNS / per_image))))
    columns = nb * per_image
    if min(BLOCK_MIN_ROWS, c_out_per_group * taps) * columns * itemsize > COLUMN_BLOCK_BYTES:
        rows = int(min(height, max(1, math.ceil(COL2IM_BAND_MIN_COLUMNS / width))))
        channels = max(1, COLUMN_BLOCK_BYTES // (taps * rows * width * itemsize))
        blocks_per_group = math.ceil(c_out_per_group / channels)
        if n * groups * blocks_per_group < planned:
            blocks_per_group = min(c_out_per_group, math.ceil(planned / (n * groups)))
        if n * groups * blocks_per_group < planned:
            return 1, 0, rows
        blocks_per_group = spread_blocks(n * groups, blocks_per_group, c_out_per_group,
                                         planned)
        return 1, math.ceil(c_out_per_group / blocks_per_group), rows
    per_channel = taps * columns * itemsize
    blocks_per_group = max(1, math.ceil(c_out_per_group * per_channel / COLUMN_BLOCK_BYTES))
    blocks_per_group = min(blocks_per_group,
                           max(1, c_out_per_group * taps // BLOCK_MIN_ROWS))
    chunks = math.ceil(n / nb)
    if chunks * groups * blocks_per_group < planned:
        blocks_per_group = min(c_out_per_group, math.ceil(planned / (chunks * groups)))
    if chunks * groups * blocks_per_group < planned:
        return images_per_gemm(n, per_image, c_out_per_group * taps, itemsize), 0, height
    blocks_per_group = spread_blocks(chunks * groups, blocks_per_group, c_out_per_group,
                                     planned)
    return nb, math.ceil(c_out_per_group / blocks_per_group), height


def spread_blocks(units, blocks, most, planned):
    """Blocks per unit (``blocks`` to ``min(most, 2*blocks)``, the fewest of the best) of
    ``most`` output channels, ``units`` units, on ``planned`` threads: the call takes
    ceil(tasks / planned) tasks of the largest block's time, so 3 blocks on 2 threads
    take 2/3 of a unit where 4 take 1/2 (one image of 384 -> 56 channels k2x5 s2 on 41x19:
    3 blocks of channels, one thread idle a third of the call; docs/performance.md, item
    91). A block's channels are a product's rows, and BLAS may round a row of a 14-row
    product unlike the same row of a 19-row one: hence the planning width, never the call's
    threads (docs/performance.md, item 98)."""
    def span(b):
        size = math.ceil(most / b)      # the blocks the kernel makes: ceil(most / size)
        return math.ceil(units * math.ceil(most / size) / planned) * size
    best = blocks
    if planned > 1:
        for b in range(blocks + 1, min(most, 2 * blocks) + 1):
            if span(b) < 0.95 * span(best):     # not for a channel less per block
                best = b
    return best


#: Taps per phase (kH*kW / (sH*sW)) from which the phase method's GEMMs are wide enough to
#: beat col2im on layers of few channels per group (a sweep of 36 such layers, one thread:
#: docs/performance.md, item 30).
PHASE_MIN_TAPS = 4

#: Shallow groups (3 to this many input channels per group) with at least
#: PHASE_MIN_WIDENING times as many output channels take the phase method on one thread
#: (``widened_for_phase``): col2im's product has K = C_in/groups (thin) and its scatter
#: moves C_out/groups x taps values a pixel; phase's im2col moves C_in/groups x taps: per
#: FLOP one falls as 1/C_in, the other as 1/C_out. On layers never measured before, 1.02-
#: 3.30x on the 38 of 100 it moved; deeper groups lost to the border work and the per-call
#: pack; at two threads phase ran 0.28-2.3x col2im from run to run (docs/performance.md,
#: item 93).
PHASE_MAX_DEPTH = 16
PHASE_MIN_WIDENING = 3

#: ... and input x output channels per group from which they beat the direct kernel by
#: column phase, which reads every input row once per output channel: below it direct ran
#: 1.1-5.3x faster than phase on 12 of 14 such layers of three draws, above it phase 1.1-1.6x
#: on 5 of 5 (docs/performance.md, item 50).
PHASE_MIN_CHANNEL_PRODUCT = 16


def choose_algorithm(input_shape, weight_shape, stride=1, dilation=1, groups=1, *,
                     padding=0, itemsize=4, prepared=False, num_threads=1):
    """The deconvolution algorithm ``algorithm="auto"`` runs for this configuration
    (``padding``: the transposed convolution's; ``itemsize``: bytes a value, 4 for
    float32; ``prepared``: for a layer object, ``suite.Deconv2d``, which keeps its weights
    prepared; ``num_threads``: the threads the call runs on, after the work floor of
    ``threads_for_work``).

    Layers with at most 4 input channels per group (depthwise upsampling filters, grouped
    decoders, an image's few channels) make every GEMM thin; measured on the sweep's layers
    of that kind (docs/performance.md, items 30, 48 and 50: fitted on draws, checked on
    others):

    * ``"col2im"`` for depthwise 1x1 kernels at stride 1 (each output plane an input plane
      scaled, no product: 3-6x the direct kernel's speed, item 88);
    * ``"direct"`` with one channel in and out per group (depthwise), computed by column
      phase (item 48: 1.3x the previous direct kernel on 24 random depthwise layers, 3.5x
      with kernels of 8 columns or more), unless the kernel rows are shorter than the
      stride (k1 s2, k2 s3, ...: output columns no tap reaches): ``"col2im"`` (1.05-1.9x
      faster there), but for kernel columns (kW 1, undilated) of more rows than the
      stride, whose col2im rows overlap (item 85: the direct kernel 1.26x faster on 14
      random such layers), and for layers whose input and output do not stay in the
      call's share of the last-level cache (``streams_past_cache``: the direct kernel
      writes each output row once, col2im writes its columns and then spreads and copies
      them into the rows; item 104: 1.2-2.6x faster past it, 0.35-0.98x inside); and
      ``"col2im"`` also for padded kernels as long as the stride (k3 s3 p1: no overlap,
      but the direct kernel's whole-row path needs padding 0; item 104: col2im 1.1-4x
      faster on 33 of 40 random such layers);
    * else, where each phase has ``PHASE_MIN_TAPS`` taps or more (kH*kW >= 4*sH*sW, at
      most 64 phases), ``"phase"`` with ``PHASE_MIN_CHANNEL_PRODUCT`` (16) input x output
      channels per group or more, ``"direct"`` below (item 50); at stride 1 (one phase, an
      im2col convolution) ``"phase"`` only with 2 or more output and at most 2 input
      channels per group, or on one thread with ``PHASE_MIN_WIDENING`` times as many output
      as input channels (item 93). Phase's GEMMs have K = C_in/groups x taps, where
      col2im's have K = C_in/groups and an overlapping scatter.
    * else ``"direct"`` with long kernel rows (kW >= 8: FCN-32s x32: 4.8x PyTorch, 3.9x
      col2im at one thread);
    * else ``"col2im"``.

    On one thread, with 5 to ``PHASE_MAX_DEPTH`` (16) input channels per group and at least
    ``PHASE_MIN_WIDENING`` (3) times as many output channels, where each phase has
    ``PHASE_MIN_TAPS`` taps or more, ``"phase"`` (after Winograd): col2im's product is thin
    (K = C_in/groups) and its scatter moves C_out/groups x taps values a pixel; phase's
    im2col moves C_in/groups x taps (item 93: 1.02-2.51x on the 18 of 80 random layers it
    moves, never measured before).

    ``"winograd"`` where every phase has a 2x2 sub-kernel (k = 2*stride, dilation 1), both
    channel counts per group are 16 or more (smaller GEMMs leave the transforms dominant:
    DCGAN's RGB output layer runs 2.5x faster by col2im) and each phase has at least
    ``WINOGRAD_MIN_TILES`` 2x2 output tiles over the batch, with C_out/groups >= C_in/groups
    / 2 (col2im's scatter grows with the output channels, Winograd's input transform with
    the input channels): with fewer tiles the 9 GEMMs per block are too narrow and the
    per-call weight transform too large a share (DCGAN-G2, 64 tiles: col2im 1.1x faster;
    StyleGAN, 128: Winograd 1.2x faster than col2im, DCGAN-G4, 1024: 1.4x, FCN-8s
    upscore2, 256: 1.4x); with fewer output channels col2im ran 1.2-1.9x faster
    (docs/performance.md, item 72). On one thread also from ``WINOGRAD_FEW_TILES`` tiles
    with C_out/groups >= C_in/groups on maps of ``WINOGRAD_MIN_PIXELS`` or more and at most
    ``WINOGRAD_FEW_TILES_MAX_DEPTH`` input channels per group (1.1-2.2x faster than col2im
    there; at two threads col2im's scatter, split by output channels, scaled better, and
    Winograd lost up to 2.45x: item 73; with deeper groups the per-call weight transform
    outweighs what it saves, up to 2.3x: item 81). A layer object (``prepared``)
    keeps every phase's transformed weights (no transform per call: Winograd only gets
    faster), and takes Winograd also with fewer tiles where the Winograd GEMMs' rows allow
    (M = C_out/groups: col2im's have 16 times as many, and the transformed weights are
    read again for every block of tiles): at least 64 output channels per group and
    C_out/groups >= C_in/groups / 4 (docs/performance.md, items 62 and 68: fitted on 34
    random layers; on the 13 it moves, round-robin with col2im in one process, 1.24x at one
    thread and 1.16x at two). Everywhere else ``"col2im"``: both GEMM methods
    do the same FLOPs, and with wide channel groups col2im's one GEMM per group (M =
    C_out/groups*kH*kW) streams less than phase's sH*sW GEMMs of C_out/groups rows.
    """
    stride = check_pair(stride, "stride", 1)
    dilation = check_pair(dilation, "dilation", 1)
    check_shape(input_shape, "input_shape", (0, 1))
    c_in, c_out_per_group = check_shape(weight_shape, "weight_shape", (1, 1))[:2]
    groups = check_int(groups, "groups", minimum=1)
    padding = check_pair(padding, "padding", 0)
    itemsize = check_int(itemsize, "itemsize", minimum=1)
    kh, kw = weight_shape[2:]
    phases = stride[0] * stride[1]
    cig = c_in // groups
    if cig <= 4:
        # Few input channels per group: every GEMM is thin (docs/performance.md, items 30,
        # 48, 50). Depthwise: the direct kernel. With PHASE_MIN_TAPS taps or more per phase
        # the phase method's GEMMs (M = C_out/groups, K = C_in/groups x the taps of a phase)
        # beat the direct kernel from PHASE_MIN_CHANNEL_PRODUCT input x output channels per
        # group on; at stride 1 (one phase: an im2col convolution) only with 2 or more
        # output and at most 2 input channels per group. Else long kernel rows: the direct
        # kernel; else col2im.
        if cig == 1 and c_out_per_group == 1 and (kh, kw) == (1, 1) and stride == (1, 1):
            # a 1x1 depthwise layer at stride 1: each output plane an input plane scaled
            # (col2im's plan for it; 2-6x the direct kernel's time: item 88)
            return "col2im"
        if cig == 1 and c_out_per_group == 1:
            # depthwise: the direct kernel by column phase (item 48), unless the kernel rows
            # are shorter than the stride (k1 s2, k2 s3: output columns no tap reaches, a
            # tap or two for the others): col2im then writes the row's few products in one
            # scatter where the direct kernel builds and interleaves each row's phases. But
            # kernel columns (kW 1) of more rows than the stride: col2im's rows overlap
            # there, and the direct kernel ran 1.26x faster (item 85); and past the cache
            # the direct kernel's one write of each row beat col2im's columns written,
            # spread and copied (item 104). Padded kernels as long as the stride, undilated:
            # the direct kernel cannot add whole kernel rows (its path for k = s needs
            # padding 0), and col2im's disjoint planes ran faster (item 104)
            column = kw == 1 and kh > stride[0] and dilation[0] == 1
            if kw < stride[1] and not column:
                moved = math.prod(input_shape) * (1 + stride[0] * stride[1]) * itemsize
                return "direct" if streams_past_cache(moved, num_threads) else "col2im"
            if (kw == stride[1] and kh <= stride[0] and padding[1] > 0
                    and dilation == (1, 1)):
                return "col2im"
            return "direct"
        taps = kh * kw
        if taps >= PHASE_MIN_TAPS * phases and phases <= 64:
            if phases > 1:
                return ("phase" if cig * c_out_per_group >= PHASE_MIN_CHANNEL_PRODUCT
                        else "direct")
            if c_out_per_group >= 2 and cig <= 2:
                return "phase"
            if widened_for_phase(cig, c_out_per_group, taps, phases, num_threads):
                # 3-4 input channels widened, one thread (1.2-3.0x on 19 of 20 random such
                # layers at stride 1: item 93)
                return "phase"
        if kw >= TAP_MAJOR_BELOW:
            return "direct"
        return "col2im"
    if (dilation == (1, 1) and (kh, kw) == (2 * stride[0], 2 * stride[1])
            and cig >= 16 and c_out_per_group >= 16):
        tiles = input_shape[0] * math.ceil(input_shape[2] / 2) * math.ceil(input_shape[3] / 2)
        if tiles >= WINOGRAD_MIN_TILES and 2 * c_out_per_group >= cig:
            return "winograd"
        if (num_threads == 1 and tiles >= WINOGRAD_FEW_TILES and c_out_per_group >= cig
                and cig <= WINOGRAD_FEW_TILES_MAX_DEPTH
                and input_shape[2] * input_shape[3] >= WINOGRAD_MIN_PIXELS):
            return "winograd"
        if prepared and c_out_per_group >= 64 and 4 * c_out_per_group >= cig:
            return "winograd"
    if widened_for_phase(cig, c_out_per_group, kh * kw, phases, num_threads):
        return "phase"
    return "col2im"


def widened_for_phase(cig, c_out_per_group, taps, phases, num_threads):
    """Shallow groups widened, one thread, phases of PHASE_MIN_TAPS taps: phase's rule."""
    return (num_threads == 1 and cig <= PHASE_MAX_DEPTH
            and c_out_per_group >= PHASE_MIN_WIDENING * cig
            and taps >= PHASE_MIN_TAPS * phases and phases <= 64)



def winograd_blocking(n, cig, cog, groups, itemsize, phases_h, phases_w, n_phases,
                      transposed_weight, planned):
    """(tiles per block, output-channel parts, phases per weight pass) of the Winograd
    kernel, for n images of cig -> cog channels per group; ``transposed_weight``: the weight
    is a transposed convolution's (output channels inner), which is transformed for several
    phases in one sweep. The block depends on the shapes only, the parts on them and the
    ``planned`` threads (:func:`planning_width`)."""
    per_tile = 9 * (cig + cog) * itemsize
    # Each block's 9 GEMMs repack the phase's transformed weights: blocks may hold half as
    # much as those weights, so that repacking stays a small share for wide layers.
    budget = max(WINOGRAD_BLOCK_BYTES, 9 * cig * cog * itemsize // 2)
    block = int(min(WINOGRAD_MAX_BLOCK, max(32, budget // per_tile))) // 16 * 16
    tiles_w = int((phases_w[:, PHASE_COUNT].max() + 1) // 2)
    tile_rows = n * int((phases_h[:, PHASE_COUNT].max() + 1) // 2)
    tiles = tile_rows * tiles_w
    # Blocks are whole tile rows; as many as the budget needs, then evened out (160 + 96
    # tiles on two threads ran at 1.5x one thread, 128 + 128 at 1.8x).
    rows_per_block = max(1, min(block, tiles) // tiles_w)
    rows_per_block = -(-tile_rows // -(-tile_rows // rows_per_block))
    block = rows_per_block * tiles_w
    co_parts = 1
    tasks = groups * math.ceil(tiles / block)
    if tasks < planned:
        # fewer tasks than threads (as the blocked col2im): split the output channels
        co_parts = max(1, min(math.ceil(planned / tasks), cog // 16))
    phases_per_pass = 1
    if transposed_weight:
        phases_per_pass = int(max(1, min(n_phases, WINOGRAD_PASS_BYTES
                                         // (winograd_phase_values(cig, cog, groups)
                                             * itemsize))))
    return block, co_parts, phases_per_pass


def skewed(values):
    """values rounded up to an odd multiple of 16: the row pitch of the Winograd kernel's
    buffers (pyx/_winograd.pyx, skewed: rows that far apart start in different cache sets)."""
    values = -(-values // 16) * 16
    return values + 16 if (values // 16) % 2 == 0 else values


def winograd_phase_values(cig, cog, groups):
    """Values of one phase's transformed weights as the kernel lays them out: per group, 9
    rows of C_out/groups blocks of C_in/groups values, each padded to a skewed pitch."""
    return groups * skewed(9 * cog * skewed(cig))


def pointwise_conv(kernel, stride, padding):
    """Whether a convolution is 1x1 at stride 1 with no padding: its columns are x itself
    (conv2d multiplies x where it lies, one image at a time, and does not band it)."""
    return tuple(kernel) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


def one_pixel_deconv(input_size, padding, output_padding, dilation):
    """Whether deconv2d's col2im method runs a transposed convolution as one GEMM per group
    straight into the output (``_im2col.deconv2d_one_pixel``): 1x1 maps with no padding,
    no output padding and dilation 1, whose columns would be the output itself."""
    return (tuple(input_size) == (1, 1) and tuple(padding) == (0, 0)
            and tuple(output_padding) == (0, 0) and tuple(dilation) == (1, 1))


def pointwise_deconv(kernel, stride, padding, output_padding):
    """Whether deconv2d's col2im method runs a transposed convolution as the 1x1 convolution
    with each group's weight read as its transpose where it lies (the kernels of
    ``suite._workspaces.conv2d_workspace``), or one of its special forms (planes scaled,
    rows streamed: :func:`thin_pointwise`): 1x1 kernels at stride 1 with no padding, whose
    columns would be the output itself."""
    return pointwise_conv(kernel, stride, padding) and tuple(output_padding) == (0, 0)


#: A 1x1 transposed convolution at stride 1 whose groups have at most this many output
#: channels runs as rows streamed (``_im2col.thin_planes``), float32 on CPUs with AVX-512:
#: over random layers of 2-512 input channels a group on maps of 4x4 to 80x80, 1-16
#: images, streaming ran 1.06-3.9x as fast as the product at 1-2 output channels a group
#: on one thread (geometric mean 1.73x), 1.15-9.3x on two (2.16x); at 3, 0.80-5.7x (1.47x:
#: slower where x stays in L2, the product's fused multiply-adds against the stream's
#: separate products and sums); on the portable loop against OpenBLAS, 0.42-3.4x at 1-3.
#: A product of so few rows fills a third of the own kernel's 6-row micro-tile or less
#: (docs/performance.md, item 100).
THIN_MAX_ROWS = 2


def thin_pointwise(c_in, groups, c_out_per_group, itemsize):
    """Whether :func:`pointwise_deconv`'s layer streams its rows (``_im2col.thin_planes``):
    float32, more than one input channel a group (one: planes scaled), at most
    THIN_MAX_ROWS output channels a group, and the stream's AVX-512 loop on this CPU."""
    from . import _im2col
    return (itemsize == 4 and c_in > groups and c_out_per_group <= THIN_MAX_ROWS
            and _im2col.thin_rows_isa() == "avx512")
