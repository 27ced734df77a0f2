"""The page's HTML pieces: its style sheet, the sortable-table script (inline: the page opens
from disk with no network), tables with human units and sortable raw values, folded long
tables, figures and notes.
"""

import html
import math

from .constants import CSV, NOT_MEASURED
from .units import format_number, missing

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;
margin:1.5em auto;padding:0 1em;color:#111;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;
margin-top:2.2em}h3{margin-bottom:.3em}
nav{columns:3;font-size:.9em;background:#f6f8fa;padding:.6em 1em;border-radius:4px}
nav a{display:block;text-decoration:none}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #d0d7de;padding:.25em .55em;text-align:right;vertical-align:top}
th{background:#eef4fa;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:after{content:" \\2195";color:#999;font-size:.8em}
table.sortable th[aria-sort=ascending]:after{content:" \\2191";color:#000}
table.sortable th[aria-sort=descending]:after{content:" \\2193";color:#000}
td.t,th.t{text-align:left}.nm{color:#888;font-style:italic}
td small{color:#555}.fail{color:#D55E00;font-weight:bold}
.scroll{overflow-x:auto;max-width:100%}figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#333}
.warn{background:#fff4e0;border-left:4px solid #E69F00;padding:.5em 1em;margin:.8em 0}
.q{font-style:italic;color:#333}code{background:#f4f4f4;padding:0 .2em}
details{margin:.5em 0}summary{cursor:pointer;color:#0060a0}
.meta{color:#444;font-size:.95em}
"""

#: Sorts a table.sortable by the clicked column: numbers by their raw value (data-v), text
#: alphabetically, missing figures last in either direction.
SORT_SCRIPT = """
(function () {
  function key(td) {
    var v = td.getAttribute('data-v');
    if (v !== null && v !== '') { var n = parseFloat(v); if (!isNaN(n)) { return n; } }
    if (td.classList.contains('nm')) { return null; }
    return td.textContent.trim().toLowerCase();
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (t) {
    if (!t.tHead) { return; }
    var heads = t.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      th.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = t.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[i]), y = key(b.cells[i]);
          if (x === null || y === null) { return (x === null) - (y === null); }
          var nx = typeof x === 'number', ny = typeof y === 'number';
          if (nx !== ny) { return nx ? -1 : 1; }
          var c = x < y ? -1 : (x > y ? 1 : 0);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""

#: Tables longer than this many rows are folded into a <details>.
FOLD_ROWS = 12
#: At most this many rows of a table are written (the CSV beside the page has them all).
MAX_ROWS = 500


def esc(text):
    return html.escape(str(text))


def _cell(value, fmt):
    if isinstance(value, str) or (fmt is None and not _is_number(value)):
        if missing(value):
            return f'<td class="t nm">{NOT_MEASURED}</td>'
        text = str(value)
        cls = "t nm" if text == NOT_MEASURED else ("t fail" if text == "failed" else "t")
        return f'<td class="{cls}">{esc(text)}</td>'
    if missing(value):
        return f'<td class="nm">{NOT_MEASURED}</td>'
    text = (fmt or format_number)(value)
    raw = float(value)
    data = f' data-v="{raw:.6g}"' if math.isfinite(raw) else ""
    return f"<td{data}>{esc(text)}</td>"


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def html_table(table, columns, formats=None, table_id=None, fold=None, summary=None,
               raw=()):
    """``table``'s ``columns`` ({column: header}) as a sortable HTML table: numbers in the
    units of ``formats[column]`` (default :func:`~.units.format_number`) and sortable by
    their raw value; text left-aligned; NaN reads "not measured". ``raw``: columns whose
    cells are ready HTML (a ``(html, sort value)`` pair). Longer than :data:`FOLD_ROWS` rows
    (or ``fold=True``) the table is folded under ``summary``; past :data:`MAX_ROWS` rows the
    rest is left to the CSV, and the page says so."""
    formats = formats or {}
    more = len(table) - MAX_ROWS
    if more > 0:
        table = table.iloc[:MAX_ROWS]
    attr = f' id="{esc(table_id)}"' if table_id else ""
    out = [f'<div class="scroll"><table class="sortable"{attr}><thead><tr>']
    for column, header in columns.items():
        cls = ' class="t"' if column in raw or not (
            column in formats or (column in table and _numeric(table[column]))) else ""
        out.append(f"<th{cls}>{esc(header)}</th>")
    out.append("</tr></thead><tbody>")
    for _, row in table.iterrows():
        cells = []
        for column in columns:
            value = row[column] if column in row else None
            if column in raw:
                markup, key = value if isinstance(value, tuple) else (value, None)
                data = f' data-v="{float(key):.6g}"' if key is not None and \
                    not missing(key) and math.isfinite(float(key)) else ""
                cells.append(f'<td class="t"{data}>{markup}</td>')
            else:
                cells.append(_cell(value, formats.get(column)))
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    if more > 0:
        out.append(f'<p class="nm">… and {more:,} more rows in {CSV}.</p>')
    markup = "".join(out)
    if fold or (fold is None and len(table) > FOLD_ROWS):
        return details(summary or f"table of {len(table):,} rows", markup)
    return markup


def _numeric(series):
    return series.dtype.kind in "iuf"


def details(summary, body, opened=False):
    return (f"<details{' open' if opened else ''}><summary>{esc(summary)}</summary>{body}"
            "</details>")


def note(text):
    """A one-line note (text is escaped)."""
    return f'<p class="nm">{esc(text)}</p>'


def warning(markup):
    """A highlighted box (``markup`` is HTML)."""
    return f'<div class="warn">{markup}</div>'


def img(b64, alt):
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{b64}">'
