"""Track building from object-condensation coordinates: DBSCAN and its parameter scan.

The object-condensation network (:mod:`trackrec.models.condensation`) places the hits of one
particle close together in a clustering space and gives noise hits a low condensation
strength beta. DBSCAN (scikit-learn) on those coordinates, after dropping hits with
``beta < beta_min``, gives the tracks (as in Lieret & DeZoort's object-condensation
pipeline); dropped and DBSCAN-noise hits become single-hit tracks.

``eps`` and ``min_samples`` follow the embedding's learned scale, so they are chosen by
:func:`scan_dbscan` on validation events: the pair with the highest mean double-majority
efficiency (``eff_dm_pt0.9`` of :func:`trackrec.metrics.tracking.track_metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, kw_only=True)
class OcDbscanParams:
    """DBSCAN settings of the ``gnn_oc`` method."""

    eps: float
    min_samples: int
    beta_min: float = 0.0

    def validate(self) -> None:
        if not (np.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be > 0, not {self.eps}")
        if self.min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, not {self.min_samples}")
        if not 0.0 <= self.beta_min < 1.0:
            raise ValueError(f"beta_min must be in [0, 1), not {self.beta_min}")


def condensation_labels(
    coordinates: np.ndarray, beta: np.ndarray, params: OcDbscanParams
) -> np.ndarray:
    """Track label (int64, ``>= 0``) per hit from DBSCAN on ``coordinates`` (n, d).

    Hits with ``beta < beta_min`` and DBSCAN noise become single-hit tracks, numbered after
    the clusters.
    """
    from sklearn.cluster import DBSCAN

    params.validate()
    coordinates = np.asarray(coordinates, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if coordinates.ndim != 2 or beta.shape != (len(coordinates),):
        raise ValueError("coordinates must be (n, d) and beta (n,)")
    n = len(coordinates)
    labels = np.full(n, -1, dtype=np.int64)
    kept = np.flatnonzero(beta >= params.beta_min)
    if len(kept):
        found = DBSCAN(eps=params.eps, min_samples=params.min_samples).fit(coordinates[kept])
        labels[kept] = found.labels_
    noise = labels < 0
    labels[noise] = labels.max(initial=-1) + 1 + np.arange(noise.sum())
    return labels


def scan_dbscan(
    events: Sequence[tuple[np.ndarray, np.ndarray]],
    score: Callable[[int, np.ndarray], float],
    eps_grid: Sequence[float],
    min_samples_grid: Sequence[int],
    beta_min: float = 0.0,
) -> dict[str, Any]:
    """Every (eps, min_samples) of the grid on every event; the best by mean score.

    ``events``: (coordinates, beta) per validation event; ``score(i, labels)``: the figure
    of merit of event ``i``'s labels (``eff_dm_pt0.9``). Ties go to the first grid point
    (eps, then min_samples, in the order given). Returns ``{"grid": [{eps, min_samples,
    score, scores}], "best": {eps, min_samples, score}}``.
    """
    if not events:
        raise ValueError("the scan needs at least one validation event")
    grid = []
    best: dict[str, Any] | None = None
    for eps in eps_grid:
        for min_samples in min_samples_grid:
            params = OcDbscanParams(eps=float(eps), min_samples=int(min_samples),
                                    beta_min=beta_min)
            scores = [score(i, condensation_labels(c, b, params)) for i, (c, b) in
                      enumerate(events)]
            point = {"eps": float(eps), "min_samples": int(min_samples),
                     "score": float(np.nanmean(scores)) if np.isfinite(scores).any() else None,
                     "scores": [float(s) for s in scores]}
            grid.append(point)
            if point["score"] is not None and (best is None or point["score"] > best["score"]):
                best = point
    if best is None:
        raise ValueError("no grid point gave a finite score (no particles of interest?)")
    return {"grid": grid, "best": {k: best[k] for k in ("eps", "min_samples", "score")},
            "beta_min": beta_min}
