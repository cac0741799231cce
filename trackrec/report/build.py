"""Build the report of a run: summary.json, summary.csv, plots and report.html.

:func:`build_summary` reads the run's files (metrics, benchmarks, plan file, stage
sections) into the ``summary.json`` dict and the binned curves; :func:`write_report` writes
every output from them. Stages add sections through :mod:`trackrec.report.sections`
(section files), with no change here. ``summary.json`` keeps its keys (``methods``,
``stages``, ``failed_events``, ``events``, ``per_event_scores``, ``efficiency``,
``trackrec_version``, ``metrics_versions``) and adds ``per_event``, ``settings``,
``provenance``, ``sections`` and ``stage_jobs`` (every benchmarked job: event, seconds,
peak memory).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trackrec import __version__
from trackrec.errors import InputError, TrackrecError
from trackrec.io.atomic import atomic_output
from trackrec.io.jsonfile import json_ready
from trackrec.metrics.tracking import ETA_BINS_MIN_PT
from trackrec.report import plots
from trackrec.report.failures import explain_failures, failure_reasons
from trackrec.report.html import per_event_keys, render_report
from trackrec.report.sections import ReportSection
from trackrec.report.summary import (
    EventMetrics,
    MetricsSettings,
    benchmark_stage,
    efficiency_curves,
    failed_events,
    metrics_settings,
    metrics_versions,
    per_event_values,
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
    rates_pt: Path
    rates_eta: Path
    events: Path
    stages: Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> ReportOutputs:
        folder = Path(folder)
        return cls(
            summary_json=folder / "summary.json",
            summary_csv=folder / "summary.csv",
            html=folder / "report.html",
            efficiency_pt=folder / "efficiency_vs_pt.png",
            efficiency_eta=folder / "efficiency_vs_eta.png",
            rates_pt=folder / "fake_duplicate_vs_pt.png",
            rates_eta=folder / "fake_duplicate_vs_eta.png",
            events=folder / "events.png",
            stages=folder / "stages.png",
        )


def source_commit() -> str | None:
    """The git commit of the trackrec source tree this code runs from, if it is a checkout
    (", modified" when tracked files differ from it); None otherwise."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or not (root / "pyproject.toml").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0 or not head.stdout.strip():
        return None
    return head.stdout.strip() + (", modified" if status.stdout.strip() else "")


def _g(value: object) -> str:
    """A config number as a user wrote it (10.0 -> 10), anything else as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _config_lines(plan: Mapping[str, Any] | None, settings: MetricsSettings) -> list[str]:
    """Plain-text lines describing the run's config, for the provenance header."""
    if plan is None:
        return [
            "No plan file: the run's config is unknown, and only events with metrics are "
            "known (none can be reported missing)."
        ]
    data = plan["config"].get("data", {})
    lines = []
    source = data.get("source")
    if source == "simulate":
        sim = data.get("simulate", {})
        lines.append(
            f"Data: simulated, pileup {_g(sim.get('pileup'))}, seed {_g(sim.get('seed'))}, "
            f"{_g(sim.get('n_events'))} events from id {_g(sim.get('first_event_id'))}"
        )
    elif source == "trackml":
        lines.append(
            f"Data: TrackML files in {data.get('trackml_dir')} (events: {data.get('events')})"
        )
    if data.get("eval_source"):
        lines.append(f"Test events from: {data['eval_source']}")
    splits = plan["splits"]
    lines.append(
        f"Split: {len(splits.get('train', []))} training, {len(splits.get('val', []))} "
        f"validation, {len(splits.get('test', []))} test events "
        f"({len(plan['scored_test_events'])} with truth, scored)"
    )
    cuts = ", ".join(f"{t:g}" for t in settings.pt_thresholds)
    eta = f"|η| < {settings.max_abs_eta:g}" if settings.max_abs_eta is not None else "|η| cut ?"
    hits = settings.min_track_hits
    lines.append(f"Metrics: pT thresholds {cuts} GeV; {eta}; tracks of ≥ {hits} hits")
    lines.append(f"Methods: {', '.join(plan['methods'])}")
    if plan.get("trackrec_version") not in (None, __version__):
        lines.append(f"Plan file written by trackrec {plan['trackrec_version']}")
    return lines


def build_summary(
    metrics_files: Sequence[str | Path],
    benchmark_files: Sequence[str | Path],
    expected_events: Sequence[str] | None = None,
    plan: Mapping[str, Any] | None = None,
    sections: Sequence[ReportSection] = (),
    run_name: str | None = None,
    log_dir: str | Path | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The summary dict of ``summary.json`` and the binned curves behind the plots.

    The expected (method, event) pairs, whose missing metrics are failed events, come from
    ``plan`` (a run's plan file: every method x its scored test events), else from
    ``expected_events`` x the methods with metrics, else from the metrics files themselves
    (then nothing can be found missing). With ``log_dir`` (the run's ``logs/``), each failed
    event's reason is the error its failed job logged, and the events whose jobs logged an
    error count as expected when neither ``plan`` nor ``expected_events`` says which (so a
    report by hand after ``--keep-going`` lists them).
    """
    metrics: list[EventMetrics] = [read_metrics_file(p) for p in metrics_files]
    jobs: dict[str, list[dict[str, Any]]] = {}
    for path in benchmark_files:
        job = {**read_benchmark_file(path), "event": Path(path).stem}
        jobs.setdefault(benchmark_stage(path), []).append(job)
    methods = sorted({m.method for m in metrics} | set(plan["methods"] if plan else ()))
    if plan is not None:
        expected = list(plan["scored_test_events"])
    elif expected_events is not None:
        expected = list(expected_events)
    reasons = failure_reasons(log_dir) if log_dir is not None else {}
    if plan is None and expected_events is None:
        expected = sorted({m.event for m in metrics} | set(reasons))
    settings = metrics_settings(plan, metrics)
    curves = efficiency_curves(metrics)
    keys = sorted(set(per_event_keys(settings).values()))
    summary: dict[str, Any] = {
        "methods": summarise_methods(metrics),
        "stages": summarise_stages(jobs),
        "failed_events": explain_failures(failed_events(metrics, expected, methods), reasons),
        "events": list(expected),
        "per_event_scores": {
            method: {m.event: m.values.get("trackml_score") for m in metrics if m.method == method}
            for method in methods
        },
        "per_event": per_event_values(metrics, keys),
        "efficiency": {
            method: rows.drop(columns="method").to_dict(orient="records")
            for method, rows in curves.groupby("method", sort=True)
        },
        "settings": {
            "pt_thresholds": list(settings.pt_thresholds),
            "headline_pt": settings.headline_pt,
            "max_abs_eta": settings.max_abs_eta,
            "min_track_hits": settings.min_track_hits,
            "eta_bins_min_pt": ETA_BINS_MIN_PT,
        },
        "provenance": {
            "run": (plan or {}).get("run") or run_name,
            "trackrec_version": __version__,
            "git_commit": source_commit(),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "plan_trackrec_version": (plan or {}).get("trackrec_version"),
            "summary": _config_lines(plan, settings),
            "config": (plan or {}).get("config"),
        },
        "sections": [s.to_json() for s in sections],
        "stage_jobs": jobs,
        "trackrec_version": __version__,
        "metrics_versions": metrics_versions(metrics),
    }
    for section in sections:  # a stage's own top-level entries (e.g. the GNN's "models")
        for key, value in section.summary.items():
            if key in summary:
                raise TrackrecError(
                    f"report section {section.title!r}: summary.json already has {key!r}"
                )
            summary[key] = value
    return summary, curves


def _make_folder(folder: Path) -> None:
    """``mkdir -p``; a file where a folder should be is an InputError naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.is_file()), folder)
        raise InputError(blocker, "not a directory (a folder in the path is a file)") from None


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _settings(summary: Mapping[str, Any]) -> MetricsSettings:
    known = summary.get("settings") or {}
    return MetricsSettings(
        pt_thresholds=tuple(known.get("pt_thresholds", ())),
        max_abs_eta=known.get("max_abs_eta"),
        min_track_hits=known.get("min_track_hits"),
    )


def write_report(
    summary: Mapping[str, Any],
    curves: pd.DataFrame,
    outputs: ReportOutputs,
    title: str,
    *,
    sections: Sequence[ReportSection] = (),
) -> None:
    """Write every report file (each atomically); ``sections``: the stages' sections, with
    their images (``summary["sections"]`` holds their numbers only).

    Every output folder is made first, so that one that cannot be (a path under a file,
    permission denied) stops the report before any file is written.
    """
    for path in dataclasses.astuple(outputs):
        _make_folder(Path(path).parent)
    settings = _settings(summary)
    with atomic_output(outputs.summary_json) as tmp:
        tmp.write_text(json.dumps(json_ready(summary), indent=2, sort_keys=True) + "\n")
    with atomic_output(outputs.summary_csv) as tmp:
        summary_table(summary).to_csv(tmp, index=False)
    binned = {"max_abs_eta": settings.max_abs_eta, "eta_min_pt": ETA_BINS_MIN_PT}
    plots.plot_efficiency(curves, "pt", outputs.efficiency_pt, **binned)
    plots.plot_efficiency(curves, "eta", outputs.efficiency_eta, **binned)
    plots.plot_rates(curves, "pt", outputs.rates_pt, **binned)
    plots.plot_rates(curves, "eta", outputs.rates_eta, **binned)
    t = settings.headline_pt
    plots.plot_events(
        summary["per_event"], None if t is None else f"eff_dm_pt{t:g}", outputs.events
    )
    hits_of_event = {
        event: values["n_hits"]
        for events in summary.get("per_event", {}).values()
        for event, values in events.items()
        if math.isfinite(values.get("n_hits", math.nan))
    }
    plots.plot_stage_costs(summary.get("stage_jobs", {}), hits_of_event, outputs.stages)
    eta = f"|η| &lt; {settings.max_abs_eta:g}" if settings.max_abs_eta is not None else "|η| cut"
    cut = f"p<sub>T</sub> ≥ {ETA_BINS_MIN_PT:g} GeV"
    cut_t = f"p<sub>T</sub> ≥ {t:g} GeV" if t is not None else "no threshold"
    figures = [
        (f"Efficiency vs p<sub>T</sub>: reconstructable particles, {eta}.", outputs.efficiency_pt),
        (f"Efficiency vs η: reconstructable particles, {cut}.", outputs.efficiency_eta),
        (
            "Fake and duplicate rates vs the majority particle's p<sub>T</sub> (selected "
            f"tracks of reconstructable particles, {eta}).",
            outputs.rates_pt,
        ),
        (
            f"Fake and duplicate rates vs the majority particle's η (selected tracks, {cut}).",
            outputs.rates_eta,
        ),
        (
            f"Each test event: TrackML score and double-majority efficiency ({cut_t}) vs its "
            "number of hits: how a method copes with busier events.",
            outputs.events,
        ),
    ]
    stage_plot = (
        "Wall time of every per-event job of the scored events vs the event's hits: how each "
        "stage scales with event size.",
        outputs.stages,
    )
    folder = outputs.html.parent
    links = {
        "summary.json": _relative(outputs.summary_json, folder),
        "summary.csv": _relative(outputs.summary_csv, folder),
    }
    page = render_report(
        summary, figures, title, settings=settings, links=links, stage_plot=stage_plot,
        sections=sections,
    )  # fmt: skip
    with atomic_output(outputs.html) as tmp:
        tmp.write_text(page)


def find_run_files(results_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """Metrics and benchmark files present in ``<results>/<run>/`` (for a report by hand)."""
    root = Path(results_dir)
    return sorted(root.glob("metrics/*/*.json")), sorted(root.glob("benchmarks/**/*.tsv"))
