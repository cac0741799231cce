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


def knn_neighbours_torch(points, k: int, radius: float, *, chunk: int = 4096
                         ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`knn_neighbours` by brute force in chunks of rows with torch (for a GPU).

    ``points`` is a ``[n, d]`` tensor on any device; each chunk of ``chunk`` rows computes its
    distances to all points and keeps the ``k + 1`` smallest, so memory is ``chunk * n``
    floats. Same output convention as :func:`knn_neighbours` (numpy arrays on the CPU).
    """
    import torch

    n = points.shape[0]
    kk = min(k + 1, n)
    index = np.full((n, k), n, np.int64)
    distance = np.full((n, k), np.inf)
    if n == 0 or k < 1:
        return index, distance
    points = points.float()
    rows = torch.arange(n, device=points.device)
    for start in range(0, n, chunk):
        block = points[start:start + chunk]
        d = torch.cdist(block, points)  # [chunk, n]
        d[torch.arange(len(block), device=points.device), rows[start:start + chunk]] = float("inf")
        values, idx = torch.topk(d, kk, dim=1, largest=False)  # sorted ascending
        values, idx = values[:, :k].double().cpu().numpy(), idx[:, :k].cpu().numpy()
        outside = ~(values <= radius)
        idx[outside], values[outside] = n, np.inf
        index[start:start + len(block), :idx.shape[1]] = idx
        distance[start:start + len(block), :idx.shape[1]] = values
    return index, distance
