"""k nearest neighbours within a radius in the latent space (scipy cKDTree, CPU threads).

PyG's ``knn_graph`` needs pyg-lib or torch-cluster, which have no installable wheels here;
scipy's cKDTree with a radius cap is fast when the embedding separates tracks (see
``shared/reference/cpu-budget.md``) and exact.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def knn_neighbours(
    points: np.ndarray, k: int, radius: float, *, workers: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Each point's ``k`` nearest other points within ``radius``: ``(index, distance)``.

    Both are ``[n, k]``; missing neighbours have index ``n`` and distance ``inf`` (cKDTree's
    convention). Columns are in increasing distance.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    n = len(points)
    if n == 0 or k < 1:
        return np.full((n, max(k, 0)), n, np.int64), np.full((n, max(k, 0)), np.inf)
    tree = cKDTree(points)
    distance, index = tree.query(points, k=k + 1, distance_upper_bound=radius, workers=workers)
    distance = np.asarray(distance).reshape(n, k + 1)
    index = np.asarray(index, dtype=np.int64).reshape(n, k + 1)
    # drop each point itself (normally the first column; coincident points may swap places)
    is_self = index == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(is_self)
    keep[np.arange(n), drop] = False
    return index[keep].reshape(n, k), distance[keep].reshape(n, k)


def knn_edges(
    index: np.ndarray, distance: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges ``(src, dst, distance)`` from the first ``k`` neighbour columns."""
    n = len(index)
    index, distance = index[:, :k], distance[:, :k]
    found = index < n
    src = np.broadcast_to(np.arange(n)[:, None], index.shape)[found]
    return src.astype(np.int64), index[found], distance[found]
