"""Track builders on hand-made micro graphs with exact expected tracks, and the walk-through
kernel against a slow obvious reference on random graphs."""

from __future__ import annotations

import numpy as np
import pytest

from trackrec.tracking.condensation import OcDbscanParams, condensation_labels, scan_dbscan
from trackrec.tracking.graph_builders import component_labels, walkthrough_labels


def _tracks(labels: np.ndarray) -> set[frozenset[int]]:
    """The hit rows of each track with more than one hit."""
    groups: dict[int, set[int]] = {}
    for row, label in enumerate(labels):
        groups.setdefault(int(label), set()).add(row)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


# Two tracks crossing at a shared hit 2: A = 0 -> 2 -> 3 -> 5, B = 1 -> 2 -> 4 -> 6,
# plus a low-score fake 3 -> 6. Radii grow with the layer.
X_RADIUS = np.array([10.0, 11.0, 20.0, 30.0, 31.0, 40.0, 41.0])
X_EDGES = np.array(
    [(0, 2, 0.95), (1, 2, 0.90), (2, 3, 0.92), (2, 4, 0.85), (3, 5, 0.97), (4, 6, 0.96),
     (3, 6, 0.2)]
)


def _x() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return X_EDGES[:, 0].astype(int), X_EDGES[:, 1].astype(int), X_EDGES[:, 2]


def test_components_merge_crossing_tracks_and_drop_low_scores() -> None:
    src, dst, score = _x()
    assert _tracks(component_labels(7, src, dst, score, 0.5)) == {frozenset(range(7))}
    # above every score: all singletons
    labels = component_labels(7, src, dst, score, 0.99)
    assert sorted(labels) == list(range(7))
    # the cut keeps edges at exactly the cut
    assert _tracks(component_labels(3, np.array([0]), np.array([1]), np.array([0.5]), 0.5)) == {
        frozenset({0, 1})
    }


def test_walkthrough_splits_tracks_sharing_a_hit() -> None:
    src, dst, score = _x()
    labels = walkthrough_labels(7, src, dst, score, X_RADIUS, 0.5)
    # A walks first (innermost) and keeps the shared hit; B hops over it to 4
    assert _tracks(labels) == {frozenset({0, 2, 3, 5}), frozenset({1, 4, 6})}
    assert labels.dtype == np.int64 and labels.min() == 0


def test_walkthrough_follows_the_best_branch_and_restarts_at_the_rest() -> None:
    # 0 -> 1 -> {2 (0.9), 3 (0.7)}; 3 -> 4: the branch 3-4 becomes its own track
    src, dst = np.array([0, 1, 1, 3]), np.array([1, 2, 3, 4])
    score = np.array([0.9, 0.9, 0.7, 0.8])
    radius = np.array([1.0, 2.0, 3.0, 3.0, 4.0])
    labels = walkthrough_labels(5, src, dst, score, radius, 0.5)
    assert _tracks(labels) == {frozenset({0, 1, 2}), frozenset({3, 4})}
    # a cut above 0.8 leaves only the first two edges
    labels = walkthrough_labels(5, src, dst, score, radius, 0.85)
    assert _tracks(labels) == {frozenset({0, 1, 2})}


def test_walkthrough_takes_same_layer_hits_along() -> None:
    # a particle through overlapping modules: layer 0 hits 0, 1; layer 1 hits 2, 3; layer 2
    # hit 4; layer 3 hits 5, 6. Graph edges join layers only; 7 is another particle's hit
    # in layer 1 joined to 0 alone (not to 4): it stays out.
    edges = [(0, 2, 0.9), (1, 2, 0.8), (0, 3, 0.85), (1, 3, 0.8), (2, 4, 0.9), (3, 4, 0.9),
             (4, 5, 0.9), (4, 6, 0.8), (0, 7, 0.6)]
    src, dst, score = (np.array([e[i] for e in edges]) for i in range(3))
    radius = np.array([30.0, 31.0, 70.0, 71.0, 110.0, 150.0, 151.0, 70.5])
    layer = np.array([0, 0, 1, 1, 2, 3, 3, 1])
    labels = walkthrough_labels(8, src, dst, score, radius, 0.5, layer)
    assert _tracks(labels) == {frozenset(range(7))}
    assert len(set(labels)) == 2
    # without layers, the walk takes one hit a layer; the siblings make a second track,
    # hopping over the taken hit 4
    labels = walkthrough_labels(8, src, dst, score, radius, 0.5)
    assert _tracks(labels) == {frozenset({0, 2, 4, 5}), frozenset({1, 3, 6})}


def test_walkthrough_steps_to_the_hit_a_skip_edge_passes() -> None:
    # 0 -> 2 skips hit 1 (0 -> 1 -> 2 is the track); the skip edge scores best
    src, dst, score = np.array([0, 0, 1, 2]), np.array([2, 1, 2, 3]), np.array([.9, .6, .7, .9])
    labels = walkthrough_labels(4, src, dst, score, np.array([1.0, 2.0, 3.0, 4.0]), 0.5)
    assert _tracks(labels) == {frozenset({0, 1, 2, 3})}


def test_builders_on_empty_and_bad_input() -> None:
    empty = np.zeros(0)
    assert len(walkthrough_labels(0, empty, empty, empty, empty, 0.5)) == 0
    assert len(component_labels(0, empty, empty, empty, 0.5)) == 0
    assert list(walkthrough_labels(2, empty, empty, empty, np.array([2.0, 1.0]), 0.5)) == [0, 1]
    with pytest.raises(ValueError, match="hit rows"):
        component_labels(2, np.array([0]), np.array([2]), np.array([0.9]), 0.5)
    with pytest.raises(ValueError, match="score_cut"):
        walkthrough_labels(2, np.array([0]), np.array([1]), np.array([0.9]), np.ones(2), 1.5)
    with pytest.raises(ValueError, match="radius"):
        walkthrough_labels(2, np.array([0]), np.array([1]), np.array([0.9]), np.ones(3), 0.5)


def _reference_walk(n, src, dst, score, radius, cut, layer):
    """The walk-through written plainly: dicts, sorted lists, no CSR."""
    out: dict[int, list[tuple[float, int, int]]] = {i: [] for i in range(n)}
    into: dict[int, list[int]] = {i: [] for i in range(n)}
    for k, (s, d, w) in enumerate(zip(src, dst, score, strict=True)):
        if w >= cut:
            out[int(s)].append((-w, k, int(d)))
            into[int(d)].append(int(s))
    for edges in out.values():
        edges.sort()
    label = [-1] * n
    track = 0
    for start in sorted(range(n), key=lambda i: (radius[i], i)):
        if label[start] >= 0:
            continue
        node = start
        path = []
        while node is not None:
            label[node] = track
            path.append(node)
            direct = [d for _, _, d in out[node] if label[d] < 0]
            if direct:
                between = [m for m in direct[1:] if direct[0] in [t for _, _, t in out[m]]]
                node = between[0] if between else direct[0]
                continue
            hops = []
            for j, (w1, _, mid) in enumerate(out[node]):
                nxt = [(-w2, d) for w2, _, d in out[mid] if label[d] < 0]
                if nxt:
                    hops.append((-(-w1 * nxt[0][0]), j, nxt[0][1]))
            # best product; among equals, the first edge out of node
            node = min(hops)[2] if hops else None
        for i, hit in enumerate(path if len(path) > 1 else []):
            if i == 0:
                joined = into[path[1]]
            else:
                joined = [d for _, _, d in out[path[i - 1]]
                          if i == len(path) - 1 or path[i + 1] in [t for _, _, t in out[d]]]
            for other in joined:
                if label[other] < 0 and layer[other] == layer[hit]:
                    label[other] = track
        track += 1
    return np.array(label)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return _tracks(a) == _tracks(b) and len(set(a)) == len(set(b))


@pytest.mark.parametrize("seed", range(20))
def test_walkthrough_matches_the_reference_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    radius = rng.integers(0, 8, n).astype(float)  # ties on purpose
    pairs = rng.integers(0, n, (int(rng.integers(0, 4 * n)), 2))
    pairs = pairs[radius[pairs[:, 0]] < radius[pairs[:, 1]]]  # inner -> outer, as graphs are
    score = np.round(rng.random(len(pairs)), 1)  # ties on purpose
    cut = float(rng.choice([0.0, 0.3, 0.5]))
    layer = (radius // 2).astype(int)  # two radii a layer: same-layer hits to join
    got = walkthrough_labels(n, pairs[:, 0], pairs[:, 1], score, radius, cut, layer)
    want = _reference_walk(n, pairs[:, 0], pairs[:, 1], score, radius, cut, layer)
    assert _same_partition(got, want)


def test_condensation_dbscan_on_hand_made_clusters() -> None:
    coords = np.array([[0, 0], [0.05, 0], [0, 0.05], [5, 5], [5.05, 5], [9, 9], [0.02, 0.02]])
    beta = np.array([0.9, 0.5, 0.5, 0.8, 0.4, 0.6, 0.01])
    labels = condensation_labels(coords, beta, OcDbscanParams(eps=0.1, min_samples=2))
    assert _tracks(labels) == {frozenset({0, 1, 2, 6}), frozenset({3, 4})}
    # dropping low-beta hits first: hit 6 is its own track
    labels = condensation_labels(coords, beta, OcDbscanParams(eps=0.1, min_samples=2,
                                                              beta_min=0.1))
    assert _tracks(labels) == {frozenset({0, 1, 2}), frozenset({3, 4})}
    assert len(set(labels)) == 4


def test_scan_picks_the_best_grid_point() -> None:
    coords = np.array([[0, 0], [0.3, 0], [0.6, 0], [10, 0], [10.3, 0]])
    truth = [{0, 1, 2}, {3, 4}]

    def perfect_fraction(_: int, labels: np.ndarray) -> float:
        return float(np.mean([_tracks(labels) >= {frozenset(t)} for t in truth]))

    result = scan_dbscan([(coords, np.ones(5))], perfect_fraction, [0.1, 0.35, 20.0], [1, 3])
    assert result["best"] == {"eps": 0.35, "min_samples": 1, "score": 1.0}
    assert len(result["grid"]) == 6
    assert [p["score"] for p in result["grid"]] == [0.0, 0.0, 1.0, 0.5, 0.0, 0.0]
