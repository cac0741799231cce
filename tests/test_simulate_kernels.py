"""numba kernels of the simulator against hand-worked values and slow obvious references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrec.simulate.digitize import cells_per_hit, traverse
from trackrec.simulate.propagate import _cylinder_crossing, _helix_at, _highland, _plane_crossing
from trackrec.simulate.weights import hit_weights, order_profile, pt_weight

finite = dict(allow_nan=False, allow_infinity=False)


def _reference_helix(x0, y0, z0, phi0, rho, cot, t):
    return (x0 + (math.sin(phi0 + rho * t) - math.sin(phi0)) / rho,
            y0 - (math.cos(phi0 + rho * t) - math.cos(phi0)) / rho, z0 + cot * t)  # fmt: skip


def _reference_first_root(f, t_max, steps=20000):
    """First t in (0, t_max] where f changes sign, by scanning then bisection."""
    previous_t, previous = 1e-3, f(1e-3)
    for k in range(1, steps + 1):
        t = t_max * k / steps
        value = f(t)
        if previous == 0 or (previous < 0) != (value < 0):
            lo, hi = previous_t, t
            for _ in range(80):
                mid = 0.5 * (lo + hi)
                if (f(lo) < 0) != (f(mid) < 0):
                    hi = mid
                else:
                    lo = mid
            return 0.5 * (lo + hi)
        previous_t, previous = t, value
    return math.inf


def test_helix_circle_through_origin_worked_by_hand() -> None:
    # radius 1000 mm circle starting at the origin: the point at distance R from the start
    # subtends a chord R, so t = 2 * 1000 * asin(R / 2000); R = 1000 gives 1000 * pi / 3.
    t = _cylinder_crossing(0.0, 0.0, 0.0, -1e-3, 1000.0)
    assert t == pytest.approx(1000.0 * math.pi / 3.0, rel=1e-12)
    x, y, _, phi = _helix_at(0.0, 0.0, 0.0, 0.0, -1e-3, 0.0, t)
    assert math.hypot(x, y) == pytest.approx(1000.0, rel=1e-12)
    assert phi == pytest.approx(-math.pi / 3.0)


def test_cylinder_never_reached_and_nearly_straight() -> None:
    assert _cylinder_crossing(0.0, 0.0, 0.0, 1e-2, 500.0) == math.inf  # loops within r = 200
    assert _cylinder_crossing(0.0, 0.0, 1.0, -6e-8, 800.0) == pytest.approx(800.0, rel=1e-6)


def test_highland_worked_by_hand() -> None:
    # 13.6 MeV / 1 GeV * sqrt(0.01) * (1 + 0.038 ln 0.01)
    assert _highland(1.0, 1.0, 0.01) == pytest.approx(0.00136 * (1 + 0.038 * math.log(0.01)))


@settings(max_examples=60, deadline=None)
@given(x0=st.floats(-50, 50), y0=st.floats(-50, 50), phi0=st.floats(-3.1, 3.1),
       rho=st.floats(1e-4, 5e-3).flatmap(lambda r: st.sampled_from([r, -r])),
       t=st.floats(0, 3000), cot=st.floats(-5, 5))  # fmt: skip
def test_helix_matches_reference(x0, y0, phi0, rho, t, cot) -> None:
    got = _helix_at(x0, y0, 3.0, phi0, rho, cot, t)[:3]
    np.testing.assert_allclose(got, _reference_helix(x0, y0, 3.0, phi0, rho, cot, t), atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(x0=st.floats(-20, 20), y0=st.floats(-20, 20), phi0=st.floats(-3.1, 3.1),
       rho=st.floats(2e-4, 3e-3).flatmap(lambda r: st.sampled_from([r, -r])),
       radius=st.floats(60, 1000))  # fmt: skip
def test_cylinder_crossing_matches_reference(x0, y0, phi0, rho, radius) -> None:
    def f(t):
        x, y, _ = _reference_helix(x0, y0, 0.0, phi0, rho, 0.0, t)
        return math.hypot(x, y) - radius

    expected = _reference_first_root(f, 2 * math.pi / abs(rho))
    got = _cylinder_crossing(x0, y0, phi0, rho, radius)
    if math.isinf(expected):
        # tangent-ish misses of the coarse scan: the kernel may find a grazing touch
        assert math.isinf(got) or abs(f(got)) < 1e-6
    else:
        assert got == pytest.approx(expected, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(phi0=st.floats(-3.1, 3.1), rho=st.floats(2e-4, 3e-3).flatmap(lambda r: st.sampled_from([r, -r])),
       cot=st.floats(-3, 3), normal_phi=st.floats(-3.1, 3.1), normal_z=st.floats(-1, 1),
       distance=st.floats(30, 300))  # fmt: skip
def test_plane_crossing_matches_reference(phi0, rho, cot, normal_phi, normal_z, distance) -> None:
    w = np.array([math.cos(normal_phi), math.sin(normal_phi), normal_z])
    w /= np.linalg.norm(w)
    # a plane through a point of the helix at t = distance: a root exists there
    c = _reference_helix(0.0, 0.0, 0.0, phi0, rho, cot, distance)

    def f(t):
        p = _reference_helix(0.0, 0.0, 0.0, phi0, rho, cot, t)
        return sum((p[i] - c[i]) * w[i] for i in range(3))

    t = _plane_crossing(0.0, 0.0, 0.0, phi0, rho, cot, distance * 1.01, *c, *w)
    if not math.isnan(t):
        assert abs(f(t)) < 1e-4


def test_disk_plane_crossing_worked_by_hand() -> None:
    # plane z = 600 with cot(theta) = 2: t = 300 whatever the curvature
    t = _plane_crossing(0.0, 0.0, 0.0, 0.3, 1e-3, 2.0, 250.0, 0.0, 0.0, 600.0, 0.0, 0.0, 1.0)
    assert t == pytest.approx(300.0)


def test_traverse_worked_by_hand() -> None:
    hit, i, j, frac = traverse(np.array([0.5, 0.5, 3.3]), np.array([0.5, 0.2, 7.7]),
                               np.array([2.5, 1.5, 3.3]), np.array([0.5, 1.2, 7.7]))  # fmt: skip
    assert hit.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert list(zip(i.tolist(), j.tolist())) == [
        (0, 0),
        (1, 0),
        (2, 0),
        (0, 0),
        (1, 0),
        (1, 1),
        (3, 7),
    ]
    np.testing.assert_allclose(frac, [0.25, 0.5, 0.25, 0.5, 0.3, 0.2, 1.0])


def _reference_cells(a0, b0, a1, b1, samples=20000):
    s = (np.arange(samples) + 0.5) / samples
    i = np.floor(a0 + s * (a1 - a0)).astype(int)
    j = np.floor(b0 + s * (b1 - b0)).astype(int)
    cells, counts = np.unique(np.stack([i, j], 1), axis=0, return_counts=True)
    return {(int(a), int(b)): c / samples for (a, b), c in zip(cells, counts)}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 12, **finite), min_size=4, max_size=4))
def test_traverse_matches_reference(coords) -> None:
    a0, b0, a1, b1 = coords
    hit, i, j, frac = traverse(*(np.array([c]) for c in coords))
    assert len(hit) == cells_per_hit(*(np.array([c]) for c in coords))[0]
    assert frac.sum() == pytest.approx(1.0)
    steps = np.abs(np.diff(i)) + np.abs(np.diff(j))
    assert (steps == 1).all()  # neighbouring cells, one step at a time
    got = {}
    for a, b, f in zip(i.tolist(), j.tolist(), frac.tolist()):
        got[(a, b)] = got.get((a, b), 0.0) + f
    reference = _reference_cells(a0, b0, a1, b1)
    for cell, share in reference.items():
        assert got.get(cell, 0.0) == pytest.approx(share, abs=2e-3)
    assert all(share < 2e-3 or cell in reference for cell, share in got.items())


def test_pt_weight_worked_by_hand() -> None:
    np.testing.assert_allclose(pt_weight(np.array([0.01, 0.1, 0.5, 1.75, 3.0, 10.0])),
                               [0.0, 0.2, 0.2, 0.6, 1.0, 1.0])  # fmt: skip


def test_order_profile_worked_by_hand() -> None:
    # 4 hits: ranks at profile positions 0, 8/3, 16/3, 8 -> 10, 6 - 2/3, 3, 6 (sum 73/3)
    np.testing.assert_allclose(order_profile(4), np.array([10, 16 / 3, 3, 6]) / (73 / 3))
    assert order_profile(3).tolist() == [0, 0, 0]
    np.testing.assert_allclose(order_profile(9), np.array([10, 8, 6, 5, 3, 3, 3, 5, 6]) / 49)
    p25 = order_profile(25)
    np.testing.assert_allclose(p25[:20], order_profile(20))
    assert (p25[20:] == 0).all()


def test_hit_weights_worked_by_hand() -> None:
    # particle 7 (pT 1.75 -> 0.6) with 4 hits ranked by |z - vz|; particle 9 has 3 hits; noise 0
    pid = np.array([7, 9, 7, 0, 7, 9, 7, 9])
    z = np.array([40.0, 1, 10, 5, -30, 2, 20, 3])
    vz = np.array([0.0, 0, 0, 0, 0, 0, 0, 0])
    pt = np.array([1.75, 5, 1.75, 0, 1.75, 5, 1.75, 5])
    w = hit_weights(pid, z, vz, pt)
    expected = np.zeros(8)
    expected[[2, 6, 4, 0]] = np.array([10, 16 / 3, 3, 6]) / (73 / 3)
    np.testing.assert_allclose(w, expected)


def _reference_weights(pid, z, vz, pt):
    w = np.zeros(len(pid))
    for p in set(pid.tolist()) - {0}:
        idx = [k for k in range(len(pid)) if pid[k] == p]
        idx.sort(key=lambda k: abs(z[k] - vz[k]))  # stable: ties keep the input order
        prof = order_profile(len(idx))
        for rank, k in enumerate(idx):
            w[k] = prof[rank] * pt_weight(np.array([pt[k]]))[0]
    return w / w.sum() if w.sum() > 0 else w


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(-3000, 3000)),
        min_size=1,
        max_size=60,
        unique_by=lambda t: t[1],
    )
)
def test_hit_weights_match_reference(rows) -> None:
    pid = np.array([r[0] for r in rows])
    z = np.array([float(r[1]) for r in rows])
    vz = np.where(pid % 2 == 0, 5.0, -7.0)
    pt = 0.3 + pid * 0.8
    np.testing.assert_allclose(
        hit_weights(pid, z, vz, pt), _reference_weights(pid, z, vz, pt), atol=1e-12
    )
