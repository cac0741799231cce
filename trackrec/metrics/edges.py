"""Edge-level metrics for a hit graph with edge scores (graph construction, edge classifiers).

A graph is given as parallel arrays ``src``, ``dst`` (row positions in the hits frame, not
hit ids) and ``scores`` (edge classifier outputs, nominally in [0, 1]). Definitions:

* a **true edge** joins two different hits of the same non-noise particle
  (``hits.particle_id``); it is **of interest** when that particle is a particle of interest:
  ``reconstructable``, ``|eta| < max_abs_eta`` and ``pt > pt_threshold``;
* an edge is **kept** when ``score > threshold``;
* the **truth segments** of a particle join its hits in order of distance from its production
  vertex (``vx, vy, vz``): ``n - 1`` segments for ``n`` hits. An edge in either direction
  between the two hits of a segment finds it.
* a particle's hits are its rows in the given hits frame: for a graph built on filtered hits,
  hits the filter removed are not counted (and a particle of interest with no hits left fails
  ``segment50``), so the figures measure graph building alone, not the filter.

Keys of :func:`edge_metrics` (ratios with an empty denominator are NaN):

``edge_eff``
    kept true edges of interest / true edges of interest in the graph (the classifier's
    efficiency, blind to what graph construction lost).
``edge_eff_total``
    truth segments of particles of interest found by a kept edge / all such segments (the
    whole chain's efficiency; skip-layer true edges do not count here).
``edge_purity``
    kept true edges / kept edges (all particles).
``edge_purity_pt``
    kept true edges of interest / kept edges that are false or of interest (true edges of
    other particles, e.g. low pT, are neither right nor wrong at this threshold).
``edge_roc_auc``
    area under the ROC curve of ``scores`` for separating true from false edges (all
    particles; ties count one half).
``edges_per_hit``
    edges / hits in the hits frame.
``segment50``, ``segment50_kept``
    fraction of particles of interest whose largest connected component through true edges
    of the graph (all edges, or kept edges only) holds at least 50% of the particle's hits.
``n_edges_segment50_95``
    taking edges in decreasing score order (ties in the given order), the fewest edges whose
    true edges give at least 95% of ``segment50``: what a score cut can prune to while keeping
    the graph useful for track building.
``n_edges``, ``n_edges_kept``, ``n_true_edges``, ``n_truth_segments``
    the counts behind the ratios (``n_truth_segments`` of particles of interest).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse
from scipy.sparse.csgraph import connected_components
from scipy.stats import rankdata

from trackrec.errors import TrackrecError

HITS_COLUMNS = ("particle_id", "x", "y", "z")
PARTICLE_COLUMNS = ("particle_id", "pt", "eta", "reconstructable", "vx", "vy", "vz")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC from ranks (Mann-Whitney U); NaN unless both classes are present."""
    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(np.asarray(scores, dtype=np.float64))  # ties get their average rank
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator > 0 else math.nan


def _validate(
    src: np.ndarray,
    dst: np.ndarray,
    scores: np.ndarray,
    hits: pd.DataFrame,
    particles: pd.DataFrame,
) -> None:
    for frame, columns, what in (
        (hits, HITS_COLUMNS, "hits"),
        (particles, PARTICLE_COLUMNS, "particles"),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise TrackrecError(
                f"{what} table lacks column(s) {', '.join(missing)} (edge metrics need truth)"
            )
    if not (src.ndim == dst.ndim == scores.ndim == 1 and len(src) == len(dst) == len(scores)):
        raise TrackrecError(
            f"src, dst and scores must be 1-d of one length, got {src.shape}, {dst.shape}, {scores.shape}"
        )
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= len(hits)):
        raise TrackrecError(f"edge endpoints must be hit row positions in [0, {len(hits)})")
    if not np.isfinite(scores).all():
        raise TrackrecError("edge scores must be finite")


def truth_segments(
    hits: pd.DataFrame, particles: pd.DataFrame, of_interest: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) hit row positions of the truth segments of the selected particles.

    ``of_interest`` masks the rows of ``particles``. Each particle's hits are ordered by
    distance from its vertex and joined consecutively.
    """
    selected = particles.loc[of_interest, ["particle_id", "vx", "vy", "vz"]]
    particle_row = pd.Index(selected["particle_id"].to_numpy()).get_indexer(
        hits["particle_id"].to_numpy()
    )
    rows = np.flatnonzero(particle_row >= 0)
    owner = particle_row[rows]
    vertex = selected[["vx", "vy", "vz"]].to_numpy(dtype=np.float64)[owner]
    position = hits[["x", "y", "z"]].to_numpy(dtype=np.float64)[rows]
    distance = np.linalg.norm(position - vertex, axis=1)
    order = np.lexsort((distance, owner))
    rows, owner = rows[order], owner[order]
    same = owner[1:] == owner[:-1]
    return rows[:-1][same], rows[1:][same]


def _pair_key(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    return np.minimum(a, b) * n + np.maximum(a, b)


def _count_segment50(
    n_nodes: int,
    src: np.ndarray,
    dst: np.ndarray,
    node_particle: np.ndarray,
    particle_size: np.ndarray,
) -> int:
    """Particles whose largest component (nodes joined by the edges) has >= half their hits.

    Nodes are ``0..n_nodes-1``; ``node_particle`` gives each node's particle code, and every
    edge must join two nodes of one particle.
    """
    if len(particle_size) == 0:
        return 0
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n_nodes, n_nodes)
    )
    _, label = connected_components(graph, directed=False)
    # Components never span two particles, so the component label alone identifies the pair.
    component_size = np.bincount(label, minlength=n_nodes)
    largest = np.zeros(len(particle_size), dtype=np.int64)
    np.maximum.at(largest, node_particle, component_size[label])
    return int(((2 * largest >= particle_size) & (particle_size > 0)).sum())


def edge_metrics(
    src: np.ndarray,
    dst: np.ndarray,
    scores: np.ndarray,
    hits: pd.DataFrame,
    particles: pd.DataFrame,
    *,
    threshold: float = 0.5,
    pt_threshold: float = 0.9,
    max_abs_eta: float = 4.0,
) -> dict[str, float]:
    """Edge efficiencies, purities, ROC AUC and segment50 figures (module docstring)."""
    src = np.asarray(src)
    dst = np.asarray(dst)
    scores = np.asarray(scores, dtype=np.float64)
    _validate(src, dst, scores, hits, particles)
    src = src.astype(np.int64)
    dst = dst.astype(np.int64)
    n_hits = len(hits)

    hit_pid = hits["particle_id"].to_numpy()
    true = (hit_pid[src] == hit_pid[dst]) & (hit_pid[src] != 0) & (src != dst)
    of_interest = (
        particles["reconstructable"].to_numpy(dtype=bool)
        & (np.abs(particles["eta"].to_numpy(dtype=np.float64)) < max_abs_eta)
        & (particles["pt"].to_numpy(dtype=np.float64) > pt_threshold)
    )
    poi_ids = particles["particle_id"].to_numpy()[of_interest]
    # Dense code per hit of a particle of interest, -1 for every other hit.
    hit_code = pd.Index(poi_ids).get_indexer(hit_pid)
    true_of_interest = true & (hit_code[src] >= 0)
    kept = scores > threshold

    seg_first, seg_second = truth_segments(hits, particles, of_interest)
    segment_keys = _pair_key(seg_first, seg_second, n_hits)
    kept_true_keys = _pair_key(src[kept & true_of_interest], dst[kept & true_of_interest], n_hits)
    n_found_segments = int(np.isin(segment_keys, kept_true_keys).sum())

    # segment50 works on the hits of particles of interest only, renumbered compactly.
    poi_hits = np.flatnonzero(hit_code >= 0)
    node_of_hit = np.full(n_hits, -1, dtype=np.int64)
    node_of_hit[poi_hits] = np.arange(len(poi_hits))
    node_particle = hit_code[poi_hits]
    particle_size = np.bincount(node_particle, minlength=len(poi_ids))
    n_poi = len(poi_ids)

    def count50(edge_mask: np.ndarray) -> int:
        return _count_segment50(
            len(poi_hits),
            node_of_hit[src[edge_mask]],
            node_of_hit[dst[edge_mask]],
            node_particle,
            particle_size,
        )

    n_segment50 = count50(true_of_interest)
    n_edges_needed = (
        _edges_for_fraction(scores, true_of_interest, count50, n_segment50, 95)
        if n_poi
        else math.nan
    )

    return {
        "edge_eff": _ratio((kept & true_of_interest).sum(), true_of_interest.sum()),
        "edge_eff_total": _ratio(n_found_segments, len(segment_keys)),
        "edge_purity": _ratio((kept & true).sum(), kept.sum()),
        "edge_purity_pt": _ratio(
            (kept & true_of_interest).sum(), (kept & (true_of_interest | ~true)).sum()
        ),
        "edge_roc_auc": roc_auc(true, scores),
        "edges_per_hit": _ratio(len(src), n_hits),
        "segment50": _ratio(n_segment50, n_poi),
        "segment50_kept": _ratio(count50(kept & true_of_interest), n_poi),
        "n_edges_segment50_95": float(n_edges_needed),
        "n_edges": float(len(src)),
        "n_edges_kept": float(kept.sum()),
        "n_true_edges": float(true.sum()),
        "n_truth_segments": float(len(segment_keys)),
    }


def _edges_for_fraction(
    scores: np.ndarray,
    useful: np.ndarray,
    count: Callable[[np.ndarray], int],
    full_count: int,
    percent: int,
) -> int:
    """Fewest edges, in decreasing score order, whose ``useful`` ones reach ``percent``% of the count.

    ``count(mask)`` is monotone in the edges it is given, so a binary search over how many
    useful edges (in score order) are taken finds the least; the answer is then that last
    useful edge's position in the full score order, plus one.
    """
    order = np.argsort(-scores, kind="stable")
    position = np.empty(len(scores), dtype=np.int64)
    position[order] = np.arange(len(scores))
    useful_in_order = order[useful[order]]

    def reached(n_useful: int) -> bool:
        mask = np.zeros(len(scores), dtype=bool)
        mask[useful_in_order[:n_useful]] = True
        return 100 * count(mask) >= percent * full_count  # integers: no rounding at 95%

    lo, hi = 0, len(useful_in_order)  # reached(hi) holds by definition of full_count
    while lo < hi:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid + 1
    return 0 if lo == 0 else int(position[useful_in_order[lo - 1]]) + 1
