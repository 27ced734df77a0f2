"""Reading the report page as a reader would: its tables as text (:func:`page_tables`) and
what headless Chromium makes of it.

:func:`inspect_page` loads a copy of the page with two probes added: one at the top of
``<head>`` that records every script error and ``console.error`` call, one at the end that
(after the load event) counts the images and those that decoded (``naturalWidth > 0``),
clicks a sortable table's numeric column header and checks the rows came back in order. The
browser dumps the DOM, and the probes' findings are read back from ``<body>`` attributes.
:func:`screenshot` keeps a picture of the page.
"""

import html.parser
import os
import re
import shutil
import subprocess

import pytest


class _Tables(html.parser.HTMLParser):
    """Every <table> of a page as rows of cell texts (``<br>`` as a newline), by id."""

    def __init__(self):
        super().__init__()
        self.tables, self._id, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._id = attrs.get("id") or f"table{len(self.tables)}"
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "br" and self._cell is not None:
            self._cell += "\n"

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._id].append(self._row)
            self._row = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def page_tables(page):
    """``{table id: [[header cells], [cells], ...]}`` of an HTML page."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables

ERRORS = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
(function () {
  var original = console.error;
  console.error = function () {
    window.__errors.push(Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
</script>"""

CHECK = """<script>
window.addEventListener('load', function () {
  var body = document.body;
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  body.setAttribute('data-imgs', imgs.length);
  body.setAttribute('data-imgs-ok', ok.length);
  // sort the first sortable table that has a column of raw numbers, by that column
  var sorted = 'none';
  var tables = document.querySelectorAll('table.sortable');
  for (var t = 0; t < tables.length && sorted === 'none'; t++) {
    var rows = tables[t].tBodies[0].rows;
    if (rows.length < 3) { continue; }
    for (var c = 0; c < rows[0].cells.length; c++) {
      if (rows[0].cells[c].getAttribute('data-v') === null) { continue; }
      tables[t].tHead.rows[0].cells[c].click();
      var values = Array.prototype.map.call(tables[t].tBodies[0].rows, function (r) {
        var v = r.cells[c].getAttribute('data-v');
        return v === null ? null : parseFloat(v);
      }).filter(function (v) { return v !== null; });
      sorted = 'yes';
      for (var i = 1; i < values.length; i++) {
        if (values[i] < values[i - 1]) { sorted = 'no'; }
      }
      break;
    }
  }
  body.setAttribute('data-sorted', sorted);
  body.setAttribute('data-errors', JSON.stringify(window.__errors));
});
</script>"""


def browser():
    """The path of a Chromium-like browser, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require_browser():
    """Skip the test without a browser, unless SUITE_REQUIRE_OPTIONAL=1 (CI installs one):
    then its absence fails the test."""
    if browser() is None:
        if os.environ.get("SUITE_REQUIRE_OPTIONAL") == "1":
            pytest.fail("no headless browser (chromium) installed, and "
                        "SUITE_REQUIRE_OPTIONAL=1 requires one")
        pytest.skip("no headless browser installed (apt-get install chromium)")


def _flags(profile):
    return ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--virtual-time-budget=10000",
            "--enable-logging=stderr", "--v=0"]


def inspect_page(path, tmp_path):
    """Load ``path`` (an HTML file) in the browser; return a dict: ``images``,
    ``images_ok``, ``sorted`` ("yes" / "no" / "none": no numeric sortable table),
    ``errors`` (script errors and console errors, from the probe and the browser's log)."""
    page = path.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    head = page.index("<head>") + len("<head>")
    probe.write_text(page[:head] + ERRORS + page[head:].replace("</body>", CHECK + "</body>"),
                     encoding="utf-8")
    dom = subprocess.run([browser(), *_flags(tmp_path / "profile"), "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=300)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = {}
    for name in ("imgs", "imgs-ok", "sorted", "errors"):
        match = re.search(rf'data-{name}="([^"]*)"', dom.stdout)
        assert match, f"probe {name} missing: {dom.stdout[-1000:]}"
        found[name] = match.group(1)
    logged = [line for line in dom.stderr.splitlines()
              if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    errors = found["errors"].replace("&quot;", '"')
    return dict(images=int(found["imgs"]), images_ok=int(found["imgs-ok"]),
                sorted=found["sorted"], errors=([] if errors == "[]" else [errors]) + logged)


def screenshot(path, shot, tmp_path, height=6000):
    """A ``1280 x height`` picture of the page at ``path``, saved as ``shot`` and, when
    SUITE_TEST_ARTIFACTS names a directory, copied there (CI keeps it)."""
    proc = subprocess.run([browser(), *_flags(tmp_path / "profile-shot"),
                           f"--window-size=1280,{height}", f"--screenshot={shot}",
                           path.as_uri()], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    artifacts = os.environ.get("SUITE_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(shot, os.path.join(artifacts, shot.name))
    return shot
