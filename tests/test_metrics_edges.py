"""Edge metrics: a hand-worked graph, brute-force references, the real sample's truth graph."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from trackrec.errors import TrackrecError
from trackrec.metrics.edges import edge_metrics, roc_auc, truth_segments


def micro_graph() -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """14 hits: A (rows 0-4, pt 2), B (rows 5-7, pt 0.5), C (rows 8-11, pt 1.5), noise 12-13."""
    x = [10, 20, 30, 40, 50] + [10, 20, 30] + [30, 10, 40, 20] + [5, 6]  # C's rows are shuffled
    y = [0] * 5 + [5] * 3 + [-5] * 4 + [9, 9]
    hits = pd.DataFrame(
        {
            "particle_id": [1] * 5 + [2] * 3 + [3] * 4 + [0, 0],
            "x": np.array(x, dtype=float),
            "y": np.array(y, dtype=float),
            "z": 0.0,
        }
    )
    particles = pd.DataFrame(
        {
            "particle_id": [1, 2, 3],
            "pt": [2.0, 0.5, 1.5],
            "eta": [0.0, 0.0, 1.0],
            "reconstructable": True,
            "vx": 0.0,
            "vy": [0.0, 5.0, -5.0],
            "vz": 0.0,
        }
    )
    edges = [
        (0, 1, 0.90),  # e0  A segment
        (1, 2, 0.30),  # e1  A segment
        (2, 3, 0.80),  # e2  A segment
        (3, 4, 0.35),  # e3  A segment
        (0, 2, 0.45),  # e4  A, skips a hit
        (5, 6, 0.70),  # e5  B (low pT)
        (6, 7, 0.20),  # e6  B
        (11, 9, 0.95),  # e7  C segment (9, 11): C in distance order is rows 9, 11, 8, 10
        (10, 8, 0.40),  # e8  C segment (8, 10)
        (8, 9, 0.45),  # e9  C, skips a hit
        (0, 5, 0.85),  # e10 false: A-B
        (12, 13, 0.65),  # e11 false: noise-noise
        (4, 12, 0.10),  # e12 false: A-noise
    ]
    src, dst, scores = (np.array(v) for v in zip(*edges))
    return src, dst, scores, hits, particles


def test_micro_graph_by_hand() -> None:
    src, dst, scores, hits, particles = micro_graph()
    m = edge_metrics(src, dst, scores, hits, particles, threshold=0.5, pt_threshold=0.9)
    # Particles of interest: A and C. True edges: e0-e9 (10); of interest: e0-e4, e7-e9 (8).
    # Kept (> 0.5): e0, e2, e5, e7, e10, e11 (6); kept true of interest: e0, e2, e7 (3).
    assert (m["n_edges"], m["n_edges_kept"], m["n_true_edges"]) == (13, 6, 10)
    assert m["edge_eff"] == pytest.approx(3 / 8)
    assert m["edge_purity"] == pytest.approx(4 / 6)  # e0, e2, e5, e7 of 6 kept
    assert m["edge_purity_pt"] == pytest.approx(3 / 5)  # e5 (low-pT B) left out of both
    # Segments: A (0,1) (1,2) (2,3) (3,4); C (9,11) (11,8) (8,10). Kept: (0,1) (2,3) (9,11).
    assert m["n_truth_segments"] == 7
    assert m["edge_eff_total"] == pytest.approx(3 / 7)
    # AUC: negatives 0.85, 0.65, 0.1 are beaten by 2, 4 and 10 of the 10 positives: 16/30.
    assert m["edge_roc_auc"] == pytest.approx(16 / 30)
    assert m["edges_per_hit"] == pytest.approx(13 / 14)
    # All true edges join all of A and all of C: both pass.
    assert m["segment50"] == 1.0
    # Kept: A in {0,1} and {2,3}: 2/5 < 50%; C {9,11}: 2/4 = 50% passes.
    assert m["segment50_kept"] == 0.5
    # In score order: e7 (.95) gives C; then e0 .9, e10 .85, e2 .8, e5 .7, e11 .65, and e4
    # (.45, before e9 by input order) joins {0,1} and {2,3} = 4/5 of A: 7 edges for 2/2.
    assert m["n_edges_segment50_95"] == 7


def test_truth_segments_follow_distance_from_vertex() -> None:
    _, _, _, hits, particles = micro_graph()
    first, second = truth_segments(hits, particles, np.array([False, False, True]))
    assert sorted(zip(first.tolist(), second.tolist())) == [(8, 10), (9, 11), (11, 8)]


def test_bad_graphs_are_errors() -> None:
    src, dst, scores, hits, particles = micro_graph()
    with pytest.raises(TrackrecError, match=r"\[0, 14\)"):
        edge_metrics(src, dst + 14, scores, hits, particles)
    with pytest.raises(TrackrecError, match="one length"):
        edge_metrics(src, dst, scores[:-1], hits, particles)
    with pytest.raises(TrackrecError, match="vx"):
        edge_metrics(src, dst, scores, hits, particles.drop(columns="vx"))


def test_no_particles_of_interest_gives_nan() -> None:
    src, dst, scores, hits, particles = micro_graph()
    m = edge_metrics(src, dst, scores, hits, particles, pt_threshold=10.0)
    for key in (
        "edge_eff",
        "edge_eff_total",
        "segment50",
        "segment50_kept",
        "n_edges_segment50_95",
    ):
        assert math.isnan(m[key]), key
    assert m["edge_purity"] == pytest.approx(4 / 6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0])),
        min_size=2,
        max_size=40,
    )
)
def test_roc_auc_matches_sklearn(points: list[tuple[bool, float]]) -> None:
    labels = np.array([p[0] for p in points])
    scores = np.array([p[1] for p in points])
    if labels.all() or not labels.any():
        assert math.isnan(roc_auc(labels, scores))
    else:
        assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def brute_segment50(
    n_hits: int, particle: list[int], of_interest: set[int], edges: list[tuple[int, int]]
) -> int:
    """Particles of interest whose largest true-edge component holds >= half their hits."""
    parent = list(range(n_hits))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        if particle[a] == particle[b] != 0 and a != b:
            parent[find(a)] = find(b)
    passed = 0
    for p in of_interest:
        members = [i for i in range(n_hits) if particle[i] == p]
        roots = [find(i) for i in members]
        if members and 2 * max(roots.count(r) for r in roots) >= len(members):
            passed += 1
    return passed


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_segment50_and_edge_count_match_brute_force(data: st.DataObject) -> None:
    n_hits = data.draw(st.integers(2, 25))
    particle = data.draw(st.lists(st.integers(0, 4), min_size=n_hits, max_size=n_hits))
    n_edges = data.draw(st.integers(0, 40))
    pairs = data.draw(
        st.lists(
            st.tuples(st.integers(0, n_hits - 1), st.integers(0, n_hits - 1)),
            min_size=n_edges,
            max_size=n_edges,
        )
    )
    scores = np.array(
        data.draw(
            st.lists(st.sampled_from([0.1, 0.4, 0.6, 0.9]), min_size=n_edges, max_size=n_edges)
        )
    )
    pt = data.draw(st.lists(st.sampled_from([0.5, 2.0]), min_size=4, max_size=4))
    hits = pd.DataFrame(
        {"particle_id": particle, "x": np.arange(n_hits, dtype=float), "y": 0.0, "z": 0.0}
    )
    particles = pd.DataFrame(
        {
            "particle_id": [1, 2, 3, 4],
            "pt": pt,
            "eta": 0.0,
            "reconstructable": True,
            "vx": 0.0,
            "vy": 0.0,
            "vz": 0.0,
        }
    )
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    m = edge_metrics(src, dst, scores, hits, particles)

    of_interest = {p for p, value in zip([1, 2, 3, 4], pt) if value > 0.9}
    if not of_interest:
        assert math.isnan(m["segment50"])
        return
    full = brute_segment50(n_hits, particle, of_interest, pairs)
    assert m["segment50"] == pytest.approx(full / len(of_interest))
    kept = [pair for pair, s in zip(pairs, scores) if s > 0.5]
    assert m["segment50_kept"] == pytest.approx(
        brute_segment50(n_hits, particle, of_interest, kept) / len(of_interest)
    )
    order = sorted(range(n_edges), key=lambda i: (-scores[i], i))
    needed = next(
        k for k in range(n_edges + 1)
        if 100 * brute_segment50(n_hits, particle, of_interest, [pairs[i] for i in order[:k]]) >= 95 * full
    )  # fmt: skip
    assert m["n_edges_segment50_95"] == needed


def test_real_sample_truth_graph(sample_prefix: Path) -> None:
    from test_metrics_tracking import sample_tables

    hits, particles = sample_tables(sample_prefix)
    everyone = np.ones(len(particles), dtype=bool)
    first, second = truth_segments(hits, particles, everyone)
    rng = np.random.default_rng(1)
    false_src = rng.integers(0, len(hits), 2000)
    false_dst = rng.integers(0, len(hits), 2000)
    pid = hits["particle_id"].to_numpy()
    is_false = (pid[false_src] != pid[false_dst]) | (pid[false_src] == 0)
    src = np.concatenate([first, false_src[is_false]])
    dst = np.concatenate([second, false_dst[is_false]])
    scores = np.concatenate([np.ones(len(first)), np.zeros(is_false.sum())])
    m = edge_metrics(src, dst, scores, hits, particles)
    assert m["edge_eff"] == m["edge_eff_total"] == m["edge_purity"] == m["edge_purity_pt"] == 1.0
    assert m["edge_roc_auc"] == 1.0 and m["segment50"] == 1.0 and m["segment50_kept"] == 1.0
    assert m["n_edges_segment50_95"] <= len(first)
