"""The parametric detector against the real TrackML detector, and its frame conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.io import load_detector
from trackrec.simulate import build_detector, prepare_geometry
from trackrec.simulate.detector import DETECTOR_COLUMNS
from trackrec.simulate.geometry import BARREL, DISK, module_axes


@pytest.fixture(scope="module")
def detector() -> pd.DataFrame:
    return build_detector()


def _per_layer(det: pd.DataFrame) -> pd.DataFrame:
    det = det.assign(r=np.hypot(det.cx, det.cy), absz=det.cz.abs())
    return det.groupby(["volume_id", "layer_id"]).agg(
        n=("module_id", "size"), r=("r", "mean"), absz=("absz", "mean"),
        minhu=("module_minhu", "mean"), maxhu=("module_maxhu", "mean"), hv=("module_hv", "mean"),
        pitch_u=("pitch_u", "mean"), pitch_v=("pitch_v", "mean"), t=("module_t", "mean"),
    )  # fmt: skip


def test_layers_match_the_real_detector(detector: pd.DataFrame, detectors_path) -> None:
    real = _per_layer(load_detector(detectors_path))
    ours = _per_layer(detector)
    assert list(ours.index) == list(real.index)
    barrel = ours.index.get_level_values(0).isin([8, 13, 17])
    assert (ours["n"] == real["n"]).all()
    rel = lambda col: (ours[col] / real[col] - 1).abs()  # noqa: E731
    assert (rel("r")[barrel] < 0.02).all()
    assert (rel("absz")[~barrel] < 0.02).all()
    for col in ("minhu", "maxhu", "hv", "pitch_u", "pitch_v", "t"):
        assert (rel(col) < 0.03).all(), col


def test_columns_order_and_ids(detector: pd.DataFrame) -> None:
    assert tuple(detector.columns) == DETECTOR_COLUMNS
    key = detector[["volume_id", "layer_id", "module_id"]]
    assert key.equals(key.sort_values(list(key.columns)).reset_index(drop=True))
    for _, group in detector.groupby(["volume_id", "layer_id"]):
        assert group.module_id.tolist() == list(range(1, len(group) + 1))


def test_module_frames_are_right_handed_rotations(detector: pd.DataFrame) -> None:
    axes = module_axes(detector)  # rows u, v, w
    eye = np.einsum("nij,nkj->nik", axes, axes)
    np.testing.assert_allclose(eye, np.broadcast_to(np.eye(3), eye.shape), atol=1e-12)
    np.testing.assert_allclose(np.cross(axes[:, 0], axes[:, 1]), axes[:, 2], atol=1e-12)


def test_barrel_module_frame_worked_by_hand() -> None:
    det = build_detector()
    first = det[(det.volume_id == 8) & (det.layer_id == 2)].iloc[0]
    # first stave at phi = -pi + pi/16, first row at z = -455 and r = 32 + 0.25; normal tilted 0.14
    phi = -np.pi + np.pi / 16
    assert first.cx == pytest.approx(32.25 * np.cos(phi))
    assert first.cy == pytest.approx(32.25 * np.sin(phi))
    assert first.cz == pytest.approx(-455.0)
    assert (first.rot_xw, first.rot_yw) == pytest.approx((np.cos(phi + 0.14), np.sin(phi + 0.14)))
    assert (first.rot_zu, first.rot_zv, first.rot_zw) == (0.0, 1.0, 0.0)


def test_geometry_classifies_layers(detector: pd.DataFrame) -> None:
    geometry = prepare_geometry(detector)
    assert (geometry.layer_kind == BARREL).sum() == 10
    assert (geometry.layer_kind == DISK).sum() == 38


def test_real_detector_prepares(detectors_path) -> None:
    geometry = prepare_geometry(load_detector(detectors_path))
    assert geometry.n_modules == 18728


def test_simulate_detector_cli_round_trip(tmp_path, detector: pd.DataFrame) -> None:
    out = tmp_path / "det.csv.gz"
    assert main(["simulate-detector", "--out", str(out)]) == 0
    back = load_detector(out)
    assert list(back.columns[-len(DETECTOR_COLUMNS) :]) == list(DETECTOR_COLUMNS)
    np.testing.assert_allclose(back[list(DETECTOR_COLUMNS)].to_numpy(float),
                               detector.to_numpy(float), atol=1e-6)  # fmt: skip


def test_simulate_detector_refuses_odd_name(tmp_path, capsys) -> None:
    assert main(["simulate-detector", "--out", str(tmp_path / "det.txt")]) == 2
    assert "must end in .csv" in capsys.readouterr().err
    assert not (tmp_path / "det.txt").exists()
