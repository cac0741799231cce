"""The model kinds: building a model from its config section, and its inputs as tensors."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from trackrec.errors import TrackrecError
from trackrec.models.data import (
    EDGE_FEATURES,
    NODE_FEATURES,
    SCALAR_FEATURES,
    GraphEvent,
    Normalisation,
)

EDGE_CLASSIFIERS = ("interaction_network", "euclidnet")
MODEL_KINDS = (*EDGE_CLASSIFIERS, "condensation")


def model_features(kind: str) -> list[str]:
    """The input features of a model kind, as recorded in its provenance."""
    check_kind(kind)
    nodes = [f"vector:{v}" for v in ("x", "y")] + [f"scalar:{s}" for s in SCALAR_FEATURES] \
        if kind == "euclidnet" else [f"node:{n}" for n in NODE_FEATURES]
    return nodes + [f"edge:{e}" for e in EDGE_FEATURES]


def check_kind(kind: str) -> None:
    if kind not in MODEL_KINDS:
        raise TrackrecError(f"unknown GNN model {kind!r}; known: {', '.join(MODEL_KINDS)}")


def architecture(kind: str, section: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the model class, from the model's config section."""
    check_kind(kind)
    names = {
        "interaction_network": ("hidden", "iterations"),
        "euclidnet": ("hidden", "layers", "coordinate_scale"),
        "condensation": ("hidden", "iterations", "coordinates"),
    }[kind]
    missing = [n for n in names if n not in section]
    if missing:
        raise TrackrecError(f"gnn.{kind} lacks {', '.join(missing)}")
    return {n: section[n] for n in names}


def build_model(kind: str, arch: Mapping[str, Any]):
    """A fresh model of ``kind`` with the architecture ``arch`` (see :func:`architecture`)."""
    check_kind(kind)
    if kind == "interaction_network":
        from trackrec.models.interaction_network import InteractionNetwork

        return InteractionNetwork(node_features=len(NODE_FEATURES),
                                  edge_features=len(EDGE_FEATURES), **arch)
    if kind == "euclidnet":
        from trackrec.models.euclidnet import EuclidNet

        return EuclidNet(scalar_features=len(SCALAR_FEATURES), edge_features=len(EDGE_FEATURES),
                         **arch)
    from trackrec.models.condensation import CondensationNetwork

    return CondensationNetwork(node_features=len(NODE_FEATURES),
                               edge_features=len(EDGE_FEATURES), **arch)


@dataclasses.dataclass
class Batch:
    """A graph's model inputs (and targets when truth is known) as tensors on a device."""

    nodes: Any          # (N, 3) standardised r, phi, z
    scalars: Any        # (N, 2) standardised z, r (EuclidNet)
    vectors: Any        # (N, 2) x, y / VECTOR_SCALE (EuclidNet)
    edge_index: Any     # (2, E)
    edge_attr: Any      # (E, 4) standardised
    labels: Any | None  # (E,) float 0/1
    object_id: Any | None  # (N,) long, -1 for noise and particles under min_pt


def object_ids(event: GraphEvent, min_pt: float) -> np.ndarray:
    """Condensation targets: 0..K-1 per particle with pT >= min_pt, -1 for all other hits."""
    pid = event.particle_id
    keep = (pid != 0) & (np.nan_to_num(event.pt, nan=-1.0) >= min_pt)
    ids = np.full(len(pid), -1, dtype=np.int64)
    _, ids[keep] = np.unique(pid[keep], return_inverse=True)
    return ids


def make_batch(event: GraphEvent, norm: Normalisation, *, device: Any = "cpu",
               min_pt: float = 0.0) -> Batch:
    import torch

    def tensor(values: np.ndarray, dtype=torch.float32):
        return torch.as_tensor(np.ascontiguousarray(values), dtype=dtype, device=device)

    truth = event.has_truth
    return Batch(
        nodes=tensor(norm.nodes(event.node_features())),
        scalars=tensor(norm.scalars(event.scalar_features())),
        vectors=tensor(event.vectors()),
        edge_index=tensor(np.stack([event.src, event.dst]), torch.long),
        edge_attr=tensor(norm.edges(event.edge_features())),
        labels=tensor(event.labels().astype(np.float32)) if truth else None,
        object_id=tensor(object_ids(event, min_pt), torch.long) if truth else None,
    )


def run_model(model, kind: str, batch: Batch):
    """Edge logits ``(E,)`` for an edge classifier; ``(coords, beta)`` for condensation."""
    if kind == "euclidnet":
        return model(batch.scalars, batch.vectors, batch.edge_index, batch.edge_attr)
    return model(batch.nodes, batch.edge_index, batch.edge_attr)


def resolve_device(setting: str) -> str:
    """``auto`` -> cuda when available; ``cuda`` without CUDA warns and falls back to cpu."""
    import torch

    if setting not in ("auto", "cpu", "cuda"):
        raise TrackrecError(f"device must be auto, cpu or cuda, not {setting!r}")
    available = torch.cuda.is_available()
    if setting == "cuda" and not available:
        warnings.warn("device cuda asked for but CUDA is not available: running on the CPU",
                      RuntimeWarning, stacklevel=2)
        return "cpu"
    return "cuda" if setting in ("auto", "cuda") and available else "cpu"
