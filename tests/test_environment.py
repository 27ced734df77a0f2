"""The environment a figure was measured in (suite._environment): the CPU's vector extensions
read from /proc/cpuinfo lines, the BLAS and its kernel family, and the notes on variables
that pin the BLAS or set thread counts. Environments are passed as mappings: no test reads
or changes the variables of this process."""

import json
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

from suite import _environment as E

# /proc/cpuinfo flag lines of real CPUs (abridged to the flags that matter and a few others)
ZEN4 = ("flags\t\t: fpu vme sse sse2 ht syscall nx mmxext pni pclmulqdq ssse3 fma cx16 "
        "sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor avx2 bmi2 erms "
        "avx512f avx512dq rdseed adx avx512ifma clflushopt clwb avx512cd sha_ni avx512bw "
        "avx512vl xsaveopt avx512_bf16 clzero avx512vbmi umip avx512_vbmi2 gfni vaes "
        "avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm")
HASWELL = ("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov sse sse2 "
           "ss ht syscall nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq ssse3 fma cx16 "
           "pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm "
           "fsgsbase bmi1 avx2 smep bmi2 erms invpcid xsaveopt")
SAPPHIRE_RAPIDS = ("flags\t\t: sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx_vnni avx512f "
                   "avx512dq avx512cd avx512bw avx512vl avx512ifma avx512vbmi avx512_vnni "
                   "avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8 avx512_vbmi2")
SSE_ONLY = "flags\t\t: fpu sse sse2 ssse3 sse4_1 cx16"
NEOVERSE_V1 = ("Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
               "cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve "
               "asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16")


@pytest.mark.parametrize("line, names, width", [
    (ZEN4, ["SSE4.2", "AVX", "AVX2", "FMA", "AVX-512F", "AVX-512DQ", "AVX-512CD", "AVX-512BW",
            "AVX-512VL", "AVX-512IFMA", "AVX-512VBMI", "AVX-512VNNI", "AVX-512BF16"], 512),
    (HASWELL, ["SSE4.2", "AVX", "AVX2", "FMA"], 256),
    (SAPPHIRE_RAPIDS, ["SSE4.2", "AVX", "AVX2", "FMA", "AVX-VNNI", "AVX-512F", "AVX-512DQ",
                       "AVX-512CD", "AVX-512BW", "AVX-512VL", "AVX-512IFMA", "AVX-512VBMI",
                       "AVX-512VNNI", "AVX-512BF16", "AVX-512FP16", "AMX-TILE", "AMX-BF16",
                       "AMX-INT8"], 512),
    (SSE_ONLY, [], 128),
    (NEOVERSE_V1, ["NEON", "SVE"], 128),
    ("", [], None),
], ids=["zen4", "haswell", "sapphire-rapids", "sse2", "neoverse-v1", "empty"])
def test_vector_extensions_from_cpuinfo_lines(line, names, width):
    flags = E.cpu_flags(line)
    assert E.vector_extensions(flags) == names
    assert E.vector_width(flags) == width


def test_flags_and_model_from_a_whole_cpuinfo():
    text = ("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n"
            + ZEN4 + "\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9R14\n" + HASWELL + "\n")
    assert E.cpu_model(text) == "AMD EPYC 9R14"
    flags = E.cpu_flags(text)          # the first processor's line
    assert "avx512f" in flags and "invpcid" not in flags


def test_kernel_families_rank_by_width():
    assert E.kernel_family_isa("SkylakeX") == ("AVX-512", 512)
    assert E.kernel_family_isa("HASWELL") == ("AVX2", 256)
    assert E.kernel_family_isa("zen3") == ("AVX2", 256)            # BLIS
    assert E.kernel_family_isa("AVX512_E1") == ("AVX-512", 512)    # MKL
    assert E.kernel_family_isa("NotACore") == (None, None)
    assert E.kernel_family_isa(None) == (None, None)


def _machine(flags_line=ZEN4, library="openblas", kernels="SkylakeX"):
    """A description as describe() makes it, for a CPU and a BLAS chosen by the test."""
    flags = E.cpu_flags(flags_line)
    isa, width = E.kernel_family_isa(kernels)
    return dict(cpu_model="test CPU", cpu_count=2, machine="x86_64",
                vector_extensions=E.vector_extensions(flags), vector_width=E.vector_width(flags),
                l2_cache="1024K", pins={}, thread_variables={}, openmp=[], packages={},
                blas=dict(library=library, version="1", kernels=kernels, kernel_isa=isa,
                          kernel_width=width, threads=2, path="/lib/x.so", threading=None))


def _levels(notes):
    return [level for level, _ in notes]


def test_a_pin_below_the_cpu_is_a_warning_that_says_what_it_costs():
    notes = E.environment_notes(_machine(kernels="Haswell"), {"OPENBLAS_CORETYPE": "Haswell",
                                                             "PATH": "/bin"})
    assert _levels(notes) == ["warning"]
    text = notes[0][1]
    assert "OPENBLAS_CORETYPE=Haswell" in text and "AVX2" in text and "AVX-512" in text
    assert "half the vector width" in text and "2x less GEMM throughput" in text
    assert "env -u OPENBLAS_CORETYPE" in text


@pytest.mark.parametrize("environ, flags_line, library, levels, words", [
    ({"OPENBLAS_CORETYPE": "SkylakeX"}, ZEN4, "openblas", ["note"], "as wide as the CPU's"),
    ({"OPENBLAS_CORETYPE": "Haswell"}, HASWELL, "openblas", ["note"], "as wide as the CPU's"),
    ({"OPENBLAS_CORETYPE": "Sandybridge"}, SAPPHIRE_RAPIDS, "openblas", ["warning"],
     "half the vector width"),
    ({"OPENBLAS_CORETYPE": "Nehalem"}, ZEN4, "openblas", ["warning"], "a quarter the vector"),
    ({"OPENBLAS_CORETYPE": "SkylakeX"}, HASWELL, "openblas", ["warning"], "wider than"),
    ({"OPENBLAS_CORETYPE": "Mystery"}, ZEN4, "openblas", ["warning"], "cannot rank"),
    ({"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, ZEN4, "mkl", ["warning"], "pins MKL to its AVX2"),
    ({"MKL_DEBUG_CPU_TYPE": "5"}, ZEN4, "mkl", ["warning"], "pins MKL to its AVX2"),
    ({"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, ZEN4, "openblas", ["note"], "does not affect"),
    ({"BLIS_ARCH_TYPE": "haswell"}, ZEN4, "blis", ["warning"], "pins BLIS"),
    ({"OPENBLAS_L2_SIZE": "262144"}, ZEN4, "openblas", ["note"], "L2 cache size"),
    ({"HOME": "/root", "OPENBLAS_CORETYPE": ""}, ZEN4, "openblas", [], ""),
])
def test_pins_in_plain_words(environ, flags_line, library, levels, words):
    notes = E.environment_notes(_machine(flags_line, library), environ)
    assert _levels(notes) == levels
    assert all(words in text for _, text in notes)


def test_thread_variables_against_the_run():
    machine = _machine()
    capped = E.environment_notes(machine, {"OMP_THREAD_LIMIT": "1"}, threads=[1, 2])
    assert _levels(capped) == ["warning"] and "run on 1" in capped[0][1]
    assert E.environment_notes(machine, {"OMP_THREAD_LIMIT": "2"}, threads=[1, 2]) == []
    below = E.environment_notes(machine, {"OMP_NUM_THREADS": "1"}, threads=[1, 2])
    assert _levels(below) == ["note"] and "not capped" in below[0][1]
    default = E.environment_notes(machine, {"OPENBLAS_NUM_THREADS": "1"})
    assert _levels(default) == ["note"] and "1 of the 2 CPUs" in default[0][1]
    assert E.environment_notes(machine, {"OMP_NUM_THREADS": "4,2"}, threads=[2]) == []
    assert E.environment_notes(machine, {"OMP_NUM_THREADS": "junk"}, threads=[2]) == []


def test_the_blas_of_the_gemms_is_named():
    # what SciPy's BLAS reports, and the variables that pin it, as given (never set here)
    families = {lib.get("architecture") for lib in threadpool_info() if lib["user_api"] == "blas"}
    text = E.blas_description(environ={})
    assert "kernels" in text and "pinned" not in text
    assert any(family and f"{family} kernels" in text for family in families), (text, families)
    pinned = E.blas_description(environ={"OPENBLAS_CORETYPE": "Haswell",
                                         "OPENBLAS_L2_SIZE": "", "PATH": "/bin"})
    assert pinned.endswith("(pinned by OPENBLAS_CORETYPE=Haswell)")


def test_describe_is_json_and_names_this_machine():
    description = json.loads(E.record(environ={}))
    assert description["cpu_model"] == E.cpu_model()
    assert description["cpu_count"] == os.cpu_count()
    assert description["pins"] == {} and description["thread_variables"] == {}
    assert description["blas"]["library"] in ("openblas", "mkl", "blis")
    assert description["packages"]["numpy"] and description["packages"]["scipy"]
    lines = E.format_environment(description)
    assert lines[0].startswith(f"CPU: {description['cpu_model']} (")
    assert lines[2].startswith("BLAS of the kernels' GEMMs: ")


def test_the_pin_cost_is_measured_only_under_a_pin():
    assert E.measure_pin_cost(environ={"PATH": "/bin"}) is None
    measured = E.sgemm_gflops(n=64, seconds=0.01)
    assert measured["gflops"] > 0
    families = {lib.get("architecture") for lib in threadpool_info() if lib["user_api"] == "blas"}
    assert measured["kernels"] in families
    cost = dict(pinned=dict(gflops=60.0, kernels="Haswell"),
                unpinned=dict(gflops=120.0, kernels="SkylakeX"))
    lines = E.format_environment(_machine(kernels="Haswell"), [], cost)
    assert "x0.50, the pin costs 50% of the GEMM rate here" in lines[-1]


def test_the_sgemm_script_prints_json():
    # the fresh process measure_pin_cost starts, with this process's variables unchanged
    done = subprocess.run([sys.executable, E.__file__, "--sgemm"], capture_output=True,
                          text=True, timeout=60, check=True)
    assert json.loads(done.stdout)["gflops"] > 0


def test_info_names_the_environment():
    info = subprocess.run([sys.executable, "-m", "suite", "info"], capture_output=True,
                          text=True, check=True, timeout=120).stdout
    assert f"CPU: {E.cpu_model()} (" in info
    assert "vector extensions: " in info
    assert "BLAS of the kernels' GEMMs: " in info
