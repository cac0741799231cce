"""The CKF track finder: layer crossings and seeds against slow references, tracks on
simulated events scored with the project's metrics, the track-ckf command."""

from __future__ import annotations

from pathlib import Path

import kalman_reference as ref
import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.io import build_hits_table, build_particles_table, read_table, write_table
from trackrec.kalman import ckf
from trackrec.kalman.fit import MaterialLayers, hit_arrays
from trackrec.metrics.tracking import track_metrics
from trackrec.simulate import build_detector, simulate_event


@pytest.fixture(scope="module")
def detector() -> pd.DataFrame:
    return build_detector()


@pytest.fixture(scope="module")
def event(detector: pd.DataFrame) -> dict[str, pd.DataFrame]:
    ev = simulate_event(detector, event_id=21, pileup=10, seed=5)
    hits = build_hits_table(ev["hits"], ev["cells"], ev["truth"], ev["particles"], detector)
    return {"hits": hits, "particles": build_particles_table(ev["particles"], ev["truth"], ev["hits"])}


def test_next_crossing_matches_a_scan_along_the_helix() -> None:
    rng = np.random.default_rng(4)
    disk = np.array([False, False, True, True])
    position = np.array([100.0, 300.0, 400.0, -500.0])
    lo = np.array([-1000.0, -1000.0, 0.0, 0.0])
    hi = np.array([1000.0, 1000.0, 1000.0, 1000.0])
    for _ in range(30):
        p = np.array([rng.normal(0, 1), rng.normal(0, 20), rng.uniform(-3, 3), rng.uniform(0.3, 2.8),
                      rng.choice([-1, 1]) / rng.uniform(0.4, 5)])  # fmt: skip
        layer, s = ckf._next_crossing(p, 1.0, -1, ref.A, disk, position, lo, hi)
        # reference: the first sign change of (r - R) or (z - Z) on a fine scan up to half a turn
        grid = np.linspace(1.5, min(np.pi / (ref.A * abs(p[4])), 3000.0), 20000)
        points = np.array([ref.position(p, t) for t in grid])
        best, best_s = -1, np.inf
        for j in range(4):
            value = (points[:, 2] if disk[j] else np.hypot(points[:, 0], points[:, 1])) - position[j]
            change = np.flatnonzero(np.sign(value[1:]) != np.sign(value[:-1]))
            if change.size:
                t = grid[change[0]]
                extent = np.hypot(*points[change[0], :2]) if disk[j] else points[change[0], 2]
                if lo[j] <= extent <= hi[j] and t < best_s:
                    best, best_s = j, t
        assert layer == best
        if best >= 0:
            assert s == pytest.approx(best_s, abs=0.5)


def test_seeds_pass_the_cuts_and_cover_the_particles(event: dict[str, pd.DataFrame], detector: pd.DataFrame) -> None:
    hits, particles = event["hits"], event["particles"]
    params = ckf.CkfParams()
    material = MaterialLayers.from_detector(detector)
    arrays = hit_arrays(hits)
    pos = arrays["position"]
    layer = pd.Index(material.key).get_indexer(arrays["layer"])
    r, phi = np.hypot(pos[:, 0], pos[:, 1]), np.arctan2(pos[:, 1], pos[:, 0])
    grid = ckf.build_grid(layer, phi, np.where(material.disk[layer], r, pos[:, 2]), material.key.size)
    triples = ckf.seed_triples(material, set(arrays["layer"][hits["pitch_v"].to_numpy() < 0.5].tolist()))
    seeds, truncated = ckf._find_seeds(triples, pos[:, 0].copy(), pos[:, 1].copy(), pos[:, 2].copy(), r, phi,
                                       material.disk, material.position, grid.layer_start, grid.s_lo,
                                       grid.s_bins, grid.phi_bins, grid.s_bin, grid.offsets, grid.cell_hits,
                                       ref.A, params.seed_min_pt, params.seed_z0, params.seed_d0,
                                       params.seed_window, params.seed_slope, 0.03, 100_000)  # fmt: skip
    assert not truncated and len(seeds) > 0
    for a, b, c in seeds[:: max(1, len(seeds) // 200)]:
        d0, z0, _, theta, kappa = ref.seed(pos[a], pos[b], pos[c])
        # the cuts, with the slack a 0.03 mm sagitta leaves on the transverse lever arm
        rho_slack = 8 * 0.03 / (r[c] - r[a]) ** 2
        assert abs(kappa) <= 1 / params.seed_min_pt + rho_slack / ref.A + 1e-9
        assert abs(d0) <= params.seed_d0 + 0.5 * rho_slack * r[a] ** 2 + 1e-9
        assert abs(z0) <= params.seed_z0 + 1e-9
    # every primary above 1 GeV with hits on the three innermost barrel layers has a pure seed
    pid = hits["particle_id"].to_numpy()
    seeded = {pid[a] for a, b, c in seeds if pid[a] == pid[b] == pid[c] != 0}
    inner = {8002, 8004, 8006}
    by_particle = pd.DataFrame({"pid": pid, "layer": arrays["layer"]}).groupby("pid")["layer"].agg(set)
    chosen = particles[(particles["pt"] > 1.0) & (particles["vr"] < 1)]["particle_id"]
    wanted = [p for p in chosen if p in by_particle.index and inner <= by_particle[p]]
    assert len(wanted) > 20
    assert np.mean([p in seeded for p in wanted]) > 0.97


def test_ckf_finds_the_tracks_of_a_simulated_event(event: dict[str, pd.DataFrame], detector: pd.DataFrame) -> None:
    hits, particles = event["hits"], event["particles"]
    material = MaterialLayers.from_detector(detector)
    track_id = ckf.find_tracks(hits, material=material, threads=2)
    assert track_id.shape == (len(hits),) and (track_id >= 0).all()
    tracks = pd.DataFrame({"hit_id": hits["hit_id"].to_numpy(), "track_id": track_id})
    metrics = track_metrics(hits, particles, tracks, pt_thresholds=[0.9])
    assert metrics["n_particles_pt0.9"] > 50
    assert metrics["eff_dm_pt0.9"] > 0.8
    assert metrics["fake_rate_pt0.9"] < 0.05
    # the batches' parallel extension does not change the result
    assert np.array_equal(ckf.find_tracks(hits, material=material, threads=1), track_id)
    # without the detector description the layers come from the hits themselves
    assert track_metrics(hits, particles, pd.DataFrame({"hit_id": hits["hit_id"].to_numpy(),
                         "track_id": ckf.find_tracks(hits)}), pt_thresholds=[0.9])["eff_dm_pt0.9"] > 0.75  # fmt: skip


def test_track_ckf_command(event: dict[str, pd.DataFrame], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    write_table(event["hits"], tmp_path / "hits.parquet", "hits")
    out = tmp_path / "tracks.parquet"
    assert main(["track-ckf", "--hits", str(tmp_path / "hits.parquet"), "--out", str(out),
                 "--threads", "2"]) == 0  # fmt: skip
    tracks = read_table(out, "tracks")
    assert sorted(tracks["hit_id"]) == sorted(event["hits"]["hit_id"])
    assert main(["track-ckf", "--hits", str(tmp_path / "hits.parquet"), "--out", str(tmp_path / "x.parquet"),
                 "--max-branches", "0"]) == 2  # fmt: skip
    assert "max_branches" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()
