"""Build the compiled core of ``suite``: every ``pyx/*.pyx`` becomes ``suite.<name>``.

Environment switches (read at build time):

``SUITE_BOUNDSCHECK=1``   build with Cython bounds and wraparound checks on (the test build
                          for catching out-of-range indexing; slower).
``SUITE_REQUIRE_OPENMP=1`` fail instead of building a serial library when the compiler cannot
                          build and run an OpenMP program.
``SUITE_NO_OPENMP=1``     build without OpenMP on purpose.
``SUITE_CFLAGS``          extra compiler flags, e.g. ``-march=native`` for a build that will
                          only run on this machine (the default stays portable).
``SUITE_ANNOTATE=1``      write Cython's HTML annotation next to each ``.pyx``.
"""

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP_FLAG = "-fopenmp"
BASE_CFLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]

#: Loop heads aligned to a cache line, where the compiler accepts it. The same machine code
#: of a hot loop ran 10-15% slower or faster depending only on where it landed in its module
#: (docs/performance.md, item 20); aligned, the kernels' speed no longer depends on what else
#: a module holds.
ALIGN_FLAGS = ["-falign-loops=64"]

OPENMP_TEST_PROGRAM = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n);
        return n == omp_get_max_threads() ? 0 : 1;
    }
    """
)


def env_flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def openmp_works():
    """Compile, link and run a tiny OpenMP program with the compiler Python was built with."""
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "check_openmp.c")
        binary = os.path.join(tmp, "check_openmp")
        with open(source, "w") as f:
            f.write(OPENMP_TEST_PROGRAM)
        try:
            subprocess.run(compiler + [OPENMP_FLAG, source, "-o", binary], check=True,
                           capture_output=True)
            subprocess.run([binary], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            return False, str(exc)
    return True, ""


def accepted_flags(flags):
    """The flags among ``flags`` that the C compiler accepts (each tried on an empty file)."""
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    accepted = []
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "empty.c")
        with open(source, "w") as f:
            f.write("int main(void) { return 0; }\n")
        for flag in flags:
            try:
                subprocess.run(compiler + ["-Werror", flag, "-c", source, "-o",
                                           os.path.join(tmp, "empty.o")],
                               check=True, capture_output=True)
                accepted.append(flag)
            except (OSError, subprocess.CalledProcessError):
                pass
    return accepted


def openmp_flags():
    if env_flag("SUITE_NO_OPENMP"):
        print("suite: building without OpenMP (SUITE_NO_OPENMP is set)", file=sys.stderr)
        return []
    ok, why = openmp_works()
    if ok:
        return [OPENMP_FLAG]
    message = (
        "\n" + "*" * 78 + "\n"
        "suite: the C compiler could not build and run an OpenMP program:\n  " + why + "\n"
        "Building a SERIAL library: every kernel will run on one thread.\n"
        "Install an OpenMP runtime (libgomp, or libomp for clang) to get parallel kernels,\n"
        "or set SUITE_REQUIRE_OPENMP=1 to make this an error.\n" + "*" * 78
    )
    if env_flag("SUITE_REQUIRE_OPENMP"):
        raise SystemExit(message)
    print(message, file=sys.stderr)
    return []


def extensions():
    omp = openmp_flags()
    extra = shlex.split(os.environ.get("SUITE_CFLAGS", ""))
    cflags = BASE_CFLAGS + accepted_flags(ALIGN_FLAGS) + omp + extra
    boundscheck = env_flag("SUITE_BOUNDSCHECK")
    # What `python -m suite info` reports about this build.
    build_macros = [
        ("SUITE_BUILD_CFLAGS", '"%s"' % " ".join(cflags).replace('"', "")),
        ("SUITE_BUILD_BOUNDSCHECK", "1" if boundscheck else "0"),
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
    ]
    modules = []
    for source in sorted(glob(os.path.join("pyx", "*.pyx"))):
        name = os.path.splitext(os.path.basename(source))[0]
        modules.append(
            Extension(
                "suite." + name,
                [source],
                include_dirs=[numpy.get_include(), "pyx"],
                depends=sorted(glob(os.path.join("pyx", "*.h")) + glob(os.path.join("pyx", "*.pxi"))),
                define_macros=build_macros,
                extra_compile_args=cflags,
                extra_link_args=omp,
            )
        )
    directives = {
        "language_level": 3,
        "boundscheck": boundscheck,
        "wraparound": boundscheck,
        "initializedcheck": boundscheck,
        "cdivision": True,
        "embedsignature": True,
    }
    return cythonize(
        modules,
        include_path=["pyx"],
        compiler_directives=directives,
        annotate=env_flag("SUITE_ANNOTATE"),
        # The bounds-checked and the fast build keep their generated C apart, so switching
        # between them never reuses C generated with the other directives.
        build_dir=os.path.join("build", "cython-checked" if boundscheck else "cython"),
    )


setup(ext_modules=extensions())
