"""The self-contained HTML page of a run's report (tables, embedded PNG plots, no server).

Layout: provenance header and links to the summary files; headline table (metrics as rows,
methods as columns, so it fits a narrow window); definitions; every pT threshold; plots in a
grid that falls to one column on a narrow window; a sortable per-event table; stage costs;
sections contributed by stages (:mod:`trackrec.report.sections`); failed events. Numbers
are formatted by :func:`format_number` everywhere: fractions with 3 decimals, counts as
integers with thousands separators, and every mean carries its number of events.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackrec.report.sections import ReportSection
from trackrec.report.summary import MetricsSettings

_STYLE = """
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
  margin: 0 auto; padding: 1rem clamp(0.6rem, 3vw, 2rem) 3rem; max-width: 80rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.2rem;
  border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
p, li, dd { max-width: 60rem; }
a { color: #0550ae; }
.meta { color: #444; font-size: 0.92rem; margin: 0.2rem 0; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: 0.6rem 0 1rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.35em 0.65em; border-bottom: 1px solid #e4e4e7; text-align: right;
  vertical-align: top; }
th { background: #f4f4f6; font-weight: 600; font-size: 0.9rem; line-height: 1.3; }
th:first-child, td:first-child { text-align: left; }
td.label { text-align: left; max-width: 28rem; }
td.cut { white-space: nowrap; }
table.per-event td:nth-child(2), table.per-event th:nth-child(2) { text-align: left; }
.n, .sd { color: #6b6b70; font-size: 0.8em; white-space: nowrap; }
.sd { display: block; }
.missing { color: #999; }
.figures { display: grid; gap: 1.2rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 32rem), 1fr)); }
figure { margin: 0; }
figure img { display: block; width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.88rem; color: #444; margin-top: 0.3rem; }
dl.defs { display: grid; grid-template-columns: minmax(9rem, 16rem) 1fr; gap: 0.35rem 1rem;
  font-size: 0.93rem; }
dl.defs dt { font-weight: 600; }
dl.defs dd { margin: 0; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable::after { content: " \\2195"; color: #999; }
th[data-order="asc"]::after { content: " \\2191"; color: #333; }
th[data-order="desc"]::after { content: " \\2193"; color: #333; }
.fail { color: #a00; }
details pre { overflow-x: auto; background: #f7f7f9; padding: 0.6rem; font-size: 0.82rem; }
@media (max-width: 760px) {
  body { font-size: 15px; }
  th, td { padding: 0.3em 0.4em; }
  dl.defs { grid-template-columns: 1fr; }
  dl.defs dd { margin-left: 1rem; }
}
"""

_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.classList.add("sortable");
    th.addEventListener("click", function () {
      var ascending = th.dataset.order !== "asc";
      table.querySelectorAll("th").forEach(function (h) { delete h.dataset.order; });
      th.dataset.order = ascending ? "asc" : "desc";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.v, y = b.cells[column].dataset.v;
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
        if (isNaN(nx) !== isNaN(ny)) { order = isNaN(nx) ? 1 : -1; }
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value: object, kind: str = "auto") -> str:
    """One number as the report writes it.

    ``kind``: ``"fraction"`` (3 decimals: 0.548), ``"count"`` (integer with thousands
    separators: 4,090; below 10 one decimal: 3.5), ``"seconds"`` (2 decimals), or
    ``"auto"`` (integers as counts, others with 3 significant digits). NaN/None: an en dash.
    """
    if not _finite(value):
        return "–"
    x = float(value)  # type: ignore[arg-type]
    if kind == "fraction":
        return f"{x:.3f}"
    if kind == "count" or (kind == "auto" and x == round(x) and abs(x) < 1e15):
        return f"{x:,.0f}" if abs(x) >= 10 or x == round(x) else f"{x:.1f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if kind == "seconds":
        return f"{x:.2f}"
    return f"{x:.3g}"


def format_mean(
    stats: Mapping[str, float] | None,
    kind: str,
    *,
    stacked: bool = False,
    usual_n: int | None = None,
) -> str:
    """``mean ± std`` (both formatted alike) and the number of events, as HTML.

    ``stacked``: the ``± std`` on a second, smaller line, and ``n`` only where it differs
    from ``usual_n`` (a table whose caption gives the usual number).
    """
    if not stats or not _finite(stats.get("mean")):
        return '<span class="missing">–</span>'
    mean = format_number(stats["mean"], kind)
    std = format_number(stats.get("std"), kind)
    n = int(stats.get("n", 0))
    if stacked:
        count = "" if n == usual_n else f" · n={n}"
        return f'{mean}<span class="sd">± {std}{count}</span>'
    return f'{mean} ± {std} <span class="n">n={n}</span>'


def _esc(text: object) -> str:
    return html.escape(str(text))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table in a horizontally scrollable box (the page itself never scrolls sideways)."""
    head_html = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    klass = f' class="{css}"' if css else ""
    return (
        f'<div class="table-wrap"><table{klass}><thead><tr>{head_html}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _cut(t: float) -> str:
    return f"p<sub>T</sub> ≥ {t:g} GeV"


@dataclass(frozen=True)
class Headline:
    """One row of a metrics table: its label and how its numbers are formatted."""

    label: str
    key: str
    kind: str = "fraction"


def headline_rows(settings: MetricsSettings) -> list[Headline]:
    """The headline table's rows at the headline threshold of ``settings``."""
    rows = [Headline("TrackML score", "trackml_score")]
    t = settings.headline_pt
    if t is not None:
        s = f"pt{t:g}"
        cut = _cut(t)
        rows += [
            Headline(f"double-majority efficiency, {cut}", f"eff_dm_{s}"),
            Headline(f"perfect-match efficiency, {cut}", f"eff_perfect_{s}"),
            Headline(f"LHC-match purity (&gt; 75% of hits), {cut}", f"eff_lhc_{s}"),
            Headline(f"fake rate, {cut}", f"fake_rate_{s}"),
            Headline(f"duplicate rate, {cut}", f"duplicate_rate_{s}"),
            Headline(f"particles of interest per event, {cut}", f"n_particles_{s}", "count"),
            Headline(f"selected tracks per event, {cut}", f"n_tracks_{s}", "count"),
        ]
    hits = settings.min_track_hits
    rows += [
        Headline("fake rate, all tracks", "fake_rate_all"),
        Headline(
            f"tracks per event (≥ {hits} hits)" if hits else "tracks per event", "n_tracks", "count"
        ),
        Headline("hits per event", "n_hits", "count"),
    ]
    return rows


def _headline_table(
    methods: Mapping[str, Mapping[str, Mapping[str, float]]], settings: MetricsSettings
) -> str:
    names = list(methods)
    rows = []
    for row in headline_rows(settings):
        if not any(row.key in methods[m] for m in names):
            continue
        cells = [f'<td class="label">{row.label}</td>']
        cells += [f"<td>{format_mean(methods[m].get(row.key), row.kind)}</td>" for m in names]
        rows.append(cells)
    return _table(["metric (mean ± std over events)", *map(_esc, names)], rows)


_THRESHOLD_COLUMNS = (
    ("particles of interest / event", "n_particles", "count"),
    ("selected tracks / event", "n_tracks", "count"),
    ("double-majority eff.", "eff_dm", "fraction"),
    ("perfect-match eff.", "eff_perfect", "fraction"),
    ("LHC purity", "eff_lhc", "fraction"),
    ("fake rate", "fake_rate", "fraction"),
    ("duplicate rate", "duplicate_rate", "fraction"),
)


def _threshold_tables(
    methods: Mapping[str, Mapping[str, Mapping[str, float]]], settings: MetricsSettings
) -> str:
    parts = []
    for method, metrics in methods.items():
        n_events = int(max((s.get("n", 0) for s in metrics.values()), default=0))
        rows = []
        for t in settings.pt_thresholds:
            cells = [f'<td class="cut">{_cut(t)}</td>']
            for _, key, kind in _THRESHOLD_COLUMNS:
                stats = metrics.get(f"{key}_pt{t:g}")
                cells.append(f"<td>{format_mean(stats, kind, stacked=True, usual_n=n_events)}</td>")
            rows.append(cells)
        head = ["cut", *(label for label, _, _ in _THRESHOLD_COLUMNS)]
        caption = (
            f'<p class="meta">Mean ± std over its {n_events} events (n shown where a value is '
            "defined in fewer).</p>"
        )
        parts.append(f"<h3>{_esc(method)}</h3>{caption}" + _table(head, rows))
    return "".join(parts)


def _definitions(settings: MetricsSettings) -> str:
    eta = f"|η| &lt; {settings.max_abs_eta:g}" if settings.max_abs_eta is not None else "|η| cut"
    hits = settings.min_track_hits
    track = f"at least {hits} hits" if hits else "at least <code>min_track_hits</code> hits"
    items = [
        ("particle of interest (at a threshold t)", f"reconstructable (≥ 3 hits on distinct "
         f"layers), {eta} and p<sub>T</sub> ≥ t."),
        ("track", f"hits sharing a track id, {track}; smaller groups are not tracks."),
        ("majority particle", "the particle with most hits in the track (smallest id on ties); "
         "a track with at least as many noise hits is noise-majority."),
        ("selected tracks", "tracks whose majority particle is a particle of interest and that "
         "are not noise-majority: tracks of low-p<sub>T</sub> particles, of non-reconstructable "
         "particles and of noise are neither fakes nor good tracks at t."),
        ("double-majority efficiency", "fraction of particles of interest with a track holding "
         "&gt; 50% of the particle's hits, &gt; 50% of the track being the particle's."),
        ("perfect-match efficiency", "fraction of particles of interest with a track holding "
         "exactly the particle's hits."),
        ("LHC purity", "fraction of selected tracks with &gt; 75% of their hits from their "
         "majority particle (the literature's “LHC efficiency”)."),
        ("fake rate", "fraction of selected tracks without a double-majority match (the "
         "literature's definition); “all tracks”: over every track, whatever its particle."),
        ("duplicate rate", "among tracks with &gt; 50% of their hits from a particle of "
         "interest, the fraction that are extra copies of a particle already found."),
        ("TrackML score", "the official score of the Kaggle challenge (hit-weighted)."),
        ("uncertainties", "tables: mean ± standard deviation over events, with the number of "
         "events n (events where a ratio is undefined are not counted); plots: counts summed "
         "over events, 68% Wilson intervals; arrows mark open bins."),
    ]  # fmt: skip
    body = "".join(f"<dt>{term}</dt><dd>{text}</dd>" for term, text in items)
    return f'<dl class="defs">{body}</dl>'


_PER_EVENT_COLUMNS = (
    ("hits", "n_hits", "count"),
    ("particles of interest", "n_particles", "count"),
    ("tracks", "n_tracks", "count"),
    ("selected tracks", "n_tracks_sel", "count"),
    ("TrackML score", "trackml_score", "fraction"),
    ("double-majority eff.", "eff_dm", "fraction"),
    ("perfect-match eff.", "eff_perfect", "fraction"),
    ("fake rate", "fake_rate", "fraction"),
    ("duplicate rate", "duplicate_rate", "fraction"),
)


def per_event_keys(settings: MetricsSettings) -> dict[str, str]:
    """Column id of the per-event table -> metric key (at the headline threshold)."""
    t = settings.headline_pt
    s = f"_pt{t:g}" if t is not None else ""
    return {
        "n_hits": "n_hits",
        "n_particles": f"n_particles{s}",
        "n_tracks": "n_tracks",
        "n_tracks_sel": f"n_tracks{s}",
        "trackml_score": "trackml_score",
        "eff_dm": f"eff_dm{s}",
        "eff_perfect": f"eff_perfect{s}",
        "fake_rate": f"fake_rate{s}",
        "duplicate_rate": f"duplicate_rate{s}",
    }


def _cell(value: object, kind: str) -> str:
    raw = f"{float(value):.6g}" if _finite(value) else ""  # type: ignore[arg-type]
    return f'<td data-v="{raw}">{format_number(value, kind)}</td>'


def _per_event_table(
    per_event: Mapping[str, Mapping[str, Mapping[str, float]]], settings: MetricsSettings
) -> str:
    keys = per_event_keys(settings)
    rows = []
    for method, events in per_event.items():
        for event, values in events.items():
            cells = [f'<td data-v="{_esc(method)}">{_esc(method)}</td>']
            cells.append(f'<td data-v="{_esc(event)}">{_esc(event)}</td>')
            cells += [_cell(values.get(keys[c]), kind) for _, c, kind in _PER_EVENT_COLUMNS]
            rows.append(cells)
    cut = f" ({_cut(settings.headline_pt)})" if settings.headline_pt is not None else ""
    head = ["method", "event", *(label for label, _, _ in _PER_EVENT_COLUMNS)]
    return f"<p class=meta>Click a column header to sort; rates at the headline cut{cut}.</p>" + (
        _table(head, rows, "sortable per-event")
    )


def _stages_table(stages: Mapping[str, Mapping[str, float]]) -> str:
    rows = [
        [
            f"<td>{_esc(name)}</td>",
            f"<td>{format_number(v['n'], 'count')}</td>",
            f"<td>{format_number(v['s_per_event'], 'seconds')}</td>",
            f"<td>{format_number(v['max_rss_mb'], 'count')}</td>",
        ]
        for name, v in stages.items()
    ]
    return _table(["rule", "jobs", "mean wall time per job [s]", "peak memory [MB]"], rows)


def _image(path: str | Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    alt = re.sub(r"<[^>]+>", "", caption)
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _figures(plots: Sequence[tuple[str, str | Path]]) -> str:
    return '<div class="figures">' + "".join(_image(p, c) for c, p in plots) + "</div>"


def _section(section: ReportSection) -> str:
    parts = [f"<h2>{_esc(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{_esc(section.text)}</p>")
    if section.metrics:
        rows = []
        for name, value in section.metrics.items():
            shown = (
                format_mean(value, "auto") if isinstance(value, Mapping) else (format_number(value))
            )
            rows.append([f"<td>{_esc(name)}</td>", f"<td>{shown}</td>"])
        parts.append(_table(["quantity", "value"], rows))
    if section.columns:
        rows = [
            [f'<td data-v="{_esc(v)}">{_esc(v)}</td>' if isinstance(v, str) else _cell(v, "auto")
             for v in row]
            for row in section.rows
        ]  # fmt: skip
        parts.append(_table([_esc(c) for c in section.columns], rows, "sortable"))
    if section.images:
        parts.append(_figures([(_esc(p.stem.replace("_", " ")), p) for p in section.images]))
    return "".join(parts)


def _versions(summary: Mapping[str, Any]) -> str:
    """Which trackrec made the metrics; a warning when versions are mixed."""
    version = str(summary.get("trackrec_version", "unknown"))
    made = summary.get("metrics_versions") or {}
    listed = ", ".join(f"{_esc(v)} ({n} files)" for v, n in made.items())
    line = f'<p class="meta">Metrics made by trackrec {listed}.</p>' if made else ""
    if set(made) - {version}:
        line += (
            '<p class="fail">Warning: metrics of another trackrec version are mixed in; '
            "rerun the stages that made them to compare like with like.</p>"
        )
    return line


def _provenance(summary: Mapping[str, Any], links: Mapping[str, str]) -> str:
    provenance = summary.get("provenance", {})
    lines = []
    version = f"trackrec {_esc(summary.get('trackrec_version', '?'))}"
    commit = provenance.get("git_commit")
    if commit:
        version += f" (commit {_esc(commit)})"
    lines.append(
        f"Run <b>{_esc(provenance.get('run', '?'))}</b> · report by {version} · "
        f"made {_esc(provenance.get('date', '?'))}"
    )
    for line in provenance.get("summary", []):
        lines.append(_esc(line))
    link_html = " · ".join(
        f'<a href="{_esc(href)}">{_esc(name)}</a>' for name, href in links.items()
    )
    lines.append(f"Full numbers: {link_html}")
    config = provenance.get("config")
    details = ""
    if config:
        text = _esc(json.dumps(config, indent=1, sort_keys=True))
        details = (
            f"<details><summary>the run's config (plan file)</summary><pre>{text}</pre></details>"
        )
    html_lines = "".join(f'<p class="meta">{line}</p>' for line in lines)
    return html_lines + _versions(summary) + details


def _failures(failed: Sequence[Mapping[str, str]]) -> str:
    if not failed:
        return "<p>None: every expected method and event has metrics.</p>"
    items = "".join(
        f'<li class="fail">{_esc(f["method"])} / {_esc(f["event"])}: {_esc(f["reason"])}</li>'
        for f in failed
    )
    return f"<ul>{items}</ul>"


def render_report(
    summary: Mapping[str, Any],
    plots: Sequence[tuple[str, str | Path]],
    title: str,
    *,
    settings: MetricsSettings,
    links: Mapping[str, str],
    stage_plot: tuple[str, str | Path] | None = None,
    sections: Sequence[ReportSection] = (),
) -> str:
    """The report page. ``plots``: (caption HTML, PNG path) of the tracking plots."""
    methods = summary["methods"]
    n_events = len(summary.get("events", []))
    ordered = sorted(sections, key=lambda s: s.order)
    stage_html = _stages_table(summary["stages"]) if summary["stages"] else "<p>No benchmarks.</p>"
    if stage_plot is not None:
        stage_html += _figures([stage_plot])
    cut = _cut(settings.headline_pt) if settings.headline_pt is not None else "no threshold"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{_esc(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{_esc(title)}</h1>
{_provenance(summary, links)}
<h2>Tracking performance</h2>
<p>{n_events} scored test event{"s" if n_events != 1 else ""}; headline cut {cut}.</p>
{_headline_table(methods, settings)}
<details open><summary>Definitions</summary>{_definitions(settings)}</details>
<h2>Every p<sub>T</sub> threshold</h2>
{_threshold_tables(methods, settings)}
<h2>Versus p<sub>T</sub> and η</h2>
{_figures(plots)}
<h2>Per event</h2>
{_per_event_table(summary.get("per_event", {}), settings)}
<h2>Stages</h2>
{stage_html}
{"".join(_section(s) for s in ordered)}
<h2>Failed events</h2>
{_failures(summary["failed_events"])}
<script>{_SORT_SCRIPT}</script>
</body></html>
"""
