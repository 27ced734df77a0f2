"""The environment a figure was measured in: the CPU (model, vector extensions), the BLAS the
kernels' GEMMs run on (library, version, kernel family), the variables that pin that BLAS
or set thread counts, the OpenMP runtime, and the packages' versions.

``python -m suite info`` prints it (:func:`describe`, :func:`environment_notes`,
:func:`format_environment`), ``python -m suite compare`` prints the same lines above its
figures, and the asv suite records :func:`describe` beside each campaign's results
(``benchmarks/bench_ceilings.py``, ``Environment``) for the report.

Why it matters: OpenBLAS picks its kernels for the CPU it finds, unless a variable such as
``OPENBLAS_CORETYPE`` names a family. A machine that sets ``OPENBLAS_CORETYPE=Haswell`` (old
containers do, for OpenBLAS bugs long fixed) runs AVX2 kernels on a CPU with AVX-512: half
the vector width, and on cores with full-width 512-bit units about half the GEMM rate (on
cores that split 512-bit instructions in two, such as AMD's Zen 4, much less). The notes say
so in plain words, :func:`measure_pin_cost` measures what the pin costs on this machine, and
nothing here ever changes a variable: the notes say how to run without it.

Only the standard library, SciPy (to load the BLAS its ``cython_blas`` calls) and
threadpoolctl are imported, never another module of the package: a history campaign loads
this file by path beside an older build, and ``python -m suite info`` needs no tool's
dependency. Run as a script (``python _environment.py --sgemm``) it prints one sgemm
measurement as JSON: that is how :func:`measure_pin_cost` times the BLAS without the pins.
"""

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

__all__ = ["BLAS_PINS", "THREAD_VARIABLES", "blas_description", "blas_libraries",
           "cpu_flags", "cpu_model", "describe", "environment_lines", "environment_notes",
           "format_environment", "kernel_family_isa", "measure_pin_cost", "record",
           "sgemm_gflops", "vector_extensions", "vector_width"]

#: Variables that pin a BLAS to one kernel family or cache size, and the library each acts
#: on: a machine that sets them runs every GEMM differently from one that does not.
BLAS_PINS = {"OPENBLAS_CORETYPE": "openblas", "OPENBLAS_L2_SIZE": "openblas",
             "MKL_ENABLE_INSTRUCTIONS": "mkl", "MKL_DEBUG_CPU_TYPE": "mkl",
             "BLIS_ARCH_TYPE": "blis"}

#: How the notes spell the libraries threadpoolctl names.
LIBRARY_NAMES = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}

#: Variables that set a default thread count (OMP_THREAD_LIMIT caps every OpenMP region).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "OPENBLAS_NUM_THREADS",
                    "GOTO_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

# ---------------------------------------------------------------------------------------
# the CPU
# ---------------------------------------------------------------------------------------

#: The vector extensions worth naming, in the order they are printed: (flag as
#: /proc/cpuinfo spells it, name, vector width in bits or None for an addition that does
#: not widen the vectors).
EXTENSIONS = (
    ("sse4_2", "SSE4.2", 128), ("avx", "AVX", 256), ("avx2", "AVX2", 256), ("fma", "FMA", None),
    ("avx_vnni", "AVX-VNNI", None), ("avx512f", "AVX-512F", 512), ("avx512dq", "AVX-512DQ", None),
    ("avx512cd", "AVX-512CD", None), ("avx512bw", "AVX-512BW", None),
    ("avx512vl", "AVX-512VL", None), ("avx512ifma", "AVX-512IFMA", None),
    ("avx512vbmi", "AVX-512VBMI", None), ("avx512_vnni", "AVX-512VNNI", None),
    ("avx512_bf16", "AVX-512BF16", None), ("avx512_fp16", "AVX-512FP16", None),
    ("amx_tile", "AMX-TILE", None), ("amx_bf16", "AMX-BF16", None),
    ("amx_int8", "AMX-INT8", None), ("amx_fp16", "AMX-FP16", None),
    ("asimd", "NEON", 128), ("sve", "SVE", None), ("sve2", "SVE2", None),
)


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _cpuinfo_field(cpuinfo, names):
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in names and value.strip():
            return value.strip()
    return None


def cpu_model(cpuinfo=None):
    """The CPU's model name: ``model name`` of ``/proc/cpuinfo`` (``cpuinfo``: its text, for
    tests), else what the platform module knows; "unknown" if nothing does."""
    cpuinfo = _read("/proc/cpuinfo") if cpuinfo is None else cpuinfo
    if cpuinfo:
        found = _cpuinfo_field(cpuinfo, ("model name", "hardware", "cpu model"))
        if found:
            return found
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                  capture_output=True, text=True, timeout=5,
                                  check=True).stdout.strip() or "unknown"
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags(cpuinfo=None):
    """The CPU's feature flags, lower case: the ``flags`` line of ``/proc/cpuinfo`` (x86) or
    its ``Features`` line (Arm). ``cpuinfo``: the file's text or one such line (tests).
    An empty set where there is no such file (other systems)."""
    cpuinfo = _read("/proc/cpuinfo") if cpuinfo is None else cpuinfo
    if not cpuinfo:
        return frozenset()
    found = _cpuinfo_field(cpuinfo, ("flags", "features"))
    return frozenset(found.lower().split()) if found else frozenset()


def vector_extensions(flags):
    """The names of :data:`EXTENSIONS` present in ``flags``, in that order."""
    return [name for flag, name, _ in EXTENSIONS if flag in flags]


def vector_width(flags):
    """The widest vectors ``flags`` offer, in bits (512 with AVX-512F, 256 with AVX, 128 with
    SSE2 or NEON); None when the flags are unknown."""
    widths = [width for flag, _, width in EXTENSIONS if width and flag in flags]
    if not widths and "sse2" in flags:
        widths = [128]
    return max(widths) if widths else None


def _isa_text(names, width):
    if not names:
        return "unknown on this system"
    return ", ".join(names) + (f" ({width}-bit vectors)" if width else "")


def _widest_name(names, width):
    """A short name of the CPU's widest vectors: "AVX-512", "AVX2", ... (or the width)."""
    for flag_name in ("AVX-512F", "AVX2", "AVX", "NEON", "SSE4.2"):
        if flag_name in names and (flag_name != "AVX-512F" or width == 512):
            return flag_name.replace("AVX-512F", "AVX-512")
    return f"{width}-bit vectors"


# ---------------------------------------------------------------------------------------
# the BLAS
# ---------------------------------------------------------------------------------------

#: Kernel families (OpenBLAS's core types, BLIS's configurations, MKL's instruction sets;
#: lower case) and the instruction set and vector width in bits their GEMM kernels use.
KERNEL_FAMILIES = {
    # OpenBLAS (threadpoolctl's "architecture", OPENBLAS_CORETYPE)
    "sapphirerapids": ("AVX-512 + AMX", 512), "cooperlake": ("AVX-512 + BF16", 512),
    "skylakex": ("AVX-512", 512), "haswell": ("AVX2", 256), "zen": ("AVX2", 256),
    "sandybridge": ("AVX", 256), "bulldozer": ("AVX", 256), "piledriver": ("AVX", 256),
    "steamroller": ("AVX", 256), "excavator": ("AVX", 256), "nehalem": ("SSE4.2", 128),
    "barcelona": ("SSE", 128), "core2": ("SSE", 128), "penryn": ("SSE", 128),
    "dunnington": ("SSE", 128), "prescott": ("SSE", 128), "atom": ("SSE", 128),
    "opteron": ("SSE", 128), "opteron_sse3": ("SSE", 128), "bobcat": ("SSE", 128),
    "armv8": ("NEON", 128), "cortexa53": ("NEON", 128), "cortexa57": ("NEON", 128),
    "cortexa72": ("NEON", 128), "neoversen1": ("NEON", 128), "neoversen2": ("SVE2", 128),
    "neoversev1": ("SVE", 256), "a64fx": ("SVE", 512), "thunderx2t99": ("NEON", 128),
    # BLIS (BLIS_ARCH_TYPE)
    "skx": ("AVX-512", 512), "knl": ("AVX-512", 512), "zen4": ("AVX-512", 512),
    "zen5": ("AVX-512", 512), "zen2": ("AVX2", 256), "zen3": ("AVX2", 256),
    # MKL (MKL_ENABLE_INSTRUCTIONS; MKL_DEBUG_CPU_TYPE=5 selects its AVX2 code)
    "avx512": ("AVX-512", 512), "avx512_e1": ("AVX-512", 512), "avx512_e2": ("AVX-512", 512),
    "avx512_e3": ("AVX-512", 512), "avx512_e4": ("AVX-512", 512), "avx2": ("AVX2", 256),
    "avx": ("AVX", 256), "sse4_2": ("SSE4.2", 128),
}

#: MKL_DEBUG_CPU_TYPE values whose code path is known.
MKL_DEBUG_CPU_TYPES = {"5": "avx2"}


def kernel_family_isa(family):
    """``(instruction set, vector bits)`` of a kernel family's GEMMs (any case), or
    ``(None, None)`` for a family not in :data:`KERNEL_FAMILIES`."""
    return KERNEL_FAMILIES.get(str(family or "").strip().lower(), (None, None))


def is_scipy_blas(filepath):
    """Whether the library at ``filepath`` is SciPy's own BLAS (the one
    ``scipy.linalg.cython_blas`` calls, which the kernels use): a file of SciPy's wheel."""
    import scipy

    scipy_home = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
    return os.path.abspath(filepath).startswith(os.path.join(scipy_home, "scipy"))


def blas_libraries():
    """threadpoolctl's description of every BLAS loaded in this process, SciPy's
    (:func:`is_scipy_blas`) first and marked ``"scipy": True``; SciPy's BLAS is loaded
    first."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS)
    from threadpoolctl import threadpool_info

    libraries = [dict(lib, scipy=is_scipy_blas(lib["filepath"]))
                 for lib in threadpool_info() if lib["user_api"] == "blas"]
    return sorted(libraries, key=lambda lib: not lib["scipy"])


def _blas_record(lib):
    family = lib.get("architecture") or None
    isa, width = kernel_family_isa(family)
    return dict(library=lib["internal_api"], version=lib.get("version") or None,
                kernels=family, kernel_isa=isa, kernel_width=width,
                threads=lib.get("num_threads"), path=lib["filepath"],
                threading=lib.get("threading_layer") or None)


def _blas_text(blas):
    text = f"{blas['library']} {blas['version'] or '?'}, {blas['kernels'] or 'unknown'} kernels"
    if blas["kernel_isa"]:
        text += f" ({blas['kernel_isa']}, {blas['kernel_width']}-bit)"
    return text


def _pins(environ):
    return {name: environ[name] for name in BLAS_PINS if environ.get(name)}


def blas_description(environ=None):
    """What the kernels' GEMMs run on, in one line: SciPy's BLAS (library, version, kernel
    family and its instruction set) and any variable of :data:`BLAS_PINS` set in
    ``environ`` (default ``os.environ``), e.g. ``openblas 0.3.30, SkylakeX kernels
    (AVX-512, 512-bit)`` or ``... Haswell kernels (AVX2, 256-bit) (pinned by
    OPENBLAS_CORETYPE=Haswell)``."""
    environ = os.environ if environ is None else environ
    libraries = blas_libraries()
    ours = [lib for lib in libraries if lib["scipy"]] or libraries
    text = "; ".join(_blas_text(_blas_record(lib)) for lib in ours)
    text = text or "no BLAS found by threadpoolctl"
    pins = _pins(environ)
    if pins:
        text += f" (pinned by {', '.join(f'{k}={v}' for k, v in pins.items())})"
    return text


# ---------------------------------------------------------------------------------------
# the whole description
# ---------------------------------------------------------------------------------------

#: Distributions whose versions are recorded when installed (found without importing them).
PACKAGES = ("suite", "numpy", "scipy", "threadpoolctl", "torch", "opencv-python",
            "opencv-python-headless", "opencv-contrib-python", "onnxruntime", "onnx",
            "openvino")


def _package_versions():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def describe(environ=None):
    """The environment as a JSON-ready dict:

    * ``cpu_model``, ``cpu_count``, ``machine`` (``platform.machine()``);
    * ``vector_extensions`` (names, :data:`EXTENSIONS`), ``vector_width`` (bits or None);
    * ``l2_cache`` (sysfs's text for CPU 0, e.g. ``"1024K"``, or None);
    * ``blas``: SciPy's BLAS: ``library``, ``version``, ``kernels`` (the family in use),
      ``kernel_isa``, ``kernel_width``, ``threads``, ``path``, ``threading``;
    * ``pins``: the variables of :data:`BLAS_PINS` set in ``environ``; ``thread_variables``:
      those of :data:`THREAD_VARIABLES`;
    * ``openmp``: the OpenMP runtimes loaded (library file name, version, threads);
    * ``packages``: the versions of :data:`PACKAGES` installed.
    """
    from threadpoolctl import threadpool_info

    environ = os.environ if environ is None else environ
    flags = cpu_flags()
    libraries = blas_libraries()
    blas = _blas_record(libraries[0]) if libraries else None
    openmp = [dict(library=os.path.basename(lib["filepath"]), version=lib.get("version"),
                   threads=lib.get("num_threads"))
              for lib in threadpool_info() if lib["user_api"] == "openmp"]
    l2 = _read("/sys/devices/system/cpu/cpu0/cache/index2/size")
    return dict(cpu_model=cpu_model(), cpu_count=os.cpu_count(), machine=platform.machine(),
                vector_extensions=vector_extensions(flags), vector_width=vector_width(flags),
                l2_cache=l2.strip() if l2 else None, blas=blas, pins=_pins(environ),
                thread_variables={k: environ[k] for k in THREAD_VARIABLES if environ.get(k)},
                openmp=openmp, packages=_package_versions())


def record(environ=None):
    """:func:`describe` as one compact JSON string (sorted keys): what the asv suite stores."""
    return json.dumps(describe(environ), sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------
# notes: pins and thread variables, in plain words
# ---------------------------------------------------------------------------------------

def _pinned_family(name, value):
    """The kernel family a pin variable's ``value`` selects (lower case), or None."""
    value = str(value).strip().lower()
    if name == "MKL_DEBUG_CPU_TYPE":
        return MKL_DEBUG_CPU_TYPES.get(value)
    if name in ("OPENBLAS_CORETYPE", "MKL_ENABLE_INSTRUCTIONS", "BLIS_ARCH_TYPE"):
        return value
    return None


def _first_int(value):
    try:
        return int(str(value).split(",")[0].strip())
    except ValueError:
        return None


def _pin_notes(description, environ):
    notes = []
    cpu_width = description.get("vector_width")
    cpu_isa = _widest_name(description.get("vector_extensions") or (), cpu_width)
    blas = description.get("blas") or {}
    for name, library in BLAS_PINS.items():
        value = environ.get(name)
        if not value:
            continue
        unset = f"To measure without it: env -u {name} python ... (suite never changes it)."
        if name == "OPENBLAS_L2_SIZE":
            l2 = description.get("l2_cache")
            notes.append(("note", f"{name}={value} overrides the L2 cache size OpenBLAS "
                                  f"detects and blocks its GEMMs for (this CPU's L2: "
                                  f"{l2 or 'unknown'} per core). {unset}"))
            continue
        family = _pinned_family(name, value)
        isa, width = kernel_family_isa(family)
        what = (f"{name}={value} pins {LIBRARY_NAMES[library]}"
                + (f" to its {isa} kernels ({width}-bit vectors)" if isa else ""))
        if blas.get("library") and blas["library"] != library:
            notes.append(("note", f"{name}={value} is set for {LIBRARY_NAMES[library]}, "
                                  f"but SciPy's BLAS is {blas['library']}: it does not "
                                  f"affect the kernels' GEMMs."))
        elif width is None or cpu_width is None:
            notes.append(("warning", f"{what}: kernels this program cannot rank against "
                                     f"the CPU; every GEMM-bound figure depends on it. "
                                     f"{unset}"))
        elif width < cpu_width:
            factor = cpu_width // width
            share = {2: "half", 4: "a quarter"}.get(factor, f"1/{factor} of")
            notes.append(("warning", f"{what} on a CPU with {cpu_isa} ({cpu_width}-bit "
                                     f"vectors): {share} the vector width, so up to "
                                     f"{factor}x less GEMM throughput (about that much on "
                                     f"cores with full-width {cpu_width}-bit units; less on "
                                     f"cores that split them). Every GEMM-bound figure "
                                     f"(convolutions, col2im and phase deconvolutions) is "
                                     f"measured with these kernels. {unset}"))
        elif width > cpu_width:
            notes.append(("warning", f"{what}, wider than the CPU's {cpu_width}-bit vectors: "
                                     f"instructions this CPU may not have. {unset}"))
        else:
            notes.append(("note", f"{what}, as wide as the CPU's: figures follow the "
                                  f"variable, not the CPU. {unset}"))
    return notes


def _thread_notes(description, environ, threads):
    notes = []
    cpus = description.get("cpu_count") or 1
    wanted = max(threads) if threads else None
    limit = _first_int(environ.get("OMP_THREAD_LIMIT", ""))
    if limit is not None and limit < (wanted or cpus):
        target = f"this run's {wanted} threads" if wanted else f"the {cpus} CPUs"
        notes.append(("warning", f"OMP_THREAD_LIMIT={limit} caps every OpenMP region "
                                 f"(suite's kernels and OpenMP-based peers) below {target}: "
                                 f"figures for more threads run on {limit}. To measure "
                                 f"without it: env -u OMP_THREAD_LIMIT python ..."))
    for name in THREAD_VARIABLES:
        value = _first_int(environ.get(name, ""))
        if name == "OMP_THREAD_LIMIT" or value is None or value >= (wanted or cpus):
            continue
        affects = ("the default thread count of suite's kernels (num_threads=None), of "
                   "OpenBLAS and of PyTorch" if name == "OMP_NUM_THREADS"
                   else "the default thread count of the BLAS it names (suite's kernels "
                        "hold BLAS at one thread and thread through OpenMP)")
        if wanted:
            notes.append(("note", f"{name}={environ[name]} sets {affects} below this run's "
                                  f"{wanted} threads; the run passes its thread counts "
                                  f"explicitly (num_threads=, set_num_threads, "
                                  f"intra_op_num_threads), so its figures are not capped."))
        else:
            notes.append(("note", f"{name}={environ[name]} sets {affects} to {value} of the "
                                  f"{cpus} CPUs."))
    return notes


def environment_notes(description, environ, threads=None):
    """``[(level, text)]``, level ``"warning"`` or ``"note"``: every variable of ``environ``
    (a mapping; tests pass their own) that pins the BLAS (:data:`BLAS_PINS`: below the
    CPU's vector width is a warning) or sets a thread count (:data:`THREAD_VARIABLES`;
    ``threads``: the run's thread counts, None for a program that passes none), in plain
    words with how to run without it. ``description``: :func:`describe`'s dict (its
    ``vector_width``, ``vector_extensions``, ``blas``, ``cpu_count`` and ``l2_cache``)."""
    return _pin_notes(description, environ) + _thread_notes(description, environ, threads)


# ---------------------------------------------------------------------------------------
# what a pin costs, measured
# ---------------------------------------------------------------------------------------

SGEMM_SIZE = 512
SGEMM_SECONDS = 0.08


def sgemm_gflops(n=SGEMM_SIZE, seconds=SGEMM_SECONDS):
    """GFLOP/s of SciPy's sgemm on two n x n matrices, one BLAS thread: the best call of
    about ``seconds`` of calls (the best, not the median: other work on the machine only
    slows calls down). Returns ``{"gflops": ..., "kernels": family}``."""
    import numpy as np
    from scipy.linalg import blas
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((n, n), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((n, n), dtype=np.float32))
    with threadpool_limits(limits=1, user_api="blas"):
        blas.sgemm(1.0, a, b)
        best = float("inf")
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            blas.sgemm(1.0, a, b)
            best = min(best, time.perf_counter() - t0)
    libraries = blas_libraries()
    return dict(gflops=2 * n ** 3 / best / 1e9,
                kernels=libraries[0].get("architecture") if libraries else None)


def measure_pin_cost(environ=None, timeout=20):
    """sgemm on one thread (:func:`sgemm_gflops`) in this process and in a fresh one started
    without the variables of :data:`BLAS_PINS`: ``{"pinned": {...}, "unpinned": {...}}``, or
    None when no pin is set or the fresh process fails. The variables of this process are
    left as they are."""
    environ = dict(os.environ if environ is None else environ)
    if not _pins(environ):
        return None
    child_env = {k: v for k, v in environ.items() if k not in BLAS_PINS}
    try:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--sgemm"],
                              capture_output=True, text=True, timeout=timeout, env=child_env)
        unpinned = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return dict(pinned=sgemm_gflops(), unpinned=unpinned)


def _pin_cost_text(cost):
    pinned, free = cost["pinned"], cost["unpinned"]
    ratio = pinned["gflops"] / free["gflops"]
    verdict = (f"the pin costs {100 * (1 - ratio):.0f}% of the GEMM rate here"
               if ratio < 0.9 else "the pin costs nothing measurable on this CPU"
               if ratio < 1.1 else "the pinned kernels are faster here")
    return (f"measured now (sgemm {SGEMM_SIZE}^3, one thread, best call of "
            f"{SGEMM_SECONDS * 1e3:.0f} ms): {pinned['gflops']:.0f} GFLOP/s with the pin "
            f"({pinned['kernels']} kernels), {free['gflops']:.0f} without it "
            f"({free['kernels']} kernels, OpenBLAS's own choice): x{ratio:.2f}, {verdict}")


def format_environment(description, notes=(), pin_cost=None):
    """The lines ``info`` and ``compare`` print: the CPU, its vector extensions, the BLAS,
    the OpenMP runtime, then each note of :func:`environment_notes` and the measured
    cost of a pin (:func:`measure_pin_cost`)."""
    flags_text = _isa_text(description.get("vector_extensions"),
                           description.get("vector_width"))
    blas = description.get("blas")
    blas_text = _blas_text(blas) if blas else "no BLAS found by threadpoolctl"
    if description.get("pins"):
        blas_text += " (pinned by " + ", ".join(f"{k}={v}" for k, v in
                                                 description["pins"].items()) + ")"
    openmp = ", ".join(f"{r['library']}" + (f" {r['version']}" if r.get("version") else "")
                       for r in description.get("openmp") or ()) or "not loaded"
    lines = [f"CPU: {description['cpu_model']} ({description['cpu_count']} CPUs, "
             f"{description['machine']})",
             f"vector extensions: {flags_text}",
             f"BLAS of the kernels' GEMMs: {blas_text}",
             f"OpenMP runtime: {openmp}"]
    lines += [f"{level.upper() if level == 'warning' else level}: {text}"
              for level, text in notes]
    if pin_cost is not None:
        lines.append(f"  {_pin_cost_text(pin_cost)}")
    return lines


def environment_lines(environ=None, threads=None):
    """What ``info`` and ``compare`` print about the environment: :func:`describe`, every
    note of :func:`environment_notes` (``threads``: the run's thread counts) and, when a
    variable pins the BLAS, what the pin costs (:func:`measure_pin_cost`)."""
    environ = os.environ if environ is None else environ
    description = describe(environ)
    notes = environment_notes(description, environ, threads)
    cost = measure_pin_cost(environ) if description["pins"] else None
    return format_environment(description, notes, cost)


if __name__ == "__main__" and sys.argv[1:] == ["--sgemm"]:
    print(json.dumps(sgemm_gflops()))
