"""``trackrec report-graph``: a self-contained summary of a run's graph construction.

Reads the per-event edge metrics (``graph_metrics/<event>.json``), the construction model's
provenance (the geometric cuts' or the embedding's, with its k scan) and the ``build_graph``
benchmark files, and writes one JSON (means and per-event figures, the goals of the graph
stage and whether they are met, time and memory per event) and a plot of segment50 against
edges per hit: the model's k scan on the validation events as a curve, the run's test events
as points.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from trackrec.errors import InputError
from trackrec.io.jsonfile import read_json

GOALS = {"segment50_pt0.9": (">=", 0.97), "edges_per_hit": ("<", 30.0),
         "build_s_per_event": ("<", 2.0), "build_max_rss_mb": ("<", 4096.0)}
"""The graph stage's goals (issue #10), checked on the means over the run's events."""


def _event(path: Path) -> str:
    return path.stem


def read_metrics(paths: Sequence[Path]) -> dict[str, dict[str, float | None]]:
    out = {}
    for path in paths:
        record = read_json(path)
        if not isinstance(record, dict) or "edges_per_hit" not in record:
            raise InputError(path, "not a graph metrics file (no edges_per_hit)")
        out[_event(Path(path))] = record
    return out


def _mean(values: list) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(finite)) if finite else None


def summarise(
    metrics: Mapping[str, Mapping[str, float | None]],
    provenance: Mapping | None,
    benchmarks: Sequence[Mapping[str, float]],
) -> dict:
    keys = sorted({k for record in metrics.values() for k in record})
    means = {k: _mean([record.get(k) for record in metrics.values()]) for k in keys}
    if benchmarks:
        means["build_s_per_event"] = float(np.mean([b["s"] for b in benchmarks]))
        means["build_max_rss_mb"] = float(np.max([b["max_rss_mb"] for b in benchmarks]))
    goals = {}
    for key, (op, limit) in GOALS.items():
        value = means.get(key)
        met = None if value is None else (value >= limit if op == ">=" else value < limit)
        goals[key] = {"goal": f"{op} {limit:g}", "value": value, "met": met}
    model = None
    if provenance is not None:
        model = {
            "kind": provenance.get("kind"),
            "config": provenance.get("config"),
            "metrics": provenance.get("metrics"),
            "train_events": provenance.get("training", {}).get("train_events"),
            "val_events": provenance.get("training", {}).get("val_events"),
            "train_seconds": provenance.get("training", {}).get("seconds"),
            "trackrec_version": provenance.get("trackrec_version"),
        }
    notes = {"build_s_per_event": "wall seconds of the build_graph rule per event (Snakemake "
             "benchmark: process start and imports included, and any load on the machine)",
             "build_max_rss_mb": "largest peak resident memory of a build_graph job"}
    return {"n_events": len(metrics), "mean": means, "goals": goals, "notes": notes,
            "model": model,
            "events": dict(sorted(metrics.items()))}


def plot_segment50(summary: Mapping, path: Path) -> None:
    """segment50 vs edges per hit: the model's k scan (curve) and the run's events (points)."""
    from matplotlib.figure import Figure

    from trackrec.io.atomic import atomic_output

    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    scan = ((summary.get("model") or {}).get("metrics") or {}).get("k_scan") or []
    if scan:
        x = [row["edges_per_hit"] for row in scan]
        ax.plot(x, [row["segment50"] for row in scan], "o-", label="k scan: segment50 (validation)")
        ax.plot(x, [row["edge_eff"] for row in scan], "s--", mfc="none",
                label="k scan: edge efficiency (validation)")
        for row in scan:
            ax.annotate(f"k={int(row['k'])}", (row["edges_per_hit"], row["segment50"]),
                        textcoords="offset points", xytext=(3, -10), fontsize=7)
    events = summary.get("events", {})
    points = [(m.get("edges_per_hit"), m.get("segment50_pt0.9")) for m in events.values()]
    points = [(x, y) for x, y in points if x is not None and y is not None]
    if points:
        ax.plot(*zip(*points), "k^", label="this run's events: segment50")
    ax.axhline(0.97, color="grey", lw=0.8, ls=":", label="goal: segment50 0.97")
    ax.set_xlabel("edges per hit")
    ax.set_ylabel("fraction ($p_T > 0.9$ GeV)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def run_report_graph(args: argparse.Namespace) -> int:
    from trackrec.io.checkpoint import read_provenance
    from trackrec.io.jsonfile import write_json
    from trackrec.report.summary import read_benchmark_file

    metrics = read_metrics(args.metrics)
    provenance = read_provenance(args.model) if args.model is not None else None
    benchmarks = [read_benchmark_file(p) for p in args.benchmarks or []]
    summary = summarise(metrics, provenance, benchmarks)
    plot_segment50(summary, args.plot)
    write_json(args.summary, summary)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report-graph`` to trackrec."""
    parser = subparsers.add_parser(
        "report-graph",
        help="summary JSON and k-scan plot of a run's graph construction",
        description="Summarise the per-event graph metrics, the construction model's "
        "provenance (and k scan) and the build_graph benchmarks in one JSON, with the goals, "
        "and plot segment50 against edges per hit.",
    )
    parser.add_argument("--metrics", nargs="*", default=[], type=Path,
                        help="graph_metrics/<event>.json files")
    parser.add_argument("--model", type=Path, help="the construction model (.npz or .pt)")
    parser.add_argument("--benchmarks", nargs="*", type=Path, help="build_graph benchmark files")
    parser.add_argument("--summary", required=True, type=Path, metavar="SUMMARY.json")
    parser.add_argument("--plot", required=True, type=Path, metavar="PLOT.png")
    parser.set_defaults(handler=run_report_graph)
