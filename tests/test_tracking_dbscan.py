"""DBSCAN baseline: helix unrolling, the scan order, the cluster merge, and tiny events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrec.tracking.dbscan import (
    DbscanParams,
    _merge_clusters,
    dbscan_track_ids,
    scan_curvatures,
    unrolled_features,
)

RADII = np.array([32.0, 72.0, 116.0, 172.0, 260.0, 360.0, 500.0, 660.0, 820.0, 1020.0])


def helix_hits(phi0: float, curvature: float, cot_theta: float) -> tuple[np.ndarray, ...]:
    """Hits of a particle from the origin crossing the barrel radii: phi = phi0 + asin(k r)."""
    phi = phi0 + np.arcsin(curvature * RADII)
    return RADII * np.cos(phi), RADII * np.sin(phi), cot_theta * RADII


def test_scan_starts_straight_then_alternates() -> None:
    ks = scan_curvatures(DbscanParams(curvature_steps=5, max_curvature=1e-3))
    np.testing.assert_allclose(ks, [0.0, 5e-4, -5e-4, 1e-3, -1e-3])


def test_unrolling_makes_a_helix_a_point() -> None:
    x, y, z = helix_hits(phi0=0.7, curvature=4e-4, cot_theta=0.3)
    features = unrolled_features(x, y, z, 4e-4, z_scale=1.0)
    np.testing.assert_allclose(
        features, np.tile([np.cos(0.7), np.sin(0.7), 0.3], (len(RADII), 1)), atol=1e-12
    )


def _merge_reference(labels: np.ndarray, new: np.ndarray, max_size: int) -> np.ndarray:
    out = labels.copy()
    offset = labels.max() + 1
    for i in range(len(labels)):
        size = int(np.sum(labels == labels[i]))
        new_size = int(np.sum(new == new[i]))
        if size < new_size <= max_size:
            out[i] = new[i] + offset
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40),
    st.integers(1, 8),
)
def test_merge_matches_reference(pairs: list[tuple[int, int]], max_size: int) -> None:
    labels = np.array([p[0] for p in pairs], dtype=np.int64)
    new = np.array([p[1] for p in pairs], dtype=np.int64)
    np.testing.assert_array_equal(
        _merge_clusters(labels, new, max_size), _merge_reference(labels, new, max_size)
    )


def test_separated_helices_become_separate_tracks() -> None:
    # curvatures on the default scan grid (multiples of 7.5e-4 / 10)
    particles = [(0.3, 0.0, 0.1), (1.9, 4.5e-4, -0.8), (3.5, -3e-4, 1.5), (-2.0, 1.5e-4, 0.0)]
    xs, ys, zs, truth = [], [], [], []
    for index, (phi0, k, cot) in enumerate(particles):
        x, y, z = helix_hits(phi0, k, cot)
        xs.append(x), ys.append(y), zs.append(z), truth.append(np.full(len(x), index))
    ids = dbscan_track_ids(np.concatenate(xs), np.concatenate(ys), np.concatenate(zs))
    truth_ids = np.concatenate(truth)
    # each particle is exactly one track: same partition of the hits
    for particle in range(len(particles)):
        assert len(np.unique(ids[truth_ids == particle])) == 1
    assert len(np.unique(ids)) == len(particles)


def test_min_samples_noise_becomes_singletons() -> None:
    x, y, z = helix_hits(0.3, 0.0, 0.1)
    lone = np.array([[-400.0, 300.0, 2000.0]])
    ids = dbscan_track_ids(
        np.append(x, lone[:, 0]),
        np.append(y, lone[:, 1]),
        np.append(z, lone[:, 2]),
        DbscanParams(min_samples=3),
    )
    assert len(np.unique(ids[:-1])) == 1
    assert ids[-1] not in ids[:-1]


def test_empty_event_and_bad_params() -> None:
    assert dbscan_track_ids(np.zeros(0), np.zeros(0), np.zeros(0)).shape == (0,)
    with pytest.raises(ValueError):
        dbscan_track_ids(np.ones(2), np.ones(2), np.ones(2), DbscanParams(eps=0))


def test_threads_give_the_serial_tracks(sample_prefix) -> None:
    """The curvature scan on several threads merges in scan order: the tracks are those of
    the serial scan, hit for hit (the real sample, default parameters)."""
    from trackrec.io import load_event

    (hits,) = load_event(sample_prefix, ("hits",))
    x, y, z = (hits[c].to_numpy() for c in ("x", "y", "z"))
    serial = dbscan_track_ids(x, y, z, threads=1)
    assert 100 < len(np.unique(serial)) < len(serial)
    for threads in (2, 3, 8):
        assert np.array_equal(dbscan_track_ids(x, y, z, threads=threads), serial), threads
    with pytest.raises(ValueError, match="threads must be >= 1"):
        dbscan_track_ids(x, y, z, threads=0)
