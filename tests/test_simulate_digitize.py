"""Digitisation details worked by hand: which crossings register, drift, cut of long paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trackrec.simulate import build_detector, digitize, prepare_geometry


@pytest.fixture(scope="module")
def geometry():
    det = build_detector()
    # module 0: pixel barrel (t 0.15, pitch 0.05 x 0.05625); 1: pixel endcap; 2: short strip
    picks = [det[det.volume_id == v].head(1) for v in (8, 9, 13)]
    return prepare_geometry(pd.concat(picks, ignore_index=True))


def test_long_pixel_paths_leave_no_hit(geometry) -> None:
    module = np.array([0, 0, 0, 2])
    # slopes 0, 9 and 10 across the sensor: in-plane paths 0, 1.35 and 1.5 mm; strip at 10
    direction = np.array([[0.0, 0.0, 1.0], [0.0, 9.0, 1.0], [0.0, 10.0, 1.0], [0.0, 10.0, 1.0]])
    assert digitize.registers(geometry, module, direction).tolist() == [True, True, False, True]


def test_drift_tilts_a_normal_crossing(geometry) -> None:
    module = np.array([0, 1, 2])
    position = np.zeros((3, 3))
    direction = np.array([[0.0, 0.0, 1.0]] * 3)
    fu0, fv0, fu1, fv1 = digitize.segment_channels(geometry, module, position, direction)
    # barrel pixel: du = t * drift = 0.15 * -0.1 mm = -0.3 columns of 0.05 mm;
    # endcap pixel: dv = 0.15 * 0.1 mm = 0.2667 rows of 0.05625 mm; strips: no drift
    np.testing.assert_allclose(fu1 - fu0, [-0.3, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(fv1 - fv0, [0.0, 0.15 * 0.1 / 0.05625, 0.0], atol=1e-9)


def test_grazing_paths_are_cut_in_the_plane(geometry) -> None:
    module = np.array([0, 2])
    position = np.zeros((2, 3))
    direction = np.array([[0.0, 50.0, 1.0], [0.0, 50.0, 1.0]])
    fu0, fv0, fu1, fv1 = digitize.segment_channels(geometry, module, position, direction)
    planar_mm = np.hypot((fu1 - fu0) * geometry.pitch_u[module], (fv1 - fv0) * geometry.pitch_v[module])
    # pixel: cut to 1.46 mm (u carries the barrel drift, 0.15 * -0.1 = -0.015 mm); strip: 0.25 * 50
    np.testing.assert_allclose(planar_mm, [1.46, 12.5], rtol=1e-6)
