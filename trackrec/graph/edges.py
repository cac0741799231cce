"""Edge lists of a hit graph: orientation, duplicates, features, truth labels, the table.

Both constructions (geometric cuts, learned embedding + kNN) return row positions ``src``,
``dst`` into the hits table; :func:`graph_frame` turns them into the ``graph`` table of
:mod:`trackrec.io.schema`: each undirected edge once, oriented from the hit nearer the origin
to the farther one, with the features the GNN stages use (dr, dphi, dz, deta, latent
distance) and, when the hits carry truth, the label ``is_true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trackrec.graph.geometric import wrap_angle


def orient_and_deduplicate(
    src: np.ndarray, dst: np.ndarray, distance_from_origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each undirected edge once (self-loops dropped), from the nearer hit to the farther.

    Ties in distance are broken by the row position, so the orientation is deterministic.
    The result is sorted by (src, dst).
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    d_src, d_dst = distance_from_origin[src], distance_from_origin[dst]
    swap = (d_dst < d_src) | ((d_dst == d_src) & (dst < src))
    inner = np.where(swap, dst, src)
    outer = np.where(swap, src, dst)
    n = np.int64(len(distance_from_origin))
    key = np.unique(inner * n + outer)
    return key // n, key % n


def edge_features(hits: pd.DataFrame, src: np.ndarray, dst: np.ndarray) -> dict[str, np.ndarray]:
    """dr, dphi (wrapped), dz, deta of each edge: dst minus src."""
    def col(name: str) -> np.ndarray:
        return hits[name].to_numpy(np.float64)

    r, phi, z, eta = col("r"), col("phi"), col("z"), col("eta")
    return {
        "dr": r[dst] - r[src],
        "dphi": wrap_angle(phi[dst] - phi[src]),
        "dz": z[dst] - z[src],
        "deta": eta[dst] - eta[src],
    }


def graph_frame(
    hits: pd.DataFrame,
    src: np.ndarray,
    dst: np.ndarray,
    latent_distance: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ``graph`` table of edges ``src -> dst`` (row positions, already oriented)."""
    frame = pd.DataFrame({"src": src, "dst": dst})
    hit_id = hits["hit_id"].to_numpy(np.int64)
    frame["src_hit_id"] = hit_id[src]
    frame["dst_hit_id"] = hit_id[dst]
    for name, values in edge_features(hits, src, dst).items():
        frame[name] = values.astype(np.float32)
    frame["latent_distance"] = (
        np.full(len(src), np.nan, np.float32)
        if latent_distance is None
        else np.asarray(latent_distance, np.float32)
    )
    if "particle_id" in hits.columns:
        pid = hits["particle_id"].to_numpy()
        frame["is_true"] = (pid[src] == pid[dst]) & (pid[src] != 0)
    return frame


def distance_from_origin(hits: pd.DataFrame) -> np.ndarray:
    """sqrt(r^2 + z^2) of each hit (the orientation key)."""
    r = hits["r"].to_numpy(np.float64)
    z = hits["z"].to_numpy(np.float64)
    return np.hypot(r, z)
