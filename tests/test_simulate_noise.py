"""Noise-hit model: where noise hits go, their positions on a module, their cluster slopes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kstest

from trackrec.simulate import build_detector, prepare_geometry
from trackrec.simulate import noise as noise_model
from trackrec.simulate.noise import NoiseVolume


@pytest.fixture(scope="module")
def small_detector() -> pd.DataFrame:
    """Three modules of volume 8 (the last one twice as long) and two of volume 17."""
    det = build_detector()
    frame = pd.concat([det[det.volume_id == 8].head(3), det[det.volume_id == 17].head(2)])
    frame = frame.reset_index(drop=True)
    frame.loc[2, "module_hv"] *= 2.0
    return frame


@pytest.fixture()
def table(monkeypatch) -> None:
    monkeypatch.setattr(noise_model, "NOISE_VOLUMES", {
        8: NoiseVolume(1.0, 0.2, 1.5), 17: NoiseVolume(3.0, 0.7, 0.1),
    })  # fmt: skip


def test_module_probabilities_worked_by_hand(small_detector, table) -> None:
    geometry = prepare_geometry(small_detector)
    # volume 8 holds 1/4 of the noise, split 1:1:2 by area; volume 17 3/4, split evenly
    expected = [1 / 16, 1 / 16, 2 / 16, 3 / 8, 3 / 8]
    np.testing.assert_allclose(noise_model.module_probabilities(geometry), expected)


def test_unknown_volumes_share_noise_by_area(small_detector, monkeypatch) -> None:
    monkeypatch.setattr(noise_model, "NOISE_VOLUMES", {})
    geometry = prepare_geometry(small_detector)
    area = [1, 1, 2, 1, 1] * np.array([8.4 * 36, 8.4 * 36, 8.4 * 36, 24 * 54, 24 * 54])
    np.testing.assert_allclose(noise_model.module_probabilities(geometry), area / area.sum())


def test_noise_hits_follow_the_volume_table(small_detector, table) -> None:
    geometry = prepare_geometry(small_detector)
    rng = np.random.default_rng(5)
    module, position, direction = noise_model.noise_hits(rng, geometry, 40_000)
    counts = np.bincount(module, minlength=5) / module.size
    np.testing.assert_allclose(counts, [1 / 16, 1 / 16, 2 / 16, 3 / 8, 3 / 8], atol=0.01)
    np.testing.assert_allclose(np.linalg.norm(direction, axis=1), 1.0)
    assert (position[:, 2] == 0).all()
    slope_u = np.abs(direction[:, 0] / direction[:, 2])
    slope_v = np.abs(direction[:, 1] / direction[:, 2])
    pixel = module < 3
    # the mean |slope| is the table's (half-normal), and half-normal in shape
    np.testing.assert_allclose([slope_u[pixel].mean(), slope_v[pixel].mean()], [0.2, 1.5], rtol=0.03)
    np.testing.assert_allclose([slope_u[~pixel].mean(), slope_v[~pixel].mean()], [0.7, 0.1], rtol=0.03)
    sigma = 1.5 * np.sqrt(np.pi / 2)
    assert kstest(slope_v[pixel], "halfnorm", args=(0, sigma)).pvalue > 0.001


def test_points_are_uniform_over_a_trapezoid() -> None:
    det = build_detector()
    geometry = prepare_geometry(det[det.volume_id == 14].head(60).reset_index(drop=True))
    module = np.flatnonzero(geometry.half_u_min < 0.8 * geometry.half_u_max)[:1]
    assert module.size == 1
    rng = np.random.default_rng(2)
    points = noise_model.uniform_on_module(rng, geometry, np.repeat(module, 50_000))
    lo, hi = geometry.half_u_min[module[0]], geometry.half_u_max[module[0]]
    hv = geometry.half_v[module[0]]
    u, v = points[:, 0], points[:, 1]
    width = lo + (hi - lo) * (v + hv) / (2 * hv)
    assert (np.abs(u) <= width + 1e-9).all() and (np.abs(v) <= hv).all()

    # v has the density of the trapezoid's width: CDF worked out by integrating it
    def cdf(x):
        t = x + hv
        return (lo * t + (hi - lo) * t**2 / (4 * hv)) / ((lo + hi) * hv)

    assert kstest(v, cdf).pvalue > 0.001
    assert abs(np.mean(u / width)) < 0.01
