"""Propagation through whole detectors against a brute-force search over every module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trackrec.io import load_detector
from trackrec.simulate import build_detector, prepare_geometry
from trackrec.simulate.propagate import (
    CURVATURE_PER_TESLA_GEV,
    FIELD_TESLA,
    MAX_CROSSINGS,
    propagate,
)


def _brute_force_modules(geometry, vertex, momentum, charge, t_max, steps=8000):
    """Modules whose plane the (unscattered) helix crosses inside the sensor, by scanning t."""
    pt = math.hypot(momentum[0], momentum[1])
    rho = -charge * CURVATURE_PER_TESLA_GEV * FIELD_TESLA / pt
    phi0 = math.atan2(momentum[1], momentum[0])
    cot = momentum[2] / pt
    t = np.linspace(1e-3, t_max, steps)
    pos = np.stack([vertex[0] + (np.sin(phi0 + rho * t) - math.sin(phi0)) / rho,
                    vertex[1] - (np.cos(phi0 + rho * t) - math.cos(phi0)) / rho,
                    vertex[2] + cot * t], axis=1)  # fmt: skip
    inside = (np.hypot(pos[:, 0], pos[:, 1]) < 1100.0) & (np.abs(pos[:, 2]) < 3100.0)
    pos = pos[: np.argmin(inside) if not inside.all() else len(pos)]  # up to leaving the detector
    found = set()
    for start in range(0, geometry.n_modules, 2000):
        sl = slice(start, start + 2000)
        c, axes = geometry.center[sl], geometry.axes[sl]
        f = np.einsum("tmk,mk->tm", pos[:, None, :] - c[None], axes[:, 2])
        sign_change = np.signbit(f[1:]) != np.signbit(f[:-1])
        for k, m in zip(*np.nonzero(sign_change)):
            # linear interpolation between the samples is far below the sensor sizes
            a = f[k, m] / (f[k, m] - f[k + 1, m])
            point = pos[k] + a * (pos[k + 1] - pos[k])
            rel = point - c[m]
            u, v = rel @ axes[m, 0], rel @ axes[m, 1]
            mod = start + m
            hv = geometry.half_v[mod]
            hu = geometry.half_u_min[mod] + (
                geometry.half_u_max[mod] - geometry.half_u_min[mod]
            ) * (v + hv) / (2 * hv)
            # keep clear of the edges, where the linear interpolation may decide either way
            if abs(v) < hv - 0.05 and abs(u) < hu - 0.05:
                found.add(mod)
            elif abs(v) <= hv + 0.05 and abs(u) <= hu + 0.05:
                found.add(-mod - 1)  # on the edge: either answer is right
    return found, rho


slow = pytest.mark.slow
CASES = [  # vertex, momentum (GeV), charge
    ((0.01, -0.01, 3.0), (4.0, 1.5, 1.2), 1),  # central, stiff: barrels only
    pytest.param((0.0, 0.0, -20.0), (-0.6, 0.5, 4.0), -1, marks=slow),  # forward: endcaps
    pytest.param((0.0, 0.0, 10.0), (0.2, -0.25, 0.15), 1, marks=slow),  # soft: half a turn
    pytest.param((30.0, -20.0, 100.0), (0.3, 0.9, -2.5), -1, marks=slow),  # displaced
]


@pytest.fixture(scope="module", params=["parametric", pytest.param("real", marks=slow)])
def geometry(request, detectors_path):
    if request.param == "parametric":
        return prepare_geometry(build_detector())
    return prepare_geometry(load_detector(detectors_path))


@pytest.mark.parametrize("vertex, momentum, charge", CASES)
def test_hits_are_the_modules_a_brute_force_search_finds(
    geometry, vertex, momentum, charge
) -> None:
    no_scattering = np.zeros((1, MAX_CROSSINGS, 2))
    hits = propagate(geometry, np.array([vertex]), np.array([momentum]), np.array([float(charge)]),
                     np.array([0.13957]), no_scattering)  # fmt: skip
    pt = math.hypot(momentum[0], momentum[1])
    rho = CURVATURE_PER_TESLA_GEV * FIELD_TESLA / pt
    half_turn = math.pi / rho
    # stop the scan where the kernel stops: half a turn, or outside the outermost layers
    z_limit = 3100.0
    t_out = (
        (z_limit - math.copysign(vertex[2], momentum[2])) / abs(momentum[2] / pt)
        if momentum[2]
        else math.inf
    )
    expected, _ = _brute_force_modules(
        geometry, vertex, momentum, charge, min(half_turn, t_out, 6000.0)
    )
    got = set(hits.module.tolist())
    certain = {m for m in expected if m >= 0}
    either = {-m - 1 for m in expected if m < 0}
    assert certain <= got
    assert got <= certain | either
    assert len(got) >= 1
    # true positions lie on their module planes
    rel = hits.position - geometry.center[hits.module]
    np.testing.assert_allclose(
        np.einsum("nk,nk->n", rel, geometry.axes[hits.module, 2]), 0.0, atol=1e-4
    )
    # without scattering the momentum keeps its magnitude and pz
    np.testing.assert_allclose(
        np.linalg.norm(hits.momentum, axis=1), np.linalg.norm(momentum), rtol=1e-9
    )


def test_central_track_crosses_every_barrel_layer() -> None:
    geometry = prepare_geometry(build_detector())
    hits = propagate(geometry, np.zeros((1, 3)), np.array([[10.0, 0.0, 0.5]]), np.array([1.0]),
                     np.array([0.13957]), np.zeros((1, MAX_CROSSINGS, 2)))  # fmt: skip
    layers = geometry.module_layer[hits.module]
    vol = geometry.detector.volume_id.to_numpy()[hits.module]
    assert set(vol.tolist()) == {8, 13, 17}
    assert len(set(layers.tolist())) == 10  # 4 pixel + 4 short strip + 2 long strip layers
    # in flight order: layer after layer outwards (overlapping modules of a layer in any order)
    assert (np.diff(geometry.layer_position[layers]) >= 0).all()


def test_propagate_validates_shapes() -> None:
    geometry = prepare_geometry(build_detector())
    with pytest.raises(ValueError, match="scatter_normals"):
        propagate(
            geometry, np.zeros((1, 3)), np.ones((1, 3)), np.ones(1), np.ones(1), np.zeros((1, 3, 2))
        )
    with pytest.raises(ValueError, match="finite"):
        propagate(geometry, np.full((1, 3), np.nan), np.ones((1, 3)), np.ones(1), np.ones(1),
                  np.zeros((1, MAX_CROSSINGS, 2)))  # fmt: skip
