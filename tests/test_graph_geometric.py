"""Geometric graph construction: brute-force reference, held-out efficiency, the real sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trackrec.graph.edges import distance_from_origin, graph_frame, orient_and_deduplicate
from trackrec.graph.geometric import (
    CUT_VARIABLES,
    LayerPairCuts,
    build_edges,
    check_cuts,
    derive_cuts,
    layer_key,
    passes,
    segment_variables,
    wrap_angle,
)
from trackrec.io import build_hits_table, build_particles_table, load_event
from trackrec.io.parquet import to_arrow
from trackrec.metrics.edges import edge_metrics


def simulated(event_id: int, pileup: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    from trackrec.simulate import build_detector, simulate_event

    tables = simulate_event(build_detector(), event_id=event_id, pileup=pileup, seed=3)
    hits = build_hits_table(tables["hits"], truth=tables["truth"], particles=tables["particles"])
    return hits, build_particles_table(tables["particles"], tables["truth"], tables["hits"])


@pytest.fixture(scope="module")
def training() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    return [simulated(100 + i, 40) for i in range(6)]


@pytest.fixture(scope="module")
def cuts(training: list[tuple[pd.DataFrame, pd.DataFrame]]) -> LayerPairCuts:
    return derive_cuts(training, pt_min=0.9, quantile=0.99, beam_spread_z=60.0)


def brute_force_edges(hits: pd.DataFrame, cuts: LayerPairCuts) -> set[tuple[int, int]]:
    """Every (inner, outer) pair of hits on a connected layer pair, tested one pair at a time."""
    r, phi, z, eta = (hits[c].to_numpy(np.float64) for c in ("r", "phi", "z", "eta"))
    layer = layer_key(hits)
    found = set()
    for i in range(cuts.n_pairs):
        inner = np.flatnonzero(layer == cuts.layer_a[i])
        outer = np.flatnonzero(layer == cuts.layer_b[i])
        a, b = np.repeat(inner, len(outer)), np.tile(outer, len(inner))
        ok = passes(cuts, np.full(len(a), i), segment_variables(r, phi, z, eta, a, b))
        found.update(zip(a[ok].tolist(), b[ok].tolist()))
    return found


def test_edges_equal_the_brute_force_search(cuts: LayerPairCuts) -> None:
    hits, _ = simulated(200, 5)
    src, dst = build_edges(hits, cuts)
    assert len(src) > 500
    assert len(set(zip(src.tolist(), dst.tolist()))) == len(src)  # no duplicates
    assert set(zip(src.tolist(), dst.tolist())) == brute_force_edges(hits, cuts)


def test_windows_wrap_around_phi() -> None:
    """Two hits either side of phi = +-pi are joined; hits a quarter turn apart are not."""
    hits = pd.DataFrame({
        "r": [30.0, 70.0, 70.0], "phi": [np.pi - 0.001, -np.pi + 0.002, np.pi / 2],
        "z": [0.0, 0.0, 0.0], "eta": [0.0, 0.0, 0.0],
        "volume_id": [8, 8, 8], "layer_id": [2, 4, 4],
    })
    windows = {v: np.array([[-1.0, 1.0]]) for v in CUT_VARIABLES}
    windows["dphi"] = np.array([[-0.01, 0.01]])
    windows["z0"] = np.array([[-100.0, 100.0]])
    cut = LayerPairCuts(np.array([802]), np.array([804]), windows, 0.9)
    src, dst = build_edges(hits, cut)
    assert (src.tolist(), dst.tolist()) == ([0], [1])
    assert wrap_angle(np.array([np.pi + 0.1]))[0] == pytest.approx(-np.pi + 0.1)


def test_held_out_event_meets_the_segment50_goal(cuts: LayerPairCuts) -> None:
    """Cuts from six events keep >= 95% segment50 at pT > 0.9 on another, with few edges."""
    hits, particles = simulated(300, 40)
    src, dst = build_edges(hits, cuts)
    metrics = edge_metrics(src, dst, np.ones(len(src)), hits, particles)
    assert metrics["segment50"] >= 0.95
    assert metrics["edges_per_hit"] < 10
    coverage = check_cuts(cuts, hits, particles)
    assert 0.9 < coverage["segment_coverage"] <= coverage["segment_on_pairs"] <= 1.0


def test_cuts_need_segments() -> None:
    hits, particles = simulated(400, 0)
    with pytest.raises(Exception, match="no truth segments"):
        derive_cuts([(hits, particles)], pt_min=1000.0)


def test_cuts_round_trip_through_arrays(cuts: LayerPairCuts) -> None:
    again = LayerPairCuts.from_arrays(cuts.to_arrays())
    assert np.array_equal(again.layer_a, cuts.layer_a)
    for v in CUT_VARIABLES:
        assert np.array_equal(again.windows[v], cuts.windows[v])
    assert again.pt_min == cuts.pt_min


def test_orientation_and_duplicates() -> None:
    hits = pd.DataFrame({"r": [10.0, 20.0, 30.0, 20.0], "z": [0.0, 0.0, 0.0, 0.0]})
    src, dst = orient_and_deduplicate(
        np.array([1, 0, 2, 2, 1, 3]), np.array([0, 1, 1, 2, 3, 1]), distance_from_origin(hits)
    )
    # (1, 3): equal distances, the lower row is src
    assert list(zip(src.tolist(), dst.tolist())) == [(0, 1), (1, 2), (1, 3)]


def test_graph_table_features_and_truth() -> None:
    hits = pd.DataFrame({
        "hit_id": [11, 12, 13], "r": [30.0, 70.0, 120.0], "phi": [3.1, -3.1, 0.0],
        "z": [1.0, 5.0, 9.0], "eta": [0.1, 0.2, 0.4], "particle_id": [7, 7, 0],
    })
    frame = graph_frame(hits, np.array([0, 1]), np.array([1, 2]))
    assert frame["src_hit_id"].tolist() == [11, 12]
    assert frame["dphi"].iloc[0] == pytest.approx(2 * np.pi - 6.2, abs=1e-5)
    assert frame["dz"].tolist() == [4.0, 4.0]
    assert frame["is_true"].tolist() == [True, False]
    assert frame["latent_distance"].isna().all()
    arrow = to_arrow(frame, "graph")
    assert arrow.schema.metadata[b"trackrec.table"] == b"graph"


@pytest.mark.slow
def test_simulation_cuts_on_the_real_sample(cuts: LayerPairCuts, sample_prefix) -> None:
    """Cuts derived on simulated events keep >= 95% segment50 on the real sample event."""
    raw_hits, raw_particles, truth = load_event(sample_prefix, ("hits", "particles", "truth"))
    hits = build_hits_table(raw_hits, truth=truth, particles=raw_particles)
    particles = build_particles_table(raw_particles, truth, raw_hits)
    src, dst = build_edges(hits, cuts)
    metrics = edge_metrics(src, dst, np.ones(len(src)), hits, particles)
    assert metrics["segment50"] >= 0.95, metrics
