"""Resolution estimators: hand-worked samples and a Gaussian sanity check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trackrec.errors import TrackrecError
from trackrec.metrics.resolution import binned_resolution, pruned_rms, quantile_width


def test_pruned_rms_drops_an_outlier_by_hand() -> None:
    residuals = [-1.0] * 10 + [1.0] * 10 + [100.0]
    # Pass 1: mean 100/21 = 4.76, rms = sqrt((10*5.76^2 + 10*3.76^2 + 95.24^2)/21) = 21.3;
    # the outlier is 95.2 > 3 * 21.3 = 64 away and goes. Pass 2: mean 0, rms 1, all 20 are
    # within 3, nothing changes.
    assert pruned_rms(residuals) == (0.0, 1.0, 20)


def test_pruned_rms_keeps_a_clean_sample_and_ignores_nan() -> None:
    # mean 2, deviations -1, 0, 1: rms sqrt(2/3); all within 3 rms.
    mean, rms, n = pruned_rms(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (mean, n) == (2.0, 3) and rms == pytest.approx(math.sqrt(2 / 3))
    assert pruned_rms([5.0, 5.0]) == (5.0, 0.0, 2)
    mean, rms, n = pruned_rms([])
    assert math.isnan(mean) and math.isnan(rms) and n == 0
    with pytest.raises(TrackrecError):
        pruned_rms([1.0], nsigma=0.0)


def test_pruned_rms_iterates_until_stable() -> None:
    # With nsigma=1 the far points go in steps: [0]*4 + [1, 10]: pass 1 mean 11/6 = 1.83,
    # rms = sqrt((4*1.83^2 + 0.83^2 + 8.17^2)/6) = 3.67 -> 10 (8.17 away) goes; pass 2
    # [0,0,0,0,1]: mean 0.2, rms 0.4 -> 1 (0.8 away) goes; pass 3: rms 0, the zeros stay.
    assert pruned_rms([0.0, 0.0, 0.0, 0.0, 1.0, 10.0], nsigma=1.0) == (0.0, 0.0, 4)


def test_quantile_width_by_hand() -> None:
    values = np.arange(101.0)  # Q(p) = 100 p with linear interpolation
    assert quantile_width(values, q=0.5) == pytest.approx((75 - 25) / 2)
    assert quantile_width(values) == pytest.approx((84.135 - 15.865) / 2)
    assert math.isnan(quantile_width([]))
    with pytest.raises(TrackrecError):
        quantile_width(values, q=1.0)


def test_gaussian_widths_are_sigma() -> None:
    values = np.random.default_rng(0).normal(0.5, 2.0, 200_000)
    mean, rms, _ = pruned_rms(values)
    # 3-sigma pruning of a Gaussian keeps 99.7% and shrinks the rms a little (to ~0.986 sigma).
    assert mean == pytest.approx(0.5, abs=0.02)
    assert rms == pytest.approx(2.0, rel=0.03)
    assert quantile_width(values) == pytest.approx(2.0, rel=0.01)


def test_binned_resolution_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "pt": [0.5, 0.7, 1.5, 1.7, 1.9, 5.0, np.nan],
            "residual": [1.0, -1.0, 2.0, 4.0, 6.0, 3.0, 9.0],
        }
    )
    table = binned_resolution(frame, "residual", "pt", [0.0, 1.0, 2.0, 3.0])
    assert table["n"].tolist() == [2, 3, 0]  # 5.0 and NaN are in no bin
    assert table["mean"].iloc[:2].tolist() == [0.0, 4.0]
    assert table["rms"].iloc[0] == 1.0  # deviations -1, 1
    assert table["rms"].iloc[1] == pytest.approx(math.sqrt(8 / 3))  # deviations -2, 0, 2
    assert table["quantile_width"].iloc[1] == pytest.approx(2.0 * 0.6827)  # Q spans 2.6346..5.3654
    assert math.isnan(table["rms"].iloc[2]) and table["n_kept"].iloc[2] == 0
    assert table[["lo", "hi"]].to_numpy().tolist() == [[0, 1], [1, 2], [2, 3]]
    with pytest.raises(TrackrecError, match="eta"):
        binned_resolution(frame, "residual", "eta", [0.0, 1.0])
    with pytest.raises(TrackrecError, match="increasing"):
        binned_resolution(frame, "residual", "pt", [1.0, 0.0])
