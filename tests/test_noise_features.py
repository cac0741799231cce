"""Noise-filter features: the numba neighbourhood kernel against the all-pairs reference,
a hand-made event with known answers, cluster-shape expectations, missing columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.errors import TrackrecError
from trackrec.io.parquet import read_table
from trackrec.noise.features import (
    CONTEXT_FEATURES,
    ContextParams,
    compute_features,
    context_features,
    context_features_reference,
    feature_names,
    shape_features,
)


def barrel_hits(r, phi, z, layer, pitch_v=0.05) -> pd.DataFrame:
    """Hits on barrel modules: u along phi, v along z, w radial (as TrackML's barrel)."""
    r, phi, z = (np.asarray(a, float) for a in (r, phi, z))
    frame = {
        "x": r * np.cos(phi), "y": r * np.sin(phi), "z": z, "r": r, "phi": phi,
        "eta": np.arcsinh(z / r), "volume_id": np.full(r.size, 8), "layer_id": np.asarray(layer),
        "rot_xu": -np.sin(phi), "rot_yu": np.cos(phi), "rot_zu": np.zeros(r.size),
        "rot_xv": np.zeros(r.size), "rot_yv": np.zeros(r.size), "rot_zv": np.ones(r.size),
        "rot_xw": np.cos(phi), "rot_yw": np.sin(phi), "rot_zw": np.zeros(r.size),
        "pitch_u": np.full(r.size, 0.05), "pitch_v": np.full(r.size, pitch_v),
        "thickness": np.full(r.size, 0.15),
    }  # fmt: skip
    return pd.DataFrame(frame)


def test_straight_track_and_an_isolated_hit() -> None:
    radii = np.array([50.0, 100.0, 150.0, 200.0])
    track = barrel_hits(radii, np.full(4, 0.3), 0.5 * radii, [2, 4, 6, 8])
    lonely = barrel_hits([100.0], [2.0], [-40.0], [4])
    hits = pd.concat([track, lonely], ignore_index=True)
    got = pd.DataFrame(context_features(hits), columns=CONTEXT_FEATURES)
    # every track hit sees the three others (inner + outer), all exactly on the line
    assert (got.loc[:3, "n_inner"] + got.loc[:3, "n_outer"] == 3).all()
    assert got.loc[:3, "n_inner"].tolist() == [0, 1, 2, 3]
    assert (got.loc[:3, "n_tight_inner"] == got.loc[:3, "n_inner"]).all()
    # triplets: any two of the other three hits with the hit itself, all collinear
    assert got.loc[:3, "n_triplets"].tolist() == [3, 3, 3, 3]
    assert got.loc[:3, "best_triplet"].max() == pytest.approx(0.0, abs=1e-9)
    # ... and the fourth hit lies on the line of each triplet
    assert got.loc[:3, "triplet_support"].tolist() == [1, 1, 1, 1]
    assert got.loc[4].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0]


def test_bent_track_outside_the_azimuth_window_is_not_compatible() -> None:
    params = ContextParams()
    radii = np.array([50.0, 150.0])
    # azimuth change per mm of twice the window's bending: incompatible
    phi = 2 * params.kappa * radii + 3 * params.eps_phi
    got = context_features(barrel_hits(radii, phi, radii, [2, 4]), params)
    assert got[:, :2].sum() == 0


def test_same_layer_neighbours_count_within_d_same() -> None:
    hits = barrel_hits([100.0, 100.0, 100.0], [0.0, 0.03, 0.3], [0.0, 0.0, 0.0], [4, 4, 4])
    got = pd.DataFrame(context_features(hits), columns=CONTEXT_FEATURES)
    assert got["n_same_layer"].tolist() == [1, 1, 0]  # 3 mm apart; 30 mm apart


@pytest.fixture(scope="module")
def sample_hits(tmp_path_factory: pytest.TempPathFactory, sample_prefix: Path,
                detectors_path: Path) -> pd.DataFrame:  # fmt: skip
    folder = tmp_path_factory.mktemp("noise_features")
    hits = folder / "hits.parquet"
    assert main(["ingest", str(sample_prefix), "--hits", str(hits), "--particles",
                 str(folder / "p.parquet"), "--detectors", str(detectors_path)]) == 0  # fmt: skip
    return read_table(hits, "hits")


def test_kernel_equals_the_all_pairs_reference_on_the_real_sample(sample_hits) -> None:
    subset = sample_hits.sample(1500, random_state=3).reset_index(drop=True)
    fast = context_features(subset)
    slow = context_features_reference(subset)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)
    assert fast[:, CONTEXT_FEATURES.index("n_triplets")].sum() > 0  # the test sees triplets


def test_kernel_equals_reference_with_other_cuts(sample_hits) -> None:
    subset = sample_hits.sample(800, random_state=5).reset_index(drop=True)
    params = ContextParams(z0_max=150.0, pt_min=0.3, dr_max=200.0, d_same=20.0, bin_phi=0.11)
    np.testing.assert_allclose(context_features(subset, params),
                               context_features_reference(subset, params), atol=1e-9)  # fmt: skip


def test_real_noise_hits_have_fewer_triplets(sample_hits) -> None:
    """On the real sample, noise hits (truth) rarely sit on a track-like triplet."""
    got = pd.DataFrame(context_features(sample_hits), columns=CONTEXT_FEATURES)
    noise = sample_hits["particle_id"].to_numpy() == 0
    with_triplet = got["n_triplets"].to_numpy() > 0
    assert with_triplet[~noise].mean() > 2 * with_triplet[noise].mean()


def test_normal_incidence_expects_one_cell() -> None:
    hits = barrel_hits([100.0], [0.0], [0.0], [4]).assign(
        n_cells=1, charge=0.1, extent_u=1, extent_v=3)
    shape = shape_features(hits)
    assert shape["expected_extent_u"][0] == pytest.approx(1.0)
    assert shape["expected_extent_v"][0] == pytest.approx(1.0)
    assert shape["excess_extent_v"][0] == pytest.approx(2.0)
    # at z = r (45 degrees) a 0.15 mm sensor crosses 0.15 mm along z = 3 pixels of 0.05 mm
    tilted = barrel_hits([100.0], [0.0], [100.0], [4]).assign(
        n_cells=3, charge=0.1, extent_u=1, extent_v=4)
    assert shape_features(tilted)["expected_extent_v"][0] == pytest.approx(4.0)


def test_missing_cells_are_named() -> None:
    hits = barrel_hits([100.0], [0.0], [0.0], [4])
    with pytest.raises(TrackrecError, match="n_cells.*shape features need: cells and geometry"):
        compute_features(hits, ["hit", "shape", "context"])
    matrix = compute_features(hits, ["hit", "context"])
    assert matrix.shape == (1, len(feature_names(["hit", "context"])))
    with pytest.raises(TrackrecError, match="pitch_u.*context features need: geometry"):
        compute_features(hits.drop(columns=["pitch_u"]), ["hit", "context"])
