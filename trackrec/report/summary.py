"""Summaries of a run from the files the workflow leaves: metrics JSON and benchmark TSV.

Per-event metrics live at ``metrics/<method>/<event>.json`` (flat keys, see
:mod:`trackrec.metrics.tracking`); Snakemake benchmarks at
``benchmarks/<rule>/[<method>/]<event>.tsv``. Everything here is a pure function of those
parsed files, so the report can be rebuilt (or built by hand with ``trackrec report``) from a
results folder alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trackrec.errors import InputError, TrackrecError
from trackrec.metrics.tracking import parse_count_key


@dataclass(frozen=True)
class EventMetrics:
    """One metrics file: the method and event from its path, and its flat values."""

    method: str
    event: str
    values: dict[str, float]
    version: str | None = None  # trackrec_version of the file (None: written before 0.1.0)


def read_metrics_file(path: str | Path) -> EventMetrics:
    """Parse ``metrics/<method>/<event>.json``; nulls become NaN."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(raw, dict):
        raise InputError(path, "expected a JSON object of metric values")
    values = {
        k: (math.nan if v is None else float(v)) for k, v in raw.items() if not isinstance(v, str)
    }
    version = raw.get("trackrec_version")
    return EventMetrics(
        method=path.parent.name,
        event=path.stem,
        values=values,
        version=version if isinstance(version, str) else None,
    )


def metrics_versions(metrics: Iterable[EventMetrics]) -> dict[str, int]:
    """How many metrics files each trackrec version made (``unknown``: no version recorded)."""
    counts: dict[str, int] = {}
    for m in metrics:
        key = m.version or "unknown"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def read_plan_file(path: str | Path) -> dict[str, Any]:
    """A run's plan file (``trackrec plan``), checked; problems name the file."""
    from trackrec.plan import check_plan_file_content

    path = Path(path)
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err.msg}, line {err.lineno})") from None
    try:
        return check_plan_file_content(content)
    except TrackrecError as err:
        raise InputError(path, str(err)) from None


def benchmark_stage(path: str | Path) -> str:
    """The rule a benchmark file belongs to: the folder right below ``benchmarks/``."""
    parts = Path(path).parts
    if "benchmarks" in parts[:-1]:
        return parts[parts.index("benchmarks") + 1]
    return Path(path).parent.name


def read_benchmark_file(path: str | Path) -> dict[str, float]:
    """Wall seconds and peak resident memory (MB) of one Snakemake benchmark file."""
    path = Path(path)
    try:
        table = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(path, f"not a Snakemake benchmark table ({err})") from None
    if not {"s", "max_rss"} <= set(table.columns) or table.empty:
        raise InputError(path, "not a Snakemake benchmark table (needs columns s and max_rss)")
    rss = pd.to_numeric(table["max_rss"], errors="coerce")
    return {"s": float(table["s"].mean()), "max_rss_mb": float(rss.max())}


def summarise_methods(metrics: Iterable[EventMetrics]) -> dict[str, dict[str, dict[str, float]]]:
    """``{method: {metric: {mean, std, n}}}`` over events, ignoring NaN (``n`` counts finite values).

    Count keys (``count_*``) are summed into efficiency curves instead, see
    :func:`efficiency_curves`.
    """
    rows = [
        (m.method, k, v) for m in metrics for k, v in m.values.items() if not k.startswith("count_")
    ]
    frame = pd.DataFrame(rows, columns=["method", "metric", "value"])
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for (method, metric), values in frame.groupby(["method", "metric"], sort=True)["value"]:
        finite = values[np.isfinite(values)]
        summary.setdefault(method, {})[metric] = {
            "mean": float(finite.mean()) if len(finite) else math.nan,
            "std": float(finite.std(ddof=0)) if len(finite) else math.nan,
            "n": len(finite),
        }
    return summary


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, z: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial fraction, per entry; NaN where ``trials`` is 0.

    ``z = 1`` gives the central 68.3% interval (the "one sigma" of the plots). Unlike the
    simple ``sqrt(p (1 - p) / n)`` it stays inside [0, 1] and does not collapse to zero width
    when every trial (or none) succeeds: 6 of 6 gives [0.86, 1], not 1 ± 0.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
        # exact algebra puts p inside [lo, hi] within [0, 1]; keep it so after rounding
        lo = np.clip(np.minimum(centre - half, p), 0.0, 1.0)
        hi = np.clip(np.maximum(centre + half, p), 0.0, 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


CURVE_COLUMNS = (
    "method",
    "var",
    "lo",
    "hi",
    "n_particles",
    "eff_dm",
    "eff_perfect",
    "err_dm",
    "err_perfect",
    "eff_dm_lo",
    "eff_dm_hi",
    "eff_perfect_lo",
    "eff_perfect_hi",
    "n_tracks",
    "fake_rate",
    "fake_rate_lo",
    "fake_rate_hi",
    "n_majority_tracks",
    "duplicate_rate",
    "duplicate_rate_lo",
    "duplicate_rate_hi",
)


def _fraction(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(trials > 0, successes / trials, np.nan)


def efficiency_curves(metrics: Iterable[EventMetrics]) -> pd.DataFrame:
    """Efficiency, fake rate and duplicate rate per bin of pT or eta, summed over events.

    One row per (method, var, bin); columns :data:`CURVE_COLUMNS`: ``n_particles`` and the
    DM / perfect efficiencies with their simple binomial errors ``err_*`` (kept for
    ``summary.json`` readers) and 68.3% Wilson intervals ``*_lo``/``*_hi``; ``n_tracks``
    (selected tracks by their majority particle's bin) and the fake rate; ``n_majority_tracks``
    and the duplicate rate. Metrics files without the track counts (older runs) give NaN there.
    """
    rows = []
    for m in metrics:
        for key, value in m.values.items():
            parsed = parse_count_key(key)
            if parsed is not None:
                rows.append((m.method, *parsed, value))
    if not rows:
        return pd.DataFrame(columns=list(CURVE_COLUMNS))
    frame = pd.DataFrame(rows, columns=["method", "var", "lo", "hi", "kind", "value"])
    wide = frame.pivot_table(
        index=["method", "var", "lo", "hi"], columns="kind", values="value", aggfunc="sum"
    ).reset_index()

    def column(kind: str) -> np.ndarray:
        if kind not in wide:
            return np.full(len(wide), np.nan)
        return wide[kind].to_numpy(dtype=np.float64)

    out = wide[["method", "var", "lo", "hi"]].copy()
    n = column("particles")
    out["n_particles"] = n
    for kind in ("dm", "perfect"):
        eff = _fraction(column(kind), n)
        out[f"eff_{kind}"] = eff
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"err_{kind}"] = np.sqrt(eff * (1 - eff) / n)
        out[f"eff_{kind}_lo"], out[f"eff_{kind}_hi"] = wilson_interval(column(kind), n)
    tracks, majority = column("tracks"), column("majority_tracks")
    duplicates = majority - column("majority_particles")
    for name, k, trials in (
        ("fake_rate", column("fake_tracks"), tracks),
        ("duplicate_rate", duplicates, majority),
    ):
        out[name] = _fraction(k, trials)
        out[f"{name}_lo"], out[f"{name}_hi"] = wilson_interval(k, trials)
    out["n_tracks"], out["n_majority_tracks"] = tracks, majority
    return out[list(CURVE_COLUMNS)].sort_values(["method", "var", "lo"]).reset_index(drop=True)


@dataclass(frozen=True)
class MetricsSettings:
    """The metrics config of a run, as far as it is known: from the plan file, else from the
    metric keys (``max_abs_eta`` and ``min_track_hits`` are then unknown: None)."""

    pt_thresholds: tuple[float, ...]
    max_abs_eta: float | None
    min_track_hits: int | None

    @property
    def headline_pt(self) -> float | None:
        """The threshold of the headline table: 0.9 GeV if configured, else the nearest."""
        if not self.pt_thresholds:
            return None
        return min(self.pt_thresholds, key=lambda t: (abs(t - 0.9), -t))


def metrics_settings(
    plan: Mapping[str, Any] | None, metrics: Iterable[EventMetrics]
) -> MetricsSettings:
    """The run's metrics settings: the plan's ``config.metrics``, else the thresholds found
    in the metric keys (``eff_dm_pt{t}``)."""
    section = (plan or {}).get("config", {}).get("metrics") or {}
    if section.get("pt_thresholds"):
        thresholds = tuple(sorted(float(t) for t in section["pt_thresholds"]))
    else:
        found = set()
        for m in metrics:
            for key in m.values:
                if key.startswith("eff_dm_pt"):
                    try:
                        found.add(float(key[len("eff_dm_pt") :]))
                    except ValueError:
                        continue
        thresholds = tuple(sorted(found))
    eta = section.get("max_abs_eta")
    hits = section.get("min_track_hits")
    return MetricsSettings(
        pt_thresholds=thresholds,
        max_abs_eta=None if eta is None else float(eta),
        min_track_hits=None if hits is None else int(hits),
    )


def per_event_values(
    metrics: Iterable[EventMetrics], keys: Iterable[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """``{method: {event: {key: value}}}`` for the given metric keys (NaN where absent)."""
    wanted = list(keys)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for m in sorted(metrics, key=lambda m: (m.method, m.event)):
        table.setdefault(m.method, {})[m.event] = {
            key: m.values.get(key, math.nan) for key in wanted
        }
    return table


def summarise_stages(
    benchmarks: Mapping[str, list[dict[str, float]]],
) -> dict[str, dict[str, float]]:
    """``{rule: {s_per_event, max_rss_mb, n}}`` from the parsed benchmark files of each rule."""
    summary = {}
    for stage, runs in sorted(benchmarks.items()):
        seconds = [r["s"] for r in runs]
        rss = [r["max_rss_mb"] for r in runs if np.isfinite(r["max_rss_mb"])]
        summary[stage] = {
            "s_per_event": float(np.mean(seconds)),
            "max_rss_mb": float(max(rss)) if rss else math.nan,
            "n": len(runs),
        }
    return summary


def failed_events(
    metrics: Iterable[EventMetrics], expected_events: Iterable[str], methods: Iterable[str]
) -> list[dict[str, str]]:
    """Expected (method, event) pairs with no metrics file or no finite TrackML score."""
    found = {(m.method, m.event): m for m in metrics}
    failures = []
    for method in sorted(methods):
        for event in sorted(expected_events):
            got = found.get((method, event))
            if got is None:
                failures.append({"method": method, "event": event, "reason": "no metrics file"})
            elif not np.isfinite(got.values.get("trackml_score", math.nan)):
                failures.append({"method": method, "event": event, "reason": "no TrackML score"})
    return failures


def summary_table(summary: Mapping[str, object]) -> pd.DataFrame:
    """The flat CSV form of ``summary.json``: one row per (method, metric) and per stage."""
    rows = []
    for method, metrics in summary["methods"].items():  # type: ignore[union-attr]
        for metric, stats in metrics.items():
            rows.append({"section": "method", "name": method, "metric": metric, **stats})
    for stage, stats in summary["stages"].items():  # type: ignore[union-attr]
        for metric in ("s_per_event", "max_rss_mb"):
            rows.append(
                {
                    "section": "stage",
                    "name": stage,
                    "metric": metric,
                    "mean": stats[metric],
                    "std": math.nan,
                    "n": stats["n"],
                }
            )
    return pd.DataFrame(rows, columns=["section", "name", "metric", "mean", "std", "n"])
