"""Report sections of the stages' own summaries (``trackrec report-section``).

Each stage writes a self-contained summary JSON (the Kalman fit's ``fit_summary.json``, the
graph stage's ``report/graph/summary.json``, the GNN stage's ``report/models.json``); each
function here turns one of them, as a dict, into a section file's dict
(:mod:`trackrec.report.sections`), so the stages' results appear in ``report.html`` and
``summary.json`` without the stages or the report knowing of each other. The functions are
pure: ``trackrec report-section`` (:mod:`trackrec.report.section_command`) reads the
summary, calls one and writes the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trackrec.io.jsonfile import json_ready

EDGE_KEYS = {"edge_auc": "edge ROC AUC", "edge_eff": "edge efficiency",
             "edge_purity": "edge purity"}  # fmt: skip
"""The ``models`` entries of each edge classifier in ``summary.json`` (issue #11)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _images(images: Sequence[str | Path]) -> list[str]:
    return [str(p) for p in images]


def fit_section(summary: Mapping[str, Any], images: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The Kalman fit's section: per method, tracks fitted and matched, failure and charge
    misidentification rates, median chi2/ndf and the pulls' pruned RMS (1 for a fit whose
    errors are right); the resolution plots as images."""
    methods = summary.get("methods")
    if not isinstance(methods, Mapping):
        raise ValueError("not a fit summary (no methods)")
    # the fitted parameters, as the summary names them (in its order)
    parameters = list(dict.fromkeys(p for ms in methods.values() for p in ms.get("pulls", {})))
    columns = ["method", "tracks", "fitted", "matched", "fit failure rate",
               "charge misID rate", "median χ²/ndf",
               *(f"pull RMS {p}" for p in parameters)]  # fmt: skip
    rows = []
    for method, ms in methods.items():
        pulls = ms.get("pulls", {})
        rows.append([
            method, _number(ms.get("n_tracks")), _number(ms.get("n_fitted")),
            _number(ms.get("n_matched")), _number(ms.get("fit_failure_rate")),
            _number(ms.get("charge_misid_rate")), _number(ms.get("median_chi2_ndf")),
            *(_number(pulls.get(p, {}).get("pruned_rms")) for p in parameters),
        ])  # fmt: skip
    text = summary.get("description", "Kalman fit of every method's tracks.")
    return {"title": "Track fit (Kalman filter)", "text": text,
            "table": {"columns": columns, "rows": rows}, "images": _images(images),
            "order": 60}  # fmt: skip


def graph_section(summary: Mapping[str, Any], images: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The graph construction's section: the model, the means over the test events, and the
    stage's goals with their values and whether they are met."""
    if not isinstance(summary.get("mean"), Mapping) or not isinstance(summary.get("goals"), Mapping):
        raise ValueError("not a graph summary (no mean or goals)")
    model = summary.get("model") or {}
    kind = model.get("kind") or "unknown"
    trained = model.get("train_events")
    text = (f"Graph construction by the {kind} model"
            + (f" (derived from {len(trained)} training event{'s' * (len(trained) != 1)})"
               if trained else "")
            + f"; means over {summary.get('n_events', 0)} test events, and the stage's goals "
            "(issue #10) checked on them.")  # fmt: skip
    metrics = {k: _number(v) for k, v in sorted(summary["mean"].items())}
    rows = []
    for name, goal in summary["goals"].items():
        met = goal.get("met")
        rows.append([name, str(goal.get("goal")), _number(goal.get("value")),
                     "n/a" if met is None else ("yes" if met else "no")])  # fmt: skip
    return {"title": "Graph construction", "text": text, "metrics": metrics,
            "table": {"columns": ["goal", "required", "value", "met"], "rows": rows},
            "images": _images(images), "order": 30}  # fmt: skip


def models_section(summary: Mapping[str, Any], images: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The GNN models' section, and ``summary.json``'s ``models`` entry (issue #11): per
    model ``n_params``; per edge classifier ``edge_auc``, ``edge_eff`` and ``edge_purity`` at
    the working point, each ``{mean, std, n}`` over the test events."""
    models = summary.get("models")
    if not isinstance(models, Mapping):
        raise ValueError("not a models summary (no models)")
    entry: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    rows = []
    for name, facts in models.items():
        entry[name] = {"n_params": facts.get("n_params")}
        row = [name, str(facts.get("kind", "")), _number(facts.get("n_params")),
               _number(facts.get("working_point"))]  # fmt: skip
        for key, label in EDGE_KEYS.items():
            if key in facts:
                entry[name][key] = {s: facts[key].get(s) for s in ("mean", "std", "n")}
                metrics[f"{name}: {label}"] = entry[name][key]
            row.append(_number(facts.get(key, {}).get("mean")))
        rows.append(row)
    columns = ["model", "kind", "parameters", "working point",
               *(f"{label} (mean)" for label in EDGE_KEYS.values())]  # fmt: skip
    text = ("GNN models of the run: size, and for the edge classifiers the edge ROC AUC and "
            "the edge efficiency and purity at the working point (mean ± std over the test "
            "events).")  # fmt: skip
    return json_ready({"title": "GNN models", "text": text, "metrics": metrics,
                   "table": {"columns": columns, "rows": rows}, "images": _images(images),
                   "order": 40, "summary": {"models": entry}})  # fmt: skip


CONVERTERS: dict[str, Callable[..., dict[str, Any]]] = {
    "fit": fit_section, "graph": graph_section, "models": models_section,
}  # fmt: skip
