"""Track building from scored hit graphs: connected components and a walk-through.

Both builders read an edge classifier's output (``edge_scores``: ``src``, ``dst`` and
``score`` per graph edge, with ``src``/``dst`` row positions in the hits table and each edge
oriented from the hit nearer the origin to the farther one) and give every hit a track
label (int64, ``>= 0``; hits on no kept edge are single-hit tracks).

- :func:`component_labels`: connected components of the edges with ``score >= score_cut``
  (the Exa.TrkX baseline). Two tracks joined by one wrong edge, or sharing a hit, merge.
- :func:`walkthrough_labels`: starting from the innermost unassigned hit, follow the
  highest-scoring kept edge outwards to an unassigned hit, hit by hit, until none is left
  (when that edge skips a hit that the kept edges join in between, step to that hit first);
  then start again from the next innermost unassigned hit. A hit belongs to one track only:
  when a walk meets a hit another track already took, it hops over it to that hit's best
  unassigned successor (both edges kept), so two tracks crossing at a shared hit stay two
  tracks, the later one without the shared hit. Graphs join hits of different layers only,
  but a particle crossing two overlapping modules leaves two hits in one layer: once a walk
  ends, each unassigned hit in the layer of one of its hits that the kept edges join to the
  walk's hits before and after that one (only after it for the first hit, only before it
  for the last) joins the track too.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _check_edges(
    n_hits: int, src: np.ndarray, dst: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = np.ascontiguousarray(src, dtype=np.int64)
    dst = np.ascontiguousarray(dst, dtype=np.int64)
    score = np.ascontiguousarray(score, dtype=np.float64)
    if not (src.shape == dst.shape == score.shape) or src.ndim != 1:
        raise ValueError("src, dst and score must be 1-d arrays of one length")
    if n_hits < 0:
        raise ValueError(f"n_hits must be >= 0, not {n_hits}")
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n_hits):
        raise ValueError(f"edge endpoints must be hit rows in [0, {n_hits})")
    if not np.isfinite(score).all():
        raise ValueError("edge scores must be finite")
    return src, dst, score


def _check_cut(score_cut: float) -> None:
    if not 0.0 <= score_cut <= 1.0:
        raise ValueError(f"score_cut must be in [0, 1], not {score_cut}")


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0.. in order of first appearance (hit order)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return order[inverse].astype(np.int64)


def component_labels(
    n_hits: int, src: np.ndarray, dst: np.ndarray, score: np.ndarray, score_cut: float
) -> np.ndarray:
    """Track label per hit: connected components of the edges with ``score >= score_cut``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    src, dst, score = _check_edges(n_hits, src, dst, score)
    _check_cut(score_cut)
    if n_hits == 0:
        return np.zeros(0, dtype=np.int64)
    keep = score >= score_cut
    adjacency = coo_matrix(
        (np.ones(keep.sum(), dtype=np.int8), (src[keep], dst[keep])), shape=(n_hits, n_hits)
    ).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    return _relabel(labels)


def walkthrough_labels(
    n_hits: int,
    src: np.ndarray,
    dst: np.ndarray,
    score: np.ndarray,
    radius: np.ndarray,
    score_cut: float,
    layer: np.ndarray | None = None,
) -> np.ndarray:
    """Track label per hit from the walk-through (see the module docstring).

    ``radius`` (one value per hit) orders the starting hits, innermost first; ties go to the
    lower hit row. Among equal scores the edge listed first wins. ``layer`` (one integer per
    hit, e.g. ``1000 * volume_id + layer_id``) lets same-layer hits join a walk; None: no
    hit joins. Deterministic.
    """
    src, dst, score = _check_edges(n_hits, src, dst, score)
    _check_cut(score_cut)
    radius = np.ascontiguousarray(radius, dtype=np.float64)
    if radius.shape != (n_hits,):
        raise ValueError(f"radius must have one value per hit ({n_hits}), not {radius.shape}")
    if layer is None:
        layer = -1 - np.arange(n_hits, dtype=np.int64)  # every hit its own layer
    layer = np.ascontiguousarray(layer, dtype=np.int64)
    if layer.shape != (n_hits,):
        raise ValueError(f"layer must have one value per hit ({n_hits}), not {layer.shape}")
    if n_hits == 0:
        return np.zeros(0, dtype=np.int64)
    keep = np.flatnonzero(score >= score_cut)
    # outgoing kept edges of each hit, best score first (stable: listing order breaks ties)
    order = keep[np.lexsort((np.arange(len(keep)), -score[keep], src[keep]))]
    offsets = np.zeros(n_hits + 1, dtype=np.int64)
    np.cumsum(np.bincount(src[order], minlength=n_hits), out=offsets[1:])
    # incoming kept edges of each hit, in listing order
    incoming = keep[np.argsort(dst[keep], kind="stable")]
    in_offsets = np.zeros(n_hits + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst[incoming], minlength=n_hits), out=in_offsets[1:])
    starts = np.lexsort((np.arange(n_hits), radius)).astype(np.int64)
    labels = _walk(offsets, np.ascontiguousarray(dst[order]), np.ascontiguousarray(score[order]),
                   in_offsets, np.ascontiguousarray(src[incoming]), layer, starts)
    return _relabel(labels)


@njit(cache=True)
def _has_edge(a, b, offsets, targets):  # pragma: no cover - numba
    for e in range(offsets[a], offsets[a + 1]):
        if targets[e] == b:
            return True
    return False


@njit(cache=True)
def _best_next(node, offsets, targets, scores, labels):  # pragma: no cover - numba
    """Best unassigned successor of ``node``: directly, else hopping over a taken hit.

    A direct successor that the best one is itself a successor of comes first (the best
    edge skipped a layer; take the hit between), the best-scoring such one.
    """
    for e in range(offsets[node], offsets[node + 1]):
        best = targets[e]
        if labels[best] < 0:  # edges are sorted best first
            for f in range(offsets[node], offsets[node + 1]):
                middle = targets[f]
                if middle != best and labels[middle] < 0 and _has_edge(
                    middle, best, offsets, targets
                ):
                    return middle
            return best
    best, best_score = -1, -1.0
    for e in range(offsets[node], offsets[node + 1]):
        middle = targets[e]
        for f in range(offsets[middle], offsets[middle + 1]):
            if labels[targets[f]] < 0:
                hop = scores[e] * scores[f]
                if hop > best_score:
                    best, best_score = targets[f], hop
                break  # the first unassigned successor of middle is its best
    return best


@njit(cache=True)
def _absorb_same_layer(path, length, track, offsets, targets, in_offsets, sources, layer,
                       labels):  # pragma: no cover - numba
    """Unassigned hits in the layer of a path hit, joined to its neighbours on the path."""
    for i in range(length):
        hit = path[i]
        if i == 0:  # first hit: hits s -> path[1]
            for e in range(in_offsets[path[1]], in_offsets[path[1] + 1]):
                s = sources[e]
                if labels[s] < 0 and layer[s] == layer[hit]:
                    labels[s] = track
        else:  # path[i-1] -> s (and s -> path[i+1] unless last)
            before = path[i - 1]
            for e in range(offsets[before], offsets[before + 1]):
                s = targets[e]
                if labels[s] < 0 and layer[s] == layer[hit] and (
                    i == length - 1 or _has_edge(s, path[i + 1], offsets, targets)
                ):
                    labels[s] = track


@njit(cache=True)
def _walk(offsets, targets, scores, in_offsets, sources, layer, starts):  # pragma: no cover
    n = len(offsets) - 1
    labels = np.full(n, -1, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    track = 0
    for start in starts:
        if labels[start] >= 0:
            continue
        node = start
        length = 0
        while node >= 0:
            labels[node] = track
            path[length] = node
            length += 1
            node = _best_next(node, offsets, targets, scores, labels)
        if length > 1:
            _absorb_same_layer(path, length, track, offsets, targets, in_offsets, sources,
                               layer, labels)
        track += 1
    return labels
