"""What every figure of the report shares: the matplotlib setup (Agg), one panel per machine,
legends outside the axes, labels placed where they cover neither data nor each other, and the
encoding of a figure as a small PNG (a 256-colour palette image) for the page.
"""

import base64
import io

import numpy as np

from .constants import PALETTE

#: Pixels per inch of the PNGs: a 12-inch-wide figure is 1080 px, the page's width.
DPI = 90
MARKERS = "osD^v<>p*h"


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
                         "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 11,
                         "legend.frameon": False, "figure.dpi": DPI})
    return plt


def figure(width=12.0, height=4.5, ncols=1, nrows=1, **kwargs):
    fig, axes = pyplot().subplots(nrows, ncols, figsize=(width, height), squeeze=False,
                                  **kwargs)
    return fig, axes


def machine_panels(machines, panel_width=6.0, panel_height=4.0, max_columns=2, **kwargs):
    """One axes per machine (``{machine: ax}``), ``max_columns`` a row; spare axes hidden.
    A single machine gets a wider panel."""
    n = max(len(machines), 1)
    if n == 1:
        panel_width *= 1.6
    ncols = min(n, max_columns)
    nrows = -(-n // ncols)
    fig, axes = figure(panel_width * ncols, panel_height * nrows, ncols=ncols, nrows=nrows,
                       **kwargs)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, dict(zip(machines, flat))


def colour(i):
    return PALETTE[i % len(PALETTE)]


def marker(i):
    return MARKERS[(i // len(PALETTE)) % len(MARKERS)]


def legend_above(fig, handles, labels, ncol=None, title=None):
    """One legend for the whole figure, in a band added above the axes (never over data);
    returns the fraction of the (now taller) figure the band takes, for :func:`encode`'s
    ``top``."""
    if not handles:
        return 0.0
    width, height = fig.get_size_inches()
    ncol = max(1, min(ncol or 4, len(labels), int(width // 1.75)))
    rows = -(-len(labels) // ncol) + (1 if title else 0)
    band = 0.22 * rows + 0.2
    fig.set_size_inches(width, height + band)
    fig.legend(handles, labels, loc="upper center", ncol=ncol, title=title,
               bbox_to_anchor=(0.5, 1.0), fontsize=9, title_fontsize=9)
    return band / (height + band)


def note(ax, text):
    """``text`` in the middle of an empty panel."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=11,
            color="#666", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def human_log_axis(ax, axis, formatter, lo=None, hi=None):
    """Ticks of a log ``axis`` ("x" or "y") at 1, 2, 5 x 10^k (or finer, for a narrow
    range) labelled ``formatter(value)``: "100 GFLOP/s", "0.5×", never "6×10^-1"."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    get = ax.get_xlim if axis == "x" else ax.get_ylim
    low, high = get()
    low, high = (lo or low), (hi or high)
    if not (low > 0 and high > 0):
        return
    ticks = []
    for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
                 (1.0, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)):
        ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(low))) - 1,
                                               int(np.ceil(np.log10(high))) + 1)
                 for m in subs if low <= m * 10.0 ** e <= high]
        if len(ticks) >= 3:
            break
    if len(ticks) > 6:        # a wide range: every second or third decade
        ticks = ticks[::-(-len(ticks) // 5)]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(FuncFormatter(lambda v, _: formatter(v)))
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())


def place_labels(ax, xs, ys, labels, fontsize=7):
    """Annotate the points (``xs``, ``ys``) with ``labels``, each at the first of a few
    offsets where its box overlaps neither an earlier label nor another point; a label with
    no free place is left out (the tables give every figure). Call it on the final layout
    (:func:`layout`), then :func:`encode` with ``laid_out=True``."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    points = ax.transData.transform(np.column_stack([xs, ys]))
    taken = []
    offsets = [(5, 4, "left", "bottom"), (5, -4, "left", "top"), (-5, 4, "right", "bottom"),
               (-5, -4, "right", "top"), (0, 9, "center", "bottom"),
               (0, -9, "center", "top"), (12, 14, "left", "bottom"),
               (-12, -14, "right", "top")]
    placed = 0
    for (px, py), text in zip(points, labels):
        for dx, dy, ha, va in offsets:
            ann = ax.annotate(text, ax.transData.inverted().transform((px, py)),
                              xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                              fontsize=fontsize, color="#222",
                              arrowprops=(dict(arrowstyle="-", lw=0.5, color="#888")
                                          if abs(dx) > 6 or abs(dy) > 10 else None))
            box = ann.get_window_extent(renderer).expanded(1.05, 1.1)
            inside_axes = ax.get_window_extent(renderer).contains(box.x0, box.y0) and \
                ax.get_window_extent(renderer).contains(box.x1, box.y1)
            hits_point = any(box.contains(qx, qy) for qx, qy in points
                             if (qx, qy) != (px, py))
            if inside_axes and not hits_point and not any(box.overlaps(t) for t in taken):
                taken.append(box)
                placed += 1
                break
            ann.remove()
    return placed


def layout(fig, top=0.0):
    """Lay the axes out below a legend band of ``top`` (a fraction of the height)."""
    fig.tight_layout(rect=(0, 0, 1, 1 - top))


def encode(fig, top=0.0, laid_out=False):
    """``fig`` laid out below a legend band of ``top`` (unless ``laid_out``: labels were
    placed on the final layout) as a base64 PNG with a 256-colour palette (a fraction of the
    size of a full-colour PNG, the same to the eye); closes the figure."""
    from PIL import Image

    plt = pyplot()
    if not laid_out:
        layout(fig, top)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    buf.seek(0)
    image = Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                    dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")
