"""GNN inference on one event: edge scores, or per-hit condensation coordinates and beta."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trackrec.io.checkpoint import load_torch_model
from trackrec.models.data import GraphEvent, Normalisation
from trackrec.models.registry import (
    EDGE_CLASSIFIERS,
    build_model,
    make_batch,
    model_features,
    run_model,
)


def expected_provenance(kind: str, arch: Mapping[str, Any]) -> dict[str, Any]:
    """What a checkpoint must say to be used for ``kind`` with architecture ``arch``."""
    expected: dict[str, Any] = {"kind": f"gnn_{kind}", "features": model_features(kind)}
    expected.update({f"config.{kind}.{k}": v for k, v in arch.items()})
    return expected


def load_model(path: str | Path, kind: str, arch: Mapping[str, Any], device: str = "cpu"):
    """The model in ``path`` (refused unless its provenance matches), its normalisation and provenance."""
    weights, provenance = load_torch_model(path, expected=expected_provenance(kind, arch))
    model = build_model(kind, arch)
    model.load_state_dict(weights)
    model.to(device).eval()
    return model, Normalisation.from_record(provenance["normalisation"]), provenance


def predict(model, kind: str, event: GraphEvent, norm: Normalisation,
            device: str = "cpu") -> pd.DataFrame:
    """The event's ``edge_scores`` rows (edge classifiers) or ``hit_condensation`` rows."""
    import torch

    batch = make_batch(event, norm, device=device)
    with torch.inference_mode():
        if event.n_edges == 0 and kind in EDGE_CLASSIFIERS:
            scores = np.zeros(0, dtype=np.float32)
        else:
            output = run_model(model, kind, batch)
            if kind in EDGE_CLASSIFIERS:
                scores = torch.sigmoid(output).cpu().numpy().astype(np.float32)
    if kind in EDGE_CLASSIFIERS:
        return pd.DataFrame({"src": event.src, "dst": event.dst, "score": scores})
    coords, beta = (t.cpu().numpy().astype(np.float32) for t in output)
    frame = pd.DataFrame({"hit_id": event.hit_id, "beta": beta})
    for i in range(coords.shape[1]):
        frame[f"c{i}"] = coords[:, i]
    return frame
