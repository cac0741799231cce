"""DBSCAN track finding on helix-unrolled hit coordinates (the ``dbscan_baseline`` method).

The TrackML starting kit clustered hits with DBSCAN on direction-like features; the better
public solutions "unrolled" the helix first: a particle from the beam line with curvature
``k = 1/(2R)`` crosses radius ``r`` at azimuth ``phi = phi0 + asin(k r)``, so
``phi - asin(k r)`` is constant along its track. Scanning ``k`` over a range of signed
curvatures and clustering ``(cos phi0, sin phi0, z/r)`` for each value finds the tracks of
each curvature band; a hit moves to a new cluster when that cluster is larger than its
current one (but not larger than any real track can be), which stitches the scan together.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from trackrec.options import Number, integer, real


def _param(default: float, help: str, option: Number) -> Any:
    return field(default=default, metadata={"help": help, "type": option})


@dataclass(frozen=True, kw_only=True)
class DbscanParams:
    """Hyperparameters of :func:`dbscan_track_ids` (the config section ``tracking.dbscan_baseline``)."""

    eps: float = _param(
        0.006,
        "DBSCAN neighbourhood radius in the scaled feature space.",
        real(exclusive_minimum=0),
    )
    min_samples: int = _param(
        1,
        "DBSCAN core-point threshold (1: every hit belongs to some cluster).",
        integer(minimum=1),
    )
    curvature_steps: int = _param(
        21,
        "Number of signed curvatures scanned between ``-max_curvature`` and ``+max_curvature``.",
        integer(minimum=1),
    )
    max_curvature: float = _param(
        7.5e-4,
        "Largest ``|k| = 1/(2R)`` scanned, in 1/mm (7.5e-4 is pT of about 0.4 GeV in 2 T).",
        real(minimum=0),
    )
    z_scale: float = _param(
        0.02,
        "Weight of the ``z/r`` feature relative to the unit-vector features.",
        real(exclusive_minimum=0),
    )
    max_track_size: int = _param(
        20,
        "Clusters larger than this never take hits from smaller ones (no track has more hits).",
        integer(minimum=1),
    )

    def validate(self) -> None:
        """ValueError naming the first parameter outside its bounds (those of the CLI)."""
        for f in fields(self):
            value = getattr(self, f.name)
            problem = f.metadata["type"].problem(value)
            if problem is None and not math.isfinite(value):
                problem = "must be finite"
            if problem:
                raise ValueError(f"{f.name} {problem}, not {value}")


def scan_curvatures(params: DbscanParams) -> np.ndarray:
    """Curvatures in scan order: 0 first (straight tracks), then alternating signs outwards."""
    half = np.linspace(0.0, params.max_curvature, (params.curvature_steps + 1) // 2)
    signed = [0.0]
    for k in half[1:]:
        signed += [k, -k]
    return np.asarray(signed[: params.curvature_steps])


def unrolled_features(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, curvature: float, z_scale: float
) -> np.ndarray:
    """``(cos phi0, sin phi0, z_scale * z/r)`` for one curvature hypothesis, shape (n, 3)."""
    r = np.hypot(x, y)
    phi0 = np.arctan2(y, x) - np.arcsin(np.clip(curvature * r, -1.0, 1.0))
    return np.column_stack([np.cos(phi0), np.sin(phi0), z_scale * z / r])


def _merge_clusters(labels: np.ndarray, new_labels: np.ndarray, max_track_size: int) -> np.ndarray:
    """Move each hit to its new cluster where that one is larger but still track-sized."""
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    size = counts[inverse]
    _, new_inverse, new_counts = np.unique(new_labels, return_inverse=True, return_counts=True)
    new_size = new_counts[new_inverse]
    take = (new_size > size) & (new_size <= max_track_size)
    merged = labels.copy()
    merged[take] = new_labels[take] + labels.max() + 1
    return merged


def dbscan_track_ids(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    params: DbscanParams | None = None,
    *,
    threads: int = 1,
) -> np.ndarray:
    """Track id (int64, >= 0) for every hit, from DBSCAN over a scan of helix curvatures.

    Noise points of DBSCAN (``min_samples > 1``) become single-hit tracks of their own. The
    clusterings of the scan are independent and run on ``threads`` threads (scikit-learn's
    radius search, most of a clustering's time, runs without the GIL); they are merged in
    scan order, so the result does not depend on ``threads``.
    """
    params = params or DbscanParams()
    params.validate()
    if threads < 1:
        raise ValueError(f"threads must be >= 1, not {threads}")
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (x, y, z))
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)

    def cluster(curvature: float) -> np.ndarray:
        return _cluster_at(x, y, z, curvature, params)

    curvatures = scan_curvatures(params)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        # map yields in scan order; at most the labels of the scan are held at once
        scans = pool.map(cluster, curvatures) if threads > 1 else map(cluster, curvatures)
        labels: np.ndarray | None = None
        for found in scans:
            labels = (
                found if labels is None else _merge_clusters(labels, found, params.max_track_size)
            )
    _, track_ids = np.unique(labels, return_inverse=True)
    return track_ids.astype(np.int64)


def _cluster_at(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, curvature: float, params: DbscanParams
) -> np.ndarray:
    """DBSCAN labels of the hits unrolled at one curvature, noise points as singletons."""
    from sklearn.cluster import DBSCAN  # heavy import: only when clustering, not on CLI start

    features = unrolled_features(x, y, z, curvature, params.z_scale)
    found = DBSCAN(eps=params.eps, min_samples=params.min_samples).fit(features).labels_
    return _singletons_for_noise(found)


def _singletons_for_noise(labels: np.ndarray) -> np.ndarray:
    """Give DBSCAN's noise points (label -1) unique labels after the real clusters."""
    labels = labels.astype(np.int64)
    noise = labels < 0
    labels[noise] = labels.max(initial=-1) + 1 + np.arange(noise.sum())
    return labels
