"""The Kalman fit: helix kernels and the fit kernel against slow references, pulls on
simulated truth tracks, the fit-tracks and fit-summary commands."""

from __future__ import annotations

import json
from pathlib import Path

import kalman_reference as ref
import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.io import build_hits_table, build_particles_table, read_table, write_table
from trackrec.kalman import helix
from trackrec.kalman.fit import (
    FitParams,
    MaterialLayers,
    fit_tracks,
    fitted_frame,
    flight_order,
    hit_arrays,
)
from trackrec.metrics.resolution import pruned_rms
from trackrec.simulate import build_detector, simulate_event

A = ref.A


@pytest.fixture(scope="module")
def detector() -> pd.DataFrame:
    return build_detector()


@pytest.fixture(scope="module")
def event(detector: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A pileup-40 simulated event as hits (with geometry and truth) and particles tables."""
    ev = simulate_event(detector, event_id=11, pileup=40, seed=3)
    hits = build_hits_table(ev["hits"], ev["cells"], ev["truth"], ev["particles"], detector)
    particles = build_particles_table(ev["particles"], ev["truth"], ev["hits"])
    return {"hits": hits, "particles": particles}


def truth_tracks(hits: pd.DataFrame) -> pd.DataFrame:
    real = hits[hits["particle_id"] != 0]
    return pd.DataFrame({"hit_id": real["hit_id"].to_numpy(), "track_id": real["particle_id"].to_numpy()})


def random_params(rng: np.random.Generator) -> np.ndarray:
    kappa = rng.choice([-1.0, 1.0]) / rng.uniform(0.3, 5.0)
    return np.array([rng.normal(0, 1), rng.normal(0, 30), rng.uniform(-3, 3), rng.uniform(0.3, 2.8), kappa])


def test_helix_point_matches_the_circle() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = random_params(rng)
        s = rng.uniform(1, 600)
        assert np.allclose(helix._helix_point(*p, A, s)[:3], ref.position(p, s), atol=1e-9)


def test_perigee_parameters_match_the_circle_centre_construction() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = random_params(rng)
        s = rng.uniform(5, 400)
        point = ref.position(p, s)
        phi = p[2] - A * p[4] * s
        momentum = np.array([np.cos(phi), np.sin(phi), 1 / np.tan(p[3])]) / abs(p[4])
        got = helix.perigee_parameters(point[None], momentum[None], np.array([np.sign(p[4])]))[0]
        assert np.allclose(got, ref.perigee(point, phi, p[3], p[4]), atol=1e-8)
        assert np.allclose(got, p, atol=1e-8)


def test_perigee_parameters_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="non-zero charge"):
        helix.perigee_parameters(np.zeros((1, 3)), np.ones((1, 3)), np.zeros(1))
    with pytest.raises(ValueError, match="shape|must be"):
        helix.perigee_parameters(np.zeros((2, 3)), np.ones((1, 3)), np.ones(1))


def test_seed_and_plane_crossing_match_references() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        p = random_params(rng)
        points = [ref.position(p, s) for s in (30.0, 250.0, 700.0)]
        assert np.allclose(helix._seed_three(*points[0], *points[1], *points[2], A), p, atol=1e-7)
        normal = rng.normal(size=3)
        normal /= np.linalg.norm(normal)
        target = ref.position(p, 300.0)
        if abs(normal @ np.array([*(np.cos(p[2] - A * p[4] * 300) * np.array([1, 0])
                                    + np.sin(p[2] - A * p[4] * 300) * np.array([0, 1])),
                                  1 / np.tan(p[3])])) < 0.2:  # fmt: skip
            continue  # grazing planes: the Newton start is not unique
        got = helix._plane_intersection(*p, A, *target, *normal, 290.0)
        assert got == pytest.approx(ref.crossing(p, target, normal, 290.0), abs=1e-6)


def test_residual_and_jacobian_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = random_params(rng)
        s = rng.uniform(20, 500)
        hit = ref.position(p, s) + rng.normal(0, 0.05, 3)
        normal = rng.normal(size=3)
        normal /= np.linalg.norm(normal)
        u = np.cross(normal, [0.3, 0.2, 0.9])
        u /= np.linalg.norm(u)
        axes = np.array([u, np.cross(normal, u), normal])
        crossing = ref.crossing(p, hit, normal, s)
        h = np.empty((2, 5))
        r0, r1 = helix._residual_and_jacobian(*p, A, crossing, axes, *hit, h)
        assert np.allclose([r0, r1], -ref.local(p, hit, axes, crossing), atol=1e-8)
        numeric = ref.numeric_jacobian(lambda v, hit=hit, axes=axes, s=crossing: ref.local(v, hit, axes, s),
                                       p, ref.STEPS)  # fmt: skip
        assert np.allclose(h, numeric, rtol=1e-4, atol=1e-5)


def test_fit_kernel_matches_the_slow_reference(event: dict[str, pd.DataFrame], detector: pd.DataFrame) -> None:
    hits, particles = event["hits"], event["particles"]
    params = FitParams()
    material = MaterialLayers.from_detector(detector)
    chosen = particles[(particles["pt"] > 0.5) & (particles["vr"] < 1) & (particles["n_layers"] >= 5)]
    tracks = truth_tracks(hits)
    tracks = tracks[tracks["track_id"].isin(chosen["particle_id"].to_numpy()[:12])]
    ids, result = fit_tracks(hits, tracks, params, material)
    layers = list(zip(material.key, material.disk, material.position, material.lo, material.hi,
                      material.x_over_x0))  # fmt: skip
    assert len(ids) == 12 and result.ok.all()
    for t, pid in enumerate(ids):
        own = hits[hits["hit_id"].isin(tracks.loc[tracks["track_id"] == pid, "hit_id"])]
        arrays = hit_arrays(own, params)
        order = flight_order(arrays["position"], np.zeros(len(own), np.int64))
        a = {k: v[order] for k, v in arrays.items()}
        x, p, chi2 = ref.fit_track(a["position"], a["axes"], a["sigma"], a["x_over_x0"], a["layer"],
                                   a["disk"], params.prior(), passes=params.passes, layers=layers)  # fmt: skip
        sigma = np.sqrt(np.diag(p))
        assert np.all(np.abs(result.params[t] - x) < 1e-3 * sigma), pid
        assert np.allclose(np.sqrt(np.diag(result.cov[t])), sigma, rtol=1e-3), pid
        assert result.chi2[t] == pytest.approx(chi2, rel=1e-3, abs=1e-3)
        assert result.ndf[t] == 2 * len(own) - 5


def test_pulls_of_simulated_pion_tracks(event: dict[str, pd.DataFrame], detector: pd.DataFrame) -> None:
    """Pulls of all five parameters: |mean| < 0.1 and 3-RMS-pruned width in 0.9-1.15 for
    primary pions above 0.5 GeV (the fit's mass hypothesis) against their true perigee."""
    frame = fitted_frame(event["hits"], truth_tracks(event["hits"]), event["particles"],
                         material=MaterialLayers.from_detector(detector))  # fmt: skip
    types = event["particles"].set_index("particle_id")["particle_type"]
    vr = event["particles"].set_index("particle_id")["vr"]
    pid = frame["particle_id"].to_numpy()
    chosen = ((np.abs(types.reindex(pid).to_numpy()) == 211) & (vr.reindex(pid).to_numpy() < 1)
              & (frame["true_pt"].to_numpy() > 0.5))  # fmt: skip
    assert chosen.sum() > 400
    assert np.isfinite(frame.loc[chosen, "qopt"]).mean() > 0.99
    f = frame[chosen & np.isfinite(frame["qopt"])]
    for name in ("d0", "z0", "phi", "theta", "qopt"):
        pull = (f[name] - f[f"true_{name}"]) / f[f"sigma_{name}"]
        mean, width, _ = pruned_rms(pull)
        assert abs(mean) < 0.1, (name, mean)
        assert 0.9 < width < 1.15, (name, width)


def test_without_material_the_chi2_is_that_of_the_measurements(event: dict[str, pd.DataFrame]) -> None:
    """Material turned off in the fit: high-pT tracks (little scattering) still have a
    median chi2/ndf near 1, low-pT tracks far above (the scattering is real)."""
    params = FitParams(radiation_lengths_per_mm=0.0)
    frame = fitted_frame(event["hits"], truth_tracks(event["hits"]), event["particles"], params)
    ratio = frame["chi2"] / frame["ndf"]
    assert ratio[frame["true_pt"] > 5].median() < 1.5
    assert ratio[frame["true_pt"] < 0.4].median() > 3


def test_fit_tracks_command_and_summary(event: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    hits, particles = event["hits"], event["particles"]
    write_table(hits, tmp_path / "hits.parquet", "hits")
    write_table(particles, tmp_path / "particles.parquet", "particles")
    (tmp_path / "truth").mkdir()
    write_table(truth_tracks(hits), tmp_path / "truth" / "e.parquet", "tracks")
    out = tmp_path / "fitted" / "truth" / "e.parquet"
    assert main(["fit-tracks", "--hits", str(tmp_path / "hits.parquet"), "--tracks",
                 str(tmp_path / "truth" / "e.parquet"), "--particles",
                 str(tmp_path / "particles.parquet"), "--out", str(out)]) == 0  # fmt: skip
    fitted = read_table(out, "fitted")
    sizes = truth_tracks(hits)["track_id"].value_counts()
    assert sorted(fitted["track_id"]) == sorted(sizes.index[sizes >= 3])
    assert (fitted.loc[fitted["ndf"] > 0, "ndf"] == 2 * fitted.loc[fitted["ndf"] > 0, "n_hits"] - 5).all()
    assert (fitted["particle_id"] == fitted["track_id"]).all()
    summary_path = tmp_path / "fit.json"
    assert main(["fit-summary", "--fitted", str(out), "--summary-json", str(summary_path),
                 "--plot-pt", str(tmp_path / "pt.png"), "--plot-eta", str(tmp_path / "eta.png")]) == 0  # fmt: skip
    summary = json.loads(summary_path.read_text())["methods"]["truth"]
    assert summary["n_matched"] == int(np.isfinite(fitted["qopt"]).sum())
    assert 0 <= summary["charge_misid_rate"] < 0.02
    first = summary["rel_pt_vs_pt"][0]
    assert first["lo"] == 0.2 and first["n"] > 0 and 0 < first["rms"] < 0.1
    assert (tmp_path / "pt.png").stat().st_size > 1000 and (tmp_path / "eta.png").exists()


def test_fit_tracks_needs_the_module_geometry(event: dict[str, pd.DataFrame], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    geometry = [c for c in event["hits"].columns if c.startswith("rot_") or c.startswith("pitch")]
    write_table(event["hits"].drop(columns=geometry + ["thickness"]), tmp_path / "hits.parquet", "hits")
    write_table(truth_tracks(event["hits"]), tmp_path / "tracks.parquet", "tracks")
    out = tmp_path / "fitted.parquet"
    assert main(["fit-tracks", "--hits", str(tmp_path / "hits.parquet"), "--tracks",
                 str(tmp_path / "tracks.parquet"), "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "hits.parquet" in err and "detectors file" in err and err.count("\n") == 1
    assert not out.exists()


def test_charge_misidentification_counts_sign_flips() -> None:
    from trackrec.kalman.summary import method_summary

    n = 10
    frame = pd.DataFrame({
        "track_id": np.arange(n), "n_hits": 8, "particle_id": np.arange(1, n + 1),
        **{name: 0.1 for name in ("d0", "z0", "phi", "theta")}, "qopt": [1.0] * 9 + [-1.0],
        **{f"sigma_{name}": 1.0 for name in ("d0", "z0", "phi", "theta", "qopt")},
        "chi2": 3.0, "ndf": 11, **{f"true_{name}": 0.1 for name in ("d0", "z0", "phi", "theta")},
        "true_qopt": 1.0, "true_pt": 1.0, "true_eta": 0.0,
    })  # fmt: skip
    summary = method_summary(frame)
    assert summary["charge_misid_rate"] == pytest.approx(0.1)
    assert summary["n_matched"] == n
