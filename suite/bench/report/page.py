"""The HTML page: a registry of sections, the context they share, and :func:`build_report`,
which writes ``index.html`` with the tidy frame beside it as ``results.csv.gz``.

A section is a :class:`Section` (an anchor ``key``, a ``title``, the ``question`` it answers
and a ``render(frame, context) -> html`` function) in :data:`SECTIONS`, in page order; add
one with :func:`register`. A section whose data the results lack raises
:class:`~.constants.NotMeasured` and the page says, in one line, "not measured in these
results" and why; a section that fails otherwise is reported on the page and by
:func:`build_report` (the rest of the page is still written).
"""

import datetime as _dt
import os
import platform
import traceback
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from . import overview as O
from . import sections as S
from .constants import CSV, PAGE, NotMeasured
from .derive import machines
from .load import UNKNOWN, environment_frame
from .markup import CSS, SORT_SCRIPT, esc, img, note, warning
from .names import commit_label
from .units import plural


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    render: Callable
    question: str = ""


#: The page's sections, in order.
SECTIONS = [
    Section("headline", "In short: the cheapest way to enlarge each layer", O.headline,
            "For each layer, which of deconvolution, nearest, bilinear and upsample + "
            "convolution costs least in time, FLOPs, parameters and memory, and by how "
            "much?"),
    Section("environment", "Machines and their environment", O.environment,
            "What ran the benchmarks: CPU, vector extensions, BLAS and its kernels, OpenMP, "
            "versions."),
    Section("machines", "Machines side by side", O.machines_side_by_side,
            "How do the machines compare on the same benchmarks, and what are their "
            "ceilings?"),
    Section("costs", "Deconvolution vs upsampling, layer by layer", S.costs,
            "What does each way of enlarging a layer cost, in the model and measured?"),
    Section("scaling", "Thread scaling", S.scaling,
            "How much faster does each kernel get with more threads?"),
    Section("roofline", "Roofline", S.roofline,
            "How close does each kernel come to its machine's measured limits?"),
    Section("peers", "suite vs peers", S.peers,
            "Is suite faster than PyTorch, OpenCV, ONNX Runtime, OpenVINO and NumPy on the "
            "same layers and data?"),
    Section("sweep", "Layers never tuned on", S.sweep,
            "Does suite keep its lead on layers drawn at random rather than the catalogue's?"),
    Section("history", "History over commits", S.history,
            "Did a commit make a kernel faster or slower?"),
    Section("checkerboard", "Checkerboard overlap", S.checkerboard,
            "Which deconvolution geometries overlap unevenly?"),
    Section("profile", "Where the time goes", S.where_the_time_goes,
            "Which stage of each kernel takes the time?"),
    Section("missing", "Failed and not measured", O.not_measured,
            "What did the campaign not measure, and what failed?"),
    Section("methodology", "Methodology", O.methodology, "How were these figures made?"),
]


def register(section, after=None):
    """Add ``section`` to the page after the section keyed ``after`` (default: before the
    methodology); a section with the same key is replaced."""
    keys = [s.key for s in SECTIONS]
    if section.key in keys:
        SECTIONS[keys.index(section.key)] = section
        return
    index = keys.index(after) + 1 if after in keys else (
        keys.index("missing") if "missing" in keys else len(SECTIONS))
    SECTIONS.insert(index, section)


#: The packages whose versions the methodology lists: name -> the distributions that
#: install it.
REPORT_PACKAGES = {"suite": ("suite",), "numpy": ("numpy",), "scipy": ("scipy",),
                   "pandas": ("pandas",), "matplotlib": ("matplotlib",), "asv": ("asv",),
                   "threadpoolctl": ("threadpoolctl",), "torch": ("torch",),
                   "cv2": ("opencv-python", "opencv-python-headless", "opencv-contrib-python"),
                   "onnxruntime": ("onnxruntime",), "openvino": ("openvino",)}


@dataclass
class Context:
    """What sections share: the machines' ``environment`` (one row per machine,
    :func:`~.load.environment_frame`'s columns), the ``machines`` of the results (sorted),
    the loader's ``problems``, the
    ``results_dir`` (None when unknown), tables computed once (:meth:`cached`) and the
    figures (:meth:`figure`, which numbers them)."""

    environment: pd.DataFrame
    machines: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    results_dir: str = None
    figures: int = 0
    failures: list = field(default_factory=list)
    _cache: dict = field(default_factory=dict)

    def cached(self, name, compute):
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def machine_label(self, machine):
        """``vm (AMD EPYC, 2 cores)``: the machine with what its environment says."""
        env = self.environment
        row = env[env["machine"] == machine] if len(env) else env
        if row is None or row.empty:
            return str(machine)
        row = row.iloc[0]
        parts = [row["cpu"]] if row["cpu"] != UNKNOWN else []
        if not pd.isna(row["cores"]):
            parts.append(plural(row["cores"], "core"))
        return f"{machine} ({', '.join(parts)})" if parts else str(machine)

    def figure(self, b64, alt, caption):
        """A numbered figure with its caption (``b64``: a PNG from :mod:`.figures`)."""
        if b64 is None:
            return note(f"{alt}: not measured in these results")
        self.figures += 1
        return (f"<figure>{img(b64, alt)}<figcaption><b>Figure {self.figures}.</b> "
                f"{esc(caption)}</figcaption></figure>")

    @staticmethod
    def report_versions():
        """Versions of the packages in the environment that builds the page (from their
        installed metadata: nothing is imported)."""
        from importlib import metadata

        out = {}
        for name, distributions in REPORT_PACKAGES.items():
            out[name] = "not installed"
            for distribution in distributions:
                try:
                    out[name] = metadata.version(distribution)
                    break
                except metadata.PackageNotFoundError:
                    continue
        out["python"] = platform.python_version()
        return out


def _render(section, frame, context):
    try:
        body = section.render(frame, context)
    except NotMeasured as exc:
        body = note(f"Not measured in these results ({', '.join(context.machines)}): {exc}.")
    except Exception as exc:  # one broken section must not lose the page
        context.failures.append(f"section {section.title!r}: {type(exc).__name__}: {exc}")
        body = warning(f"<b>This section could not be drawn</b> "
                       f"({esc(type(exc).__name__)}: {esc(exc)}).<details><summary>"
                       f"traceback</summary><pre>{esc(traceback.format_exc())}</pre>"
                       "</details>")
    question = f"<p class='q'>{esc(section.question)}</p>" if section.question else ""
    return (f"<section id='{esc(section.key)}'><h2>{esc(section.title)}</h2>{question}"
            f"{body}</section>")


def _header(frame, context):
    names = machines(frame)
    commits = frame.sort_values("date")[["commit", "date"]].drop_duplicates("commit")
    machine_list = "; ".join(esc(context.machine_label(m)) for m in names)
    commit_list = ", ".join(esc(commit_label(c, d)) for c, d in
                            zip(commits["commit"], commits["date"]))
    out = [f"<h1>Deconvolution vs upsampling on the CPU</h1><p class='meta'>"
           f"{len(names)} machine{'s' if len(names) != 1 else ''}: {machine_list}. "
           f"{commits['commit'].nunique()} commit{'s' if len(commits) != 1 else ''}: "
           f"{commit_list}. {len(frame):,} results from {frame['file'].nunique()} asv "
           f"results file{'s' if frame['file'].nunique() != 1 else ''}; built "
           f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by <code>python -m suite "
           f"report</code>; every figure as a table: <a href='{CSV}'>{CSV}</a>.</p>"]
    if context.problems:
        out.append(warning("<b>Input problems</b> (skipped; the page is built from the "
                           "rest):<ul>" + "".join(f"<li>{esc(p)}</li>"
                                                  for p in context.problems) + "</ul>"))
    out.append("<nav>" + "".join(f"<a href='#{esc(s.key)}'>{esc(s.title)}</a>"
                                 for s in SECTIONS) + "</nav>")
    return "".join(out)


def render_page(frame, context):
    """The whole page as a string."""
    body = [_render(section, frame, context) for section in SECTIONS]
    head = _header(frame, context)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>suite: deconvolution vs upsampling, benchmark report</title>"
            f"<style>{CSS}</style></head><body>{head}\n" + "\n".join(body)
            + f"<script>{SORT_SCRIPT}</script></body></html>")


def build_report(frame, problems, out_dir, environment=None, results_dir=None):
    """Write ``index.html`` and ``results.csv.gz`` (the tidy frame, gzip-compressed) into
    ``out_dir``; return the HTML path. ``environment``: one row per machine
    (:func:`~.load.environment_frame`; default: the machine fields of ``frame``).
    :func:`build` also returns the sections that could not be drawn."""
    return build(frame, problems, out_dir, environment, results_dir)[0]


def build(frame, problems, out_dir, environment=None, results_dir=None):
    """:func:`build_report`, returning ``(html path, failures)``: the sections that could
    not be drawn (each a one-line description; the page shows them)."""
    os.makedirs(out_dir, exist_ok=True)
    if environment is None:
        environment = environment_frame(frame=frame)
    context = Context(environment=environment, machines=machines(frame),
                      problems=list(problems), results_dir=results_dir)
    page = render_page(frame, context)
    frame.to_csv(os.path.join(out_dir, CSV), index=False, float_format="%.7g",
                 compression={"method": "gzip", "compresslevel": 9, "mtime": 0})
    path = os.path.join(out_dir, PAGE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path, context.failures
