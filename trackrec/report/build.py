"""Build the report of a run: summary.json, summary.csv, plots and report.html."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trackrec.io.atomic import atomic_output
from trackrec.report import plots
from trackrec.report.failures import explain_failures, failure_reasons
from trackrec.report.html import render_report
from trackrec.report.summary import (
    benchmark_stage,
    efficiency_curves,
    failed_events,
    read_benchmark_file,
    read_metrics_file,
    summarise_methods,
    summarise_stages,
    summary_table,
)


@dataclass(frozen=True)
class ReportOutputs:
    """Where the report's files go."""

    summary_json: Path
    summary_csv: Path
    html: Path
    efficiency_pt: Path
    efficiency_eta: Path
    stages: Path
    scores: Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> ReportOutputs:
        folder = Path(folder)
        return cls(
            summary_json=folder / "summary.json",
            summary_csv=folder / "summary.csv",
            html=folder / "report.html",
            efficiency_pt=folder / "efficiency_vs_pt.png",
            efficiency_eta=folder / "efficiency_vs_eta.png",
            stages=folder / "stages.png",
            scores=folder / "scores.png",
        )


def _json_ready(value: object) -> object:
    """NaN -> None, recursively, so summary.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def build_summary(
    metrics_files: Sequence[str | Path],
    benchmark_files: Sequence[str | Path],
    expected_events: Sequence[str] | None = None,
    log_dir: str | Path | None = None,
) -> tuple[dict[str, object], pd.DataFrame]:
    """The summary dict of ``summary.json`` and the efficiency curves behind the plots.

    With ``log_dir`` (the run's ``logs/``), each failed event's reason is the error its
    failed job logged, and without ``expected_events`` the events whose jobs logged an error
    count as expected (so a report by hand after ``--keep-going`` lists them too).
    """
    metrics = [read_metrics_file(p) for p in metrics_files]
    benchmarks: dict[str, list[dict[str, float]]] = {}
    for path in benchmark_files:
        benchmarks.setdefault(benchmark_stage(path), []).append(read_benchmark_file(path))
    methods = sorted({m.method for m in metrics})
    reasons = failure_reasons(log_dir) if log_dir is not None else {}
    expected = (
        expected_events
        if expected_events is not None
        else sorted({m.event for m in metrics} | set(reasons))
    )
    curves = efficiency_curves(metrics)
    summary: dict[str, object] = {
        "methods": summarise_methods(metrics),
        "stages": summarise_stages(benchmarks),
        "failed_events": explain_failures(failed_events(metrics, expected, methods), reasons),
        "events": list(expected),
        "per_event_scores": {
            method: {m.event: m.values.get("trackml_score") for m in metrics if m.method == method}
            for method in methods
        },
        "efficiency": {
            method: rows.drop(columns="method").to_dict(orient="records")
            for method, rows in curves.groupby("method", sort=True)
        },
    }
    return summary, curves


def write_report(
    summary: dict[str, object], curves: pd.DataFrame, outputs: ReportOutputs, title: str
) -> None:
    """Write every report file (each atomically)."""
    with atomic_output(outputs.summary_json) as tmp:
        tmp.write_text(json.dumps(_json_ready(summary), indent=2, sort_keys=True) + "\n")
    with atomic_output(outputs.summary_csv) as tmp:
        summary_table(summary).to_csv(tmp, index=False)
    plots.plot_efficiency(curves, "pt", outputs.efficiency_pt)
    plots.plot_efficiency(curves, "eta", outputs.efficiency_eta)
    plots.plot_stages(summary["stages"], outputs.stages)  # type: ignore[arg-type]
    plots.plot_scores(summary["per_event_scores"], outputs.scores)  # type: ignore[arg-type]
    figures = {
        "efficiency vs pT": outputs.efficiency_pt,
        "efficiency vs eta": outputs.efficiency_eta,
        "TrackML score per event": outputs.scores,
        "stages": outputs.stages,
    }
    with atomic_output(outputs.html) as tmp:
        tmp.write_text(render_report(summary, figures, title))


def find_run_files(results_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """Metrics and benchmark files present in ``<results>/<run>/`` (for a report by hand)."""
    root = Path(results_dir)
    return sorted(root.glob("metrics/*/*.json")), sorted(root.glob("benchmarks/**/*.tsv"))
