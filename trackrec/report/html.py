"""A self-contained HTML report (tables and embedded PNG plots) of one run."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping
from pathlib import Path

HEADLINE_METRICS = (
    "trackml_score",
    "eff_dm_pt0.9",
    "eff_perfect_pt0.9",
    "eff_lhc_pt0.9",
    "fake_rate_pt0.9",
    "duplicate_rate_pt0.9",
    "n_tracks",
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 90em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
figure { display: inline-block; width: 47%; margin: 0.5em 1%; vertical-align: top; }
figure img { width: 100%; }
figcaption { font-size: 0.9em; color: #555; }
.fail { color: #a00; }
"""


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def _image(path: str | Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _methods_table(methods: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    head = "".join(f"<th>{html.escape(m)}</th>" for m in HEADLINE_METRICS)
    rows = []
    for method, metrics in methods.items():
        cells = []
        for metric in HEADLINE_METRICS:
            stats = metrics.get(metric)
            if stats is None:
                cells.append("<td>–</td>")
            else:
                cells.append(f"<td>{_fmt(stats['mean'])} ± {_fmt(stats['std'], 2)}</td>")
        n = max((s["n"] for s in metrics.values()), default=0)
        rows.append(f"<tr><td>{html.escape(method)} (n={n})</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>method</th>{head}</tr>{''.join(rows)}</table>"


def _stages_table(stages: Mapping[str, Mapping[str, float]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{_fmt(v['s_per_event'])}</td>"
        f"<td>{_fmt(v['max_rss_mb'])}</td><td>{v['n']}</td></tr>"
        for s, v in stages.items()
    )
    return (
        "<table><tr><th>rule</th><th>s per event</th><th>max RSS [MB]</th><th>jobs</th></tr>"
        f"{rows}</table>"
    )


def _versions(summary: Mapping[str, object]) -> str:
    """Which trackrec made this page and its metrics; a warning when versions are mixed."""
    version = str(summary.get("trackrec_version", "unknown"))
    made = summary.get("metrics_versions") or {}
    listed = ", ".join(f"{html.escape(v)} ({n} files)" for v, n in made.items())  # type: ignore[union-attr]
    line = f"<p>trackrec {html.escape(version)}; metrics made by trackrec {listed}.</p>"
    if set(made) - {version}:  # type: ignore[arg-type]
        line += (
            '<p class="fail">Warning: metrics of another trackrec version are mixed in; '
            "rerun the stages that made them to compare like with like.</p>"
        )
    return line


def render_report(
    summary: Mapping[str, object], plots: Mapping[str, str | Path], title: str
) -> str:
    """The report page: headline metrics (mean ± std over events), stages, failures, plots."""
    failed = summary["failed_events"]
    failures = (
        "<p>None.</p>"
        if not failed
        else "<ul>"
        + "".join(
            f'<li class="fail">{html.escape(f["method"])} / {html.escape(f["event"])}: '
            f"{html.escape(f['reason'])}</li>"
            for f in failed  # type: ignore[union-attr]
        )
        + "</ul>"
    )
    images = "".join(_image(path, name) for name, path in plots.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
{_versions(summary)}
<h2>Tracking performance (test events)</h2>
<p>Mean ± standard deviation over events; particles of interest are reconstructable
(≥3 hits on distinct layers), |η| &lt; 4 and pT above the threshold in the key.</p>
{_methods_table(summary["methods"])}
{images}
<h2>Stages</h2>
{_stages_table(summary["stages"])}
<h2>Failed events</h2>
{failures}
<p>Full numbers: <code>summary.json</code> and <code>summary.csv</code> beside this page.</p>
</body></html>
"""
