"""The noise filter's own summary: metrics over a run's events, ROC curve with working point.

Self-contained (a JSON and a PNG) so that the run's main report can include it as is. The
summary gives per-event metrics, their means, the pooled ROC (from the per-event score
histograms) and the model's provenance (training events, validation metrics, threshold).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from trackrec.errors import InputError
from trackrec.io.atomic import atomic_outputs
from trackrec.noise.filter import roc_from_histograms

METRIC_KEYS = ("noise_auc", "noise_removed_frac", "good_hit_loss_pt0.9", "good_hit_loss_all")


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        record = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise InputError(path, "expected a JSON object")
    return record


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else None


def summarise(metrics: Mapping[str, Mapping[str, Any]], hists: Sequence[Mapping[str, list]],
              provenance: Mapping[str, Any] | None, model: str) -> dict[str, Any]:  # fmt: skip
    """The summary record (JSON-serialisable)."""
    for event, record in metrics.items():
        missing = [k for k in METRIC_KEYS if k not in record]
        if missing:
            raise InputError(event, f"noise metrics lack {', '.join(missing)}")
    summary: dict[str, Any] = {
        "model": model,
        "n_events": len(metrics),
        "mean": {k: _mean([m[k] for m in metrics.values()]) for k in METRIC_KEYS},
        "per_event": {e: {k: m.get(k) for k in (*METRIC_KEYS, "n_hits", "n_kept", "filter_seconds")}
                      for e, m in sorted(metrics.items())},  # fmt: skip
        "mean_filter_seconds": _mean([m.get("filter_seconds") for m in metrics.values()]),
    }
    usable = [h for h in hists if h]
    if usable:
        roc = roc_from_histograms(list(usable))
        summary["roc"] = {
            "noise_removed": roc["noise_removed"].tolist(),
            "poi_loss": roc["poi_loss"].tolist(),
            "good_loss": roc["good_loss"].tolist(),
        }
    if provenance is not None:
        summary["model_provenance"] = {
            key: provenance.get(key)
            for key in ("threshold", "features", "trackrec_version", "created_utc", "config")
        }
        summary["model_provenance"]["training"] = provenance.get("training")
        summary["model_provenance"]["validation_metrics"] = provenance.get("metrics")
    return summary


def plot_roc(summary: Mapping[str, Any], fig: Figure) -> None:
    """Noise removed against particle-of-interest hit loss, with the working point."""
    ax = fig.subplots()
    if "roc" in summary:
        loss = np.asarray(summary["roc"]["poi_loss"])
        removed = np.asarray(summary["roc"]["noise_removed"])
        ax.plot(np.maximum(loss, 1e-5), removed, color="C0", label="ROC (events pooled)")
    mean = summary["mean"]
    if mean["good_hit_loss_pt0.9"] is not None:
        ax.plot([max(mean["good_hit_loss_pt0.9"], 1e-5)], [mean["noise_removed_frac"]], "o",
                color="C3", label=f"working point ({summary['model']})")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("loss of particle-of-interest hits (pT > 0.9 GeV)")
    ax.set_ylabel("fraction of noise hits removed")
    ax.set_title(f"Noise filter, {summary['n_events']} events")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")


def write_report(*, metrics_files: Sequence[str], histogram_files: Sequence[str],
                 model: str | None, section: Mapping[str, Any], summary_json: str | Path,
                 plot: str | Path) -> dict[str, Any]:  # fmt: skip
    """Read the per-event files, write the summary JSON and the ROC plot (both or neither)."""
    from trackrec.io.checkpoint import read_provenance

    metrics = {Path(p).stem: _read_json(p) for p in metrics_files}
    hists = [_read_json(p) for p in histogram_files]
    provenance = read_provenance(model) if model else None
    summary = summarise(metrics, hists, provenance, section["model"])
    fig = Figure(figsize=(6.4, 4.4))
    plot_roc(summary, fig)
    with atomic_outputs([summary_json, plot]) as (tmp_json, tmp_png):
        Path(tmp_json).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        fig.savefig(tmp_png, format="png", dpi=110, bbox_inches="tight")
    return summary
