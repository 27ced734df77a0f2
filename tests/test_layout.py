"""The package's layers point one way (docs/design.md, "Layout").

validation -> geometry -> planning -> compiled kernels -> API -> benchmarking tools: a module
imports only modules of lower layers (lazy imports inside functions included), ``import
suite`` loads none of the tools or their dependencies, and a command whose optional
dependencies are missing says in one line what to install.
"""

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "suite")

#: Each module of the package and its layer (lower layers never import higher ones). The
#: compiled extensions (``suite._*`` built from pyx/) import no Python module of the package.
LAYERS = {
    "suite._buildinfo": 0,
    "suite._environment": 0,
    "suite._timing": 0,
    "suite._version": 0,
    "suite._outputs": 0.5,
    "suite._validation": 1,
    "suite.geometry": 2,
    "suite.checkerboard": 2,
    "suite.collapse": 2.5,
    "suite._plan": 3,
    "suite._workspaces": 3.25,
    "suite._cost_base": 3.5,
    "suite.cost": 4,
    "suite.reference": 0,
    "suite._threads": 4,
    "suite.stage_costs": 4.25,
    "suite.wisdom": 4.5,
    "suite.profiling": 4.5,
    "suite.upsample": 5,
    "suite.conv": 5,
    "suite.fused": 6,
    "suite.layers": 6.5,
    "suite": 7,
    "suite.bench": 8,
    "suite.__main__": 9,
}
TOOLS = 8  # suite.bench and everything under it


def _python_modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                yield ".".join(parts), path


def _imports(module, path):
    """The package modules ``module`` imports anywhere in its source (absolute names)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    is_package = path.endswith("__init__.py")
    base = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "suite")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[:len(base) - node.level + 1]
                target = ".".join(target + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "suite":
                continue
            if node.module:
                found.add(target)
            # "from . import cost" imports the submodule suite.cost (a name that is not a
            # module, as in "from .conv import deconv2d", has no layer and is skipped)
            found.update(f"{target}.{a.name}" for a in node.names)
    return found


def _layer(module):
    if module == "suite.bench" or module.startswith("suite.bench."):
        return TOOLS
    return LAYERS.get(module)


def _known(module):
    return _layer(module) is not None


def test_every_module_has_a_layer():
    unknown = [m for m, _ in _python_modules() if _layer(m) is None]
    assert not unknown, f"give these modules a layer in tests/test_layout.py: {unknown}"


def test_imports_point_down():
    wrong = []
    for module, path in _python_modules():
        for target in _imports(module, path):
            if not _known(target) or target == module:
                continue   # a compiled extension, a name imported from a module, or itself
            if _layer(target) > _layer(module) or (
                    _layer(target) == _layer(module) and _layer(module) != TOOLS):
                wrong.append(f"{module} (layer {_layer(module)}) imports {target} "
                             f"(layer {_layer(target)})")
    assert not wrong, "\n".join(wrong)


def test_the_reference_stays_independent():
    # The oracle must not share code with what it checks.
    path = os.path.join(PACKAGE, "reference.py")
    assert _imports("suite.reference", path) == set()


def _run(code, *args):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


#: Loads the tools' timing loops by file path, as a history campaign of asv does, in a
#: process where no module of the package can be imported.
_TIMING_BY_PATH = """
import importlib.util, sys
sys.modules["suite"] = None      # import suite (or anything under it) now fails
spec = importlib.util.spec_from_file_location("timing_by_path", sys.argv[1])
timing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(timing)
calls = []
assert timing.median_seconds(lambda: calls.append(1), 0.001, min_calls=3) >= 0
assert len(calls) >= 4 and timing.timed(lambda: None, 5) >= 0
assert timing.calibrate(lambda: None, 0.001) >= 1
order = []
medians = timing.alternating_medians({"a": lambda: order.append("a"),
                                      "b": lambda: order.append("b")}, 0.001, blocks=2)
assert set(medians) == {"a", "b"} and all(m >= 0 for m in medians.values())
# blocks of calls, one contestant after the other, twice: a a a a b b b b a ...
runs = [order[0]] + [y for x, y in zip(order, order[1:]) if x != y]
assert runs == ["a", "b", "a", "b"] and order.count("a") >= 8, order
print(sorted(m for m in sys.modules if m.startswith("suite") and sys.modules[m] is not None))
"""


def test_timing_loops_load_by_path_beside_any_build():
    # one home for the loops (suite/_timing.py, standard library only), reached from
    # suite/bench/timing.py also when that file is loaded by path without the package
    assert _imports("suite._timing", os.path.join(PACKAGE, "_timing.py")) == set()
    result = _run(_TIMING_BY_PATH, os.path.join(PACKAGE, "bench", "timing.py"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_suite_loads_no_tools():
    code = ("import sys, suite; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'matplotlib', 'torch', 'cv2', 'asv', 'asv_runner', 'onnxruntime', "
            "'openvino') or m.startswith('suite.bench'))))")
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# A finder that makes pandas and matplotlib look absent, as after a plain pip install.
_HIDE = """
import sys, importlib.abc
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('pandas', 'matplotlib'):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Hide())
from suite.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("args", [["report", "--help"], ["report"], ["profile", "--help"]])
def test_report_without_its_dependencies_says_what_to_install(args):
    result = _run(_HIDE, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pandas" in lines[0] and 'pip install "suite[bench]"' in lines[0]


def test_compare_help_names_the_command():
    result = _run("import sys; from suite.__main__ import main; sys.exit(main(sys.argv[1:]))",
                  "compare", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m suite compare")
