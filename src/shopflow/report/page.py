"""The page around the sections: one HTML file that carries plotly.js and checks its own drawing.

Nothing on the page is fetched: the plotly bundle is inlined once in ``<head>`` and every figure
is a ``<div>`` plus an inline ``Plotly.newPlot`` call. A small script collects script errors and
console errors from the first byte on, waits for every figure to draw, writes what it found into
``#render-status`` (JSON) and shows a banner when a chart did not draw or a script failed. The
browser test reads that element; a reader sees the banner.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

#: Plotly options for every figure: no link to plotly.com in the mode bar.
PLOT_CONFIG = {"displaylogo": False, "responsive": True}

# ------------------------------------------------------------------------------ formatting


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA: a mart's null."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA refuses to be a bool
        return True


def fmt_count(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def fmt_money(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value):,.2f}"


def fmt_rate(value: Any, digits: int = 2) -> str:
    return "—" if _missing(value) else f"{100 * float(value):.{digits}f}%"


def fmt_metric(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value):.4f}"


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def data_value(value: Any) -> str:
    """The exact value for a ``data-value`` attribute: integers as integers, floats unrounded."""
    import numpy as np

    if _missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


# ------------------------------------------------------------------------------ building blocks


@dataclass
class Section:
    """One numbered section: a title, a one-line reading, notes and HTML blocks (figures, tables)."""

    number: int
    key: str
    title: str
    reading: str = ""
    notes: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    n_figures: int = 0

    def note(self, text: str) -> None:
        """A condition the reader must know (no data, no purchases, a mart missing)."""
        self.notes.append(text)

    def caption(self, text: str) -> None:
        """How to read what follows (definitions), shown in small print."""
        self.blocks.append(f'<p class="caption">{esc(text)}</p>')

    def add(self, block: str) -> None:
        self.blocks.append(block)

    def figure(self, fig, div_id: str, height: int) -> None:
        """Add a plotly figure drawn from the inline bundle (never include_plotlyjs here)."""
        import plotly.io as pio

        fig.update_layout(height=height)
        self.blocks.append(
            '<div class="figure">'
            + pio.to_html(
                fig,
                full_html=False,
                include_plotlyjs=False,
                div_id=div_id,
                config=PLOT_CONFIG,
                default_height=f"{height}px",
                default_width="100%",
            )
            + "</div>"
        )
        self.n_figures += 1

    def render(self) -> str:
        notes = "".join(f'<p class="note">{esc(n)}</p>' for n in self.notes)
        reading = f'<p class="reading">{esc(self.reading)}</p>' if self.reading else ""
        return (
            f'<section id="{self.key}" data-section="{self.number}" data-figures="{self.n_figures}">'
            f"<h2>{self.number}. {esc(self.title)}</h2>{reading}{notes}{''.join(self.blocks)}</section>"
        )


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "") -> str:
    """A plain HTML table; a cell given as (text, attrs) carries attributes such as data-value."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, tuple):
                text, attrs = cell
                extra = "".join(f' {k}="{esc(v)}"' for k, v in attrs.items())
                cells.append(f"<td{extra}>{esc(text)}</td>")
            else:
                cells.append(f"<td>{esc(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    cls = f' class="{esc(css)}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ------------------------------------------------------------------------------ the page

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2f6fb0; --warn: #b54708; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; background: #f7f9fb; }
header { background: #102a43; color: #f0f4f8; padding: 18px 32px; }
header h1 { margin: 0 0 6px 0; font-size: 24px; }
header .meta { font-size: 13px; color: #bcccdc; }
header .meta span { margin-right: 18px; display: inline-block; }
nav { padding: 8px 32px; background: #243b53; font-size: 13px; }
nav a { color: #d9e2ec; margin-right: 14px; text-decoration: none; }
main { padding: 8px 32px 40px 32px; max-width: 1500px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 20px; margin: 18px 0; }
h2 { font-size: 19px; margin: 4px 0 6px 0; }
h3 { font-size: 15px; margin: 14px 0 4px 0; color: var(--muted); }
.reading { font-size: 15px; margin: 4px 0 10px 0; }
.note { background: #fff8e6; border-left: 4px solid #f0b429; padding: 6px 10px; font-size: 14px; margin: 6px 0; }
.caption { color: var(--muted); font-size: 13px; margin: 4px 0; }
.figure { margin: 8px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
table.headline td.definition { text-align: left; color: var(--muted); max-width: 520px; }
table.headline td.figure-value { font-weight: 600; font-size: 15px; }
table.checks td, table.checks th { text-align: left; }
td.status-pass { color: #18794e; } td.status-fail, td.status-error { color: #b42318; font-weight: 600; }
#render-banner { display: none; background: #fde8e8; color: #9b1c1c; padding: 10px 32px; font-weight: 600; }
#render-status { display: none; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px 32px; }
"""

# Installed before the plotly bundle so that errors raised while it loads are caught too.
_ERROR_HOOKS = """
window.__shopflowErrors = [];
window.addEventListener("error", function (e) {
  var where = e.target && e.target !== window && (e.target.src || e.target.href);
  window.__shopflowErrors.push(where ? "failed to load " + where
    : "error: " + (e.message || "unknown") + (e.filename ? " at " + e.filename + ":" + e.lineno : ""));
  if (window.__shopflowReport) { window.__shopflowReport(true); }
}, true);
window.addEventListener("unhandledrejection", function (e) {
  window.__shopflowErrors.push("unhandled rejection: " + (e.reason && (e.reason.stack || e.reason)));
  if (window.__shopflowReport) { window.__shopflowReport(true); }
});
(function () {
  var original = console.error;
  console.error = function () {
    window.__shopflowErrors.push("console.error: " + Array.prototype.slice.call(arguments).join(" "));
    return original.apply(console, arguments);
  };
})();
"""

# Plotly draws asynchronously (newPlot returns a promise the inline scripts do not expose), so the
# check polls until every figure has its SVG or the time limit passes.
_RENDER_CHECK = """
(function () {
  var done = false;
  function collect() {
    var status = { sections: {}, errors: window.__shopflowErrors.slice(), resources: [], pending: 0 };
    try {
      status.resources = performance.getEntriesByType("resource").map(function (r) { return r.name; });
    } catch (err) { status.errors.push("performance API: " + err); }
    document.querySelectorAll("section[data-section]").forEach(function (s) {
      var expected = Number(s.getAttribute("data-figures"));
      var drawn = 0, figures = s.querySelectorAll(".plotly-graph-div");
      figures.forEach(function (g) {
        var box = g.getBoundingClientRect();
        if (g._fullLayout && g.querySelector("svg.main-svg") && box.width > 0 && box.height > 0) { drawn++; }
      });
      status.pending += Math.max(0, expected - drawn);
      status.sections[s.getAttribute("data-section")] = {
        id: s.id, expected: expected, figures: figures.length, drawn: drawn,
        notes: s.querySelectorAll(".note").length
      };
    });
    return status;
  }
  function publish(status) {
    status.complete = status.pending === 0;
    status.height = document.documentElement.scrollHeight;
    document.getElementById("render-status").textContent = JSON.stringify(status);
    var ok = status.complete && status.errors.length === 0 && status.resources.length === 0;
    document.body.setAttribute("data-render", ok ? "ok" : "failed");
    var banner = document.getElementById("render-banner");
    if (!ok) {
      var parts = [];
      if (!status.complete) { parts.push(status.pending + " chart(s) did not draw"); }
      if (status.errors.length) { parts.push(status.errors.length + " script error(s): " + status.errors[0]); }
      if (status.resources.length) { parts.push("the page fetched " + status.resources.join(", ")); }
      banner.textContent = "This dashboard did not render cleanly: " + parts.join("; ");
      banner.style.display = "block";
    }
  }
  window.__shopflowReport = function (late) { if (done || !late) { publish(collect()); } };
  var tries = 0;
  function poll() {
    var status = collect();
    if (status.pending === 0 || tries >= 100) { done = true; publish(status); return; }
    tries += 1;
    setTimeout(poll, 100);
  }
  if (document.readyState === "complete") { poll(); } else { window.addEventListener("load", poll); }
})();
"""


def render_page(*, title: str, meta: Sequence[tuple[str, str]], sections: Sequence[Section],
                notes: Sequence[str] = (), generated_at: dt.datetime | None = None) -> str:
    """The whole page as one string, plotly.js inlined once."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    bundle = get_plotlyjs()
    # An inline script ends at the first "</script"; the bundle has none today, but a future
    # release must not be able to cut the page short.
    bundle = bundle.replace("</script", "<\\/script")
    generated = (generated_at or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    meta_html = "".join(f"<span>{esc(k)}: <b>{esc(v)}</b></span>" for k, v in meta)
    nav = "".join(f'<a href="#{s.key}">{s.number}. {esc(s.title)}</a>' for s in sections)
    page_notes = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    body = "".join(s.render() for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="shopflow report">
<title>{esc(title)}</title>
<style>{_CSS}</style>
<script>{_ERROR_HOOKS}</script>
<script>{bundle}</script>
</head>
<body data-render="pending">
<header><h1>{esc(title)}</h1><div class="meta">{meta_html}<span>generated: <b>{generated}</b></span></div></header>
<div id="render-banner"></div>
<nav>{nav}</nav>
<main>{page_notes}{body}</main>
<footer>One self-contained file: plotly.js {esc(get_plotlyjs_version())} is embedded; nothing is fetched.
Figures come from the warehouse marts and the MLflow tracking store at the time shown above.</footer>
<pre id="render-status" hidden>{{}}</pre>
<script>{_RENDER_CHECK}</script>
</body>
</html>
"""
