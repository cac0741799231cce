"""Simulated pileup-200 events against real TrackML events, figure by figure.

References: the two real full events 1001 and 1003 (hits and particles files) and the real
sample (5 % of one event's particles with their hits, plus noise hits; truth and cells).
Three simulated pileup-200 events (seeds 1, 2, 3) stand for the simulator. No limit comes
from the simulator's constants:

- a distribution passes when the two-sample Kolmogorov-Smirnov distance is below the 99 %
  critical value ``1.628 * sqrt((n + m) / (n m))``; where the two real events differ from
  each other by more than that (particles of one event are correlated: vertices, jets), the
  distance between the two real events is the limit instead;
- a per-event figure passes when it lies within the range of the two real events widened on
  each side by that range (two events give a poor estimate of the event-to-event spread);
- hit shares per (volume, layer): within 3.2 relative standard deviations of the real mean,
  the deviation being pooled over all layers from the difference between the two real events
  (3.2: a two-sided 99 % limit shared among the ~50 layers, for a mean of three simulated
  events against a mean of two real ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare, ks_2samp

from trackrec.io import load_event
from trackrec.simulate import build_detector, physics, prepare_geometry, simulate_event
from trackrec.simulate.event import event_rng
from trackrec.simulate.realism import abs_eta as _abs_eta
from trackrec.simulate.realism import hit_cell_features, ks_limit, noise_share, prompt_vertices
from trackrec.simulate.realism import transverse_momentum as _pt
from trackrec.simulate.weights import hit_weights

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def real_full(full_event_prefixes) -> list[dict[str, pd.DataFrame]]:
    return [{"hits": pd.read_csv(f"{p}-hits.csv.gz"), "particles": pd.read_csv(f"{p}-particles.csv.gz")}
            for p in full_event_prefixes]  # fmt: skip


@pytest.fixture(scope="module")
def real_sample(sample_prefix) -> dict[str, pd.DataFrame]:
    hits, cells, particles, truth = load_event(sample_prefix)
    return {"hits": hits, "cells": cells, "particles": particles, "truth": truth}


@pytest.fixture(scope="module")
def simulated() -> list[dict[str, pd.DataFrame]]:
    geometry = prepare_geometry(build_detector())
    return [simulate_event(geometry, event_id=1000 + s, pileup=200, seed=s) for s in SEEDS]


def _within_real_spread(ours: float, real: list[float]) -> bool:
    lo, hi = min(real), max(real)
    return lo - (hi - lo) <= ours <= hi + (hi - lo)


def _assert_like_real(name: str, ours: list[np.ndarray], real: list[np.ndarray]) -> None:
    """Each simulated sample against each real one, KS at 99 % or the real events' distance."""
    real_distance = ks_2samp(real[0], real[1]).statistic
    for k, a in enumerate(ours):
        for j, b in enumerate(real):
            limit = max(ks_limit(a.size, b.size), real_distance)
            distance = ks_2samp(a, b).statistic
            assert distance <= limit, f"{name}: seed {SEEDS[k]} vs real event {j}: KS {distance:.4f} > {limit:.4f}"


# --- luminous region (fast: the generator alone) -----------------------------------------


def test_luminous_region_matches_the_real_vertices(full_event_prefixes) -> None:
    real = pd.concat([prompt_vertices(pd.read_csv(f"{p}-particles.csv.gz")) for p in full_event_prefixes])
    ours = pd.concat([prompt_vertices(physics.generate_particles(event_rng(s, 1000 + s), 200)) for s in SEEDS])
    assert len(real) > 200 and len(ours) > 300
    for axis in ("vx", "vy", "vz"):
        distance = ks_2samp(ours[axis], real[axis]).statistic
        assert distance < ks_limit(len(ours), len(real)), (axis, distance)


# --- per-event counts -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("figure", ["hits", "particles", "particles with hits", "noise share"])
def test_event_counts(real_full, simulated, figure) -> None:
    def value(event):
        hits, particles = event["hits"], event["particles"]
        return {"hits": len(hits), "particles": len(particles),
                "particles with hits": int((particles.nhits > 0).sum()),
                "noise share": noise_share(hits, particles)}[figure]  # fmt: skip

    real = [value(e) for e in real_full]
    for event in simulated:
        assert _within_real_spread(value(event), real), (figure, value(event), real)


# --- distributions against the full events ----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("figure", [
    pytest.param("pT", marks=pytest.mark.xfail(strict=True, reason=(
        "seed 1: KS 0.030-0.031 against limits of 0.023-0.024; seed 2: 0.018"))),
    pytest.param("|eta|", marks=pytest.mark.xfail(strict=True, reason=(
        "seeds 1 and 3: KS up to 0.029 against limits of 0.023-0.024; seed 2: 0.015-0.020"))),
    pytest.param("hits per particle", marks=pytest.mark.xfail(strict=True, reason=(
        "too many particles with 14-17 hits and too few with 1 (KS 0.046-0.065, limit 0.025)"))),
])  # fmt: skip
def test_particle_distributions(real_full, simulated, figure) -> None:
    def values(event):
        particles = event["particles"]
        if figure == "pT":
            return _pt(particles)
        if figure == "|eta|":
            return _abs_eta(particles)
        return particles.nhits[particles.nhits > 0].to_numpy()

    _assert_like_real(figure, [values(e) for e in simulated], [values(e) for e in real_full])


def _layer_shares(hits: pd.DataFrame) -> pd.Series:
    return hits.groupby(["volume_id", "layer_id"]).size() / len(hits)


@pytest.mark.slow
@pytest.mark.parametrize("volume", [7, 8, 9, 12, 13, 14] + [
    pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=(
        "the innermost long-strip endcap disks get 13-22 % fewer hits than in real events")))
    for v in (16, 18)
] + [17])  # fmt: skip
def test_hits_per_layer(real_full, simulated, volume) -> None:
    real = pd.concat([_layer_shares(e["hits"]) for e in real_full], axis=1)
    ours = pd.concat([_layer_shares(e["hits"]) for e in simulated], axis=1).mean(axis=1)
    real_mean = real.mean(axis=1)
    relative_sd = np.sqrt(((real[0] - real[1]) / real_mean).pow(2).mean() / 2.0)
    deviation = (ours / real_mean - 1.0).loc[volume]
    assert (deviation.abs() <= 3.2 * relative_sd).all(), (deviation.round(3).to_dict(), relative_sd)


# --- noise and cells against the real sample (which has truth and cells) -----------------


def _hit_table(event: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return hit_cell_features(event["hits"], event["cells"], event["truth"])


@pytest.fixture(scope="module")
def real_hits(real_sample) -> pd.DataFrame:
    return _hit_table(real_sample)


@pytest.fixture(scope="module")
def simulated_hits(simulated) -> list[pd.DataFrame]:
    return [_hit_table(e) for e in simulated]


@pytest.mark.slow
def test_noise_share_per_volume(real_hits, simulated_hits) -> None:
    # the real sample's noise hits per volume against the simulated shares: chi-square at 99 %
    # (the simulated shares rest on thousands of noise hits; their own error is negligible)
    real = real_hits[real_hits.noise].volume_id.value_counts().sort_index()
    for hits in simulated_hits:
        share = hits[hits.noise].volume_id.value_counts(normalize=True).reindex(real.index)
        test = chisquare(real.to_numpy(), share.to_numpy() * real.sum())
        assert test.pvalue > 0.01, (real.to_dict(), (share * real.sum()).round(1).to_dict())


# Known shortfalls, each an xfail that fails (strict) once the simulator gets it right.
KNOWN_CELL_SHORTFALLS = {
    (9, "charge", "particle"): "KS 0.08 against a limit of 0.063 (volume 7, the other endcap, passes)",
    (12, "n_cells", "particle"): "strip-endcap particle clusters: ours are narrower (1.4 strips "
                                 "on average against 1.8)",
    (16, "n_cells", "particle"): "long-strip-endcap particle clusters: ours are narrower (2.1 "
                                 "strips on average against 3.0)",
}  # fmt: skip


def _cell_case(volume: int, feature: str, kind: str):
    reason = KNOWN_CELL_SHORTFALLS.get((volume, feature, kind))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(volume, feature, kind, marks=marks, id=f"{volume}-{feature}-{kind}")


# strips read out binary cells: their charge is their number of cells
CELL_CASES = [
    _cell_case(volume, feature, kind)
    for kind in ("particle", "noise")
    for volume, feature in [(v, "n_cells") for v in (7, 8, 9, 12, 13, 14, 16, 17, 18)]
    + [(v, "charge") for v in (7, 8, 9)]
]


@pytest.mark.slow
@pytest.mark.parametrize(("volume", "feature", "kind"), CELL_CASES)
def test_cells_per_hit(real_hits, simulated_hits, volume, feature, kind) -> None:
    def pick(hits):
        sel = (hits.volume_id == volume) & (hits.noise == (kind == "noise"))
        return hits.loc[sel, feature].to_numpy(float)

    real = pick(real_hits)
    for seed, hits in zip(SEEDS, simulated_hits):
        ours = pick(hits)
        distance = ks_2samp(ours, real).statistic
        assert distance <= ks_limit(ours.size, real.size), (seed, distance, ours.size, real.size)


# --- weights ----------------------------------------------------------------------------


def test_weights_follow_the_official_rules_on_the_real_sample(real_sample) -> None:
    truth = real_sample["truth"].merge(
        real_sample["particles"][["particle_id", "vz", "px", "py"]], on="particle_id", how="left"
    )
    ours = hit_weights(truth.particle_id.to_numpy(), truth.tz.to_numpy(float),
                       truth.vz.fillna(0).to_numpy(float), _pt(truth.fillna(0)))  # fmt: skip
    theirs = truth.weight.to_numpy(float)
    checked, short, skipped = 0, 0, []
    for pid, idx in truth.groupby("particle_id").indices.items():
        if pid == 0:
            continue
        if idx.size < 4:
            # the rules: particles with fewer than 4 hits weigh 0 (real sample: 50 of 468)
            assert theirs[idx].sum() == 0 and ours[idx].sum() == 0
            short += 1
            continue
        if theirs[idx].sum() == 0:
            # The real sample also zeroes 41 particles with 4 or more hits, all produced
            # 19-200 mm from the beam line (10-90 %) with pT < 0.5 GeV; the published rules
            # do not describe that, so they are skipped and counted.
            skipped.append(pid)
            continue
        np.testing.assert_allclose(
            ours[idx] / ours[idx].sum(), theirs[idx] / theirs[idx].sum(), atol=1e-5
        )
        checked += 1
    n_particles = truth.particle_id[truth.particle_id != 0].nunique()
    assert checked + short + len(skipped) == n_particles
    displaced = real_sample["particles"].set_index("particle_id").loc[skipped]
    assert (np.hypot(displaced.vx, displaced.vy) > 1.0).all()  # never a prompt particle
    assert checked > 300 and len(skipped) < 0.1 * n_particles, (checked, short, len(skipped))
    # across particles: each particle's total is proportional to its pT weight, as ours
    real_totals = pd.Series(theirs).groupby(truth.particle_id).sum()
    our_totals = pd.Series(ours).groupby(truth.particle_id).sum()
    both = (real_totals > 0) & (our_totals > 0) & (real_totals.index != 0)
    scale = real_totals[both] / our_totals[both]
    np.testing.assert_allclose(scale, scale.iloc[0], rtol=1e-4)


# --- the helpers ------------------------------------------------------------------------


def test_ks_limit_is_the_asymptotic_99_percent_value() -> None:
    from scipy.stats import kstwobign

    # Smirnov's limiting distribution: P(sqrt(nm/(n+m)) D > c) = 0.01 at c = 1.6276
    assert ks_limit(10_000, 10_000) == pytest.approx(kstwobign.ppf(0.99) * np.sqrt(2 / 10_000), rel=1e-3)


def test_prompt_vertices_worked_by_hand() -> None:
    particles = pd.DataFrame({
        "vx": [0.01] * 5 + [0.02] * 4 + [5.0] * 6,
        "vy": [0.0] * 15,
        "vz": [3.0] * 5 + [-1.0] * 4 + [2.0] * 6,
    })  # fmt: skip
    # five prompt particles at z = 3; four at z = -1 (too few); six displaced by 5 mm
    vertices = prompt_vertices(particles)
    assert vertices[["vz", "n"]].values.tolist() == [[3.0, 5]]
