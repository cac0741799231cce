"""Validation figures during training, and the ``models`` section of the run's summary."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from trackrec.metrics.edges import roc_auc

SUMMARY_EDGE_KEYS = ("edge_auc", "edge_eff", "edge_purity")


def validation_metrics(model, kind: str, batches: Sequence[Any],
                       loss_fn: Callable) -> dict[str, float]:
    """Mean validation loss over events and, for edge classifiers, the mean edge ROC AUC."""
    import torch

    from trackrec.models.registry import EDGE_CLASSIFIERS, run_model

    losses, aucs = [], []
    for batch in batches:
        output = run_model(model, kind, batch)
        losses.append(float(loss_fn(output, batch)))
        if kind in EDGE_CLASSIFIERS:
            aucs.append(roc_auc(batch.labels.cpu().numpy() > 0.5,
                                torch.sigmoid(output).cpu().numpy()))
    metrics = {"val_loss": float(np.mean(losses))}
    if aucs:
        metrics["val_edge_auc"] = float(np.nanmean(aucs))
    return metrics


def mean_std_n(values: Sequence[float]) -> dict[str, float]:
    """``{"mean", "std", "n"}`` over the finite values (std with ddof 1; NaN under 2)."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = len(finite)
    return {
        "mean": float(finite.mean()) if n else math.nan,
        "std": float(finite.std(ddof=1)) if n > 1 else math.nan,
        "n": n,
    }


def models_section(models: Mapping[str, Mapping[str, Any]],
                   per_event: Mapping[str, Sequence[Mapping[str, float]]],
                   working_point: float) -> dict[str, Any]:
    """The ``models`` section of ``summary.json``.

    ``models`` maps each model name to its facts (``kind``, ``n_params``); ``per_event`` maps
    edge classifiers to their per-test-event :func:`trackrec.metrics.edges.edge_metrics`.
    """
    section: dict[str, Any] = {}
    for name, facts in models.items():
        entry = dict(facts)
        events = per_event.get(name)
        if events is not None:
            entry["working_point"] = working_point
            entry["edge_auc"] = mean_std_n([m["edge_roc_auc"] for m in events])
            entry["edge_eff"] = mean_std_n([m["edge_eff"] for m in events])
            entry["edge_purity"] = mean_std_n([m["edge_purity"] for m in events])
            entry["edge_purity_pt"] = mean_std_n([m["edge_purity_pt"] for m in events])
        section[name] = entry
    return section
