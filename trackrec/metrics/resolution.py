"""Resolution estimators for residual distributions (fitted minus true track parameters).

Residuals of track fits have Gaussian cores and long tails (wrong hits, multiple scattering),
so the plain RMS is dominated by outliers. Two robust widths are provided: the iteratively
pruned RMS (the core's sigma, as in ATLAS/ACTS performance plots) and the half-width of the
central 68.27% interval (equal to sigma for a Gaussian, no iteration, sensitive to tails only
through their share of the entries).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trackrec.errors import TrackrecError


def _finite(residuals: np.ndarray | Sequence[float] | pd.Series) -> np.ndarray:
    values = np.asarray(residuals, dtype=np.float64).ravel()
    return values[np.isfinite(values)]


def pruned_rms(
    residuals: np.ndarray | Sequence[float] | pd.Series, nsigma: float = 3.0, max_iter: int = 100
) -> tuple[float, float, int]:
    """``(mean, rms, n_kept)`` after repeatedly dropping points beyond ``nsigma`` RMS.

    Each pass computes the mean and the RMS about the mean (``ddof=0``) of the points kept so
    far and keeps those with ``|x - mean| <= nsigma * rms``, measured from the full sample
    each time; it stops when the kept set no longer changes or after ``max_iter`` passes.
    Non-finite values are ignored; an empty input gives ``(nan, nan, 0)``.
    """
    if nsigma <= 0 or max_iter < 1:
        raise TrackrecError(
            f"pruned_rms needs nsigma > 0 and max_iter >= 1, got {nsigma}, {max_iter}"
        )
    values = _finite(residuals)
    if len(values) == 0:
        return math.nan, math.nan, 0
    keep = np.ones(len(values), dtype=bool)
    for _ in range(max_iter):
        mean = float(values[keep].mean())
        rms = float(np.sqrt(np.mean((values[keep] - mean) ** 2)))
        new_keep = np.abs(values - mean) <= nsigma * rms
        if np.array_equal(new_keep, keep) or not new_keep.any():
            break
        keep = new_keep
    mean = float(values[keep].mean())
    rms = float(np.sqrt(np.mean((values[keep] - mean) ** 2)))
    return mean, rms, int(keep.sum())


def quantile_width(residuals: np.ndarray | Sequence[float] | pd.Series, q: float = 0.6827) -> float:
    """Half the width of the central interval holding a fraction ``q`` of the residuals.

    That is ``(Q(0.5 + q/2) - Q(0.5 - q/2)) / 2`` with linearly interpolated quantiles; for a
    Gaussian and the default ``q`` it is sigma. NaN for an empty input.
    """
    if not 0.0 < q < 1.0:
        raise TrackrecError(f"quantile_width needs 0 < q < 1, got {q}")
    values = _finite(residuals)
    if len(values) == 0:
        return math.nan
    low, high = np.quantile(values, [0.5 - q / 2.0, 0.5 + q / 2.0])
    return float(high - low) / 2.0


def binned_resolution(
    frame: pd.DataFrame,
    value_col: str,
    bin_col: str,
    edges: Sequence[float],
    *,
    nsigma: float = 3.0,
    q: float = 0.6827,
) -> pd.DataFrame:
    """Resolution of ``frame[value_col]`` in bins [lo, hi) of ``frame[bin_col]``.

    One row per bin, columns ``lo, hi, n`` (finite entries in the bin), ``mean`` and ``rms``
    (from :func:`pruned_rms`), ``n_kept`` and ``quantile_width``. Rows outside every bin or
    with non-finite values are ignored; empty bins have NaN widths. Works for pT, eta, or any
    other binning variable.
    """
    for column in (value_col, bin_col):
        if column not in frame.columns:
            raise TrackrecError(f"binned_resolution: frame lacks column {column!r}")
    edges_array = np.asarray(edges, dtype=np.float64)
    if edges_array.ndim != 1 or len(edges_array) < 2 or np.any(np.diff(edges_array) <= 0):
        raise TrackrecError("binned_resolution needs at least two strictly increasing bin edges")
    values = frame[value_col].to_numpy(dtype=np.float64)
    binning = frame[bin_col].to_numpy(dtype=np.float64)
    bin_index = np.searchsorted(edges_array, binning, side="right") - 1
    rows = []
    for i, (lo, hi) in enumerate(itertools.pairwise(edges_array)):
        in_bin = _finite(values[bin_index == i])
        mean, rms, n_kept = pruned_rms(in_bin, nsigma=nsigma)
        rows.append(
            {
                "lo": lo,
                "hi": hi,
                "n": len(in_bin),
                "mean": mean,
                "rms": rms,
                "n_kept": n_kept,
                "quantile_width": quantile_width(in_bin, q=q),
            }
        )
    return pd.DataFrame(rows, columns=["lo", "hi", "n", "mean", "rms", "n_kept", "quantile_width"])
