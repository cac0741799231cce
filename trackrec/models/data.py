"""Hits and graph tables as model inputs: features, normalisation, labels, sub-graphs.

A :class:`GraphEvent` holds one event's hit graph as numpy arrays: hit positions, the edge
list (row positions in the hits table, ``src`` -> ``dst``), and when truth is known the edge
labels (both ends on the same non-noise particle) and each hit's particle and its pT. Edge
features are recomputed here from the hit positions, so every model sees the same
definitions whatever built the graph:

``dr``, ``dphi``, ``dz``, ``deta``
    ``dst`` minus ``src`` of the hit's transverse radius, azimuth (wrapped to [-pi, pi)), z
    and pseudorapidity. All four are invariant under rotations about the beam axis.

Node features are ``r, phi, z``; EuclidNet takes the invariant scalars ``z, r`` and the
transverse vector ``(x, y) / VECTOR_SCALE``. :class:`Normalisation` standardises features
with means and standard deviations measured on the training events (stored in the model's
provenance, so inference applies exactly what training used).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trackrec.errors import InputError

NODE_FEATURES = ("r", "phi", "z")
EDGE_FEATURES = ("dr", "dphi", "dz", "deta")
SCALAR_FEATURES = ("z", "r")
VECTOR_SCALE = 1000.0
"""mm per unit of EuclidNet's transverse vectors (a scale, not a shift: rotations commute)."""


@dataclasses.dataclass
class GraphEvent:
    """One event's hit graph (numpy arrays; truth fields are None without truth)."""

    event: str
    hit_id: np.ndarray        # (N,) int64
    xyz: np.ndarray           # (N, 3) float32, mm
    src: np.ndarray           # (E,) int64 row positions
    dst: np.ndarray           # (E,) int64
    particle_id: np.ndarray | None = None  # (N,) int64, 0 for noise
    pt: np.ndarray | None = None           # (N,) float32 particle pT, NaN for noise

    @property
    def n_hits(self) -> int:
        return len(self.hit_id)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    @property
    def has_truth(self) -> bool:
        return self.particle_id is not None

    def labels(self) -> np.ndarray:
        """True edges: both ends on the same particle, not noise."""
        if self.particle_id is None:
            raise ValueError(f"{self.event}: no truth, so no edge labels")
        a, b = self.particle_id[self.src], self.particle_id[self.dst]
        return (a == b) & (a != 0)

    def node_features(self) -> np.ndarray:
        r, phi, z = _cylindrical(self.xyz)
        return np.stack([r, phi, self.xyz[:, 2]], axis=1).astype(np.float32)

    def scalar_features(self) -> np.ndarray:
        r, _, _ = _cylindrical(self.xyz)
        return np.stack([self.xyz[:, 2], r], axis=1).astype(np.float32)

    def vectors(self) -> np.ndarray:
        return (self.xyz[:, :2] / VECTOR_SCALE).astype(np.float32)

    def edge_features(self) -> np.ndarray:
        return edge_features(self.xyz, self.src, self.dst)

    def subgraph(self, hits: np.ndarray) -> GraphEvent:
        """The graph induced by the hits where ``hits`` (bool mask) is true."""
        new_index = np.full(self.n_hits, -1, dtype=np.int64)
        new_index[hits] = np.arange(int(hits.sum()))
        keep = hits[self.src] & hits[self.dst]
        return GraphEvent(
            event=self.event, hit_id=self.hit_id[hits], xyz=self.xyz[hits],
            src=new_index[self.src[keep]], dst=new_index[self.dst[keep]],
            particle_id=None if self.particle_id is None else self.particle_id[hits],
            pt=None if self.pt is None else self.pt[hits],
        )

    def phi_sector(self, start: float, width: float) -> GraphEvent:
        """Sub-graph of the hits with azimuth in ``[start, start + width)`` (mod 2 pi)."""
        _, phi, _ = _cylindrical(self.xyz)
        return self.subgraph(np.mod(phi - start, 2 * np.pi) < width)


def _cylindrical(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, z = (xyz[:, i].astype(np.float64) for i in range(3))
    return np.hypot(x, y), np.arctan2(y, x), z


def edge_features(xyz: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``(E, 4)`` float32: dr, dphi (wrapped), dz, deta from ``src`` to ``dst``."""
    r, phi, z = _cylindrical(xyz)
    eta = np.arcsinh(z / np.maximum(r, 1e-9))
    dphi = np.mod(phi[dst] - phi[src] + np.pi, 2 * np.pi) - np.pi
    return np.stack([r[dst] - r[src], dphi, z[dst] - z[src], eta[dst] - eta[src]],
                    axis=1).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Normalisation:
    """Per-feature mean and standard deviation (from training events)."""

    node_mean: tuple[float, ...]
    node_std: tuple[float, ...]
    edge_mean: tuple[float, ...]
    edge_std: tuple[float, ...]

    @classmethod
    def measure(cls, events: Sequence[GraphEvent]) -> Normalisation:
        nodes = np.concatenate([e.node_features() for e in events]).astype(np.float64)
        edges = np.concatenate([e.edge_features() for e in events]).astype(np.float64)
        if len(nodes) == 0 or len(edges) == 0:
            raise ValueError("no hits or no edges in the training events")
        return cls(tuple(nodes.mean(0)), tuple(_safe_std(nodes)),
                   tuple(edges.mean(0)), tuple(_safe_std(edges)))

    @classmethod
    def from_record(cls, record: dict[str, Sequence[float]]) -> Normalisation:
        return cls(*(tuple(float(v) for v in record[f.name]) for f in dataclasses.fields(cls)))

    def record(self) -> dict[str, list[float]]:
        return {f.name: list(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def nodes(self, values: np.ndarray) -> np.ndarray:
        return ((values - np.asarray(self.node_mean)) / np.asarray(self.node_std)).astype(np.float32)

    def edges(self, values: np.ndarray) -> np.ndarray:
        return ((values - np.asarray(self.edge_mean)) / np.asarray(self.edge_std)).astype(np.float32)

    def scalars(self, values: np.ndarray) -> np.ndarray:
        """EuclidNet's scalars (z, r), standardised with the node statistics of z and r."""
        order = [NODE_FEATURES.index(name) for name in SCALAR_FEATURES]
        mean = np.asarray(self.node_mean)[order]
        std = np.asarray(self.node_std)[order]
        return ((values - mean) / std).astype(np.float32)


def _safe_std(values: np.ndarray) -> np.ndarray:
    std = values.std(0)
    return np.where(std > 0, std, 1.0)


# --------------------------------------------------------------------------------------
# reading tables

def read_graph_event(hits_path: str | Path, graph_path: str | Path,
                     event: str | None = None) -> GraphEvent:
    """An event's hits table and graph table as a :class:`GraphEvent`.

    The graph's ``src``/``dst`` are row positions in the hits table, and its hit ids must
    match those rows. Truth (particle ids and pT) is taken from the hits table when it has it.
    """
    from trackrec.io.parquet import read_table

    hits_path, graph_path = Path(hits_path), Path(graph_path)
    has_truth = "particle_id" in _columns(hits_path)
    columns = ["hit_id", "x", "y", "z"] + (["particle_id", "pt"] if has_truth else [])
    hits = read_table(hits_path, "hits", columns=columns)
    graph = read_table(graph_path, "graph", columns=["src", "dst", "src_hit_id", "dst_hit_id"])
    src = graph["src"].to_numpy(np.int64)
    dst = graph["dst"].to_numpy(np.int64)
    hit_id = hits["hit_id"].to_numpy(np.int64)
    n = len(hits)
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise InputError(graph_path, f"edge endpoints outside the {n} rows of {hits_path.name}")
    if not (np.array_equal(hit_id[src], graph["src_hit_id"].to_numpy(np.int64))
            and np.array_equal(hit_id[dst], graph["dst_hit_id"].to_numpy(np.int64))):
        raise InputError(graph_path, f"edge hit ids do not match the rows of {hits_path.name} "
                                     "(graph built on another hits table?)")
    return GraphEvent(
        event=event or hits_path.stem,
        hit_id=hit_id,
        xyz=hits[["x", "y", "z"]].to_numpy(np.float32),
        src=src, dst=dst,
        particle_id=hits["particle_id"].to_numpy(np.int64) if has_truth else None,
        pt=hits["pt"].to_numpy(np.float32) if has_truth else None,
    )


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except OSError as err:
        raise InputError(path, f"not a readable Parquet file ({err})") from None
