"""The noise filter as pure functions: labels, the working point, scores and metrics.

A hit is removed when its noise score (P(noise)) is above the model's threshold. The
threshold is the working point chosen on validation events: the lowest threshold that
removes at most ``max_poi_loss`` of the hits of particles of interest (pT > 0.9 GeV and
reconstructable, as in the tracking metrics). Per-event metrics (flat JSON keys):

- ``noise_auc``: area under the ROC curve of the score for noise against all other hits;
- ``noise_removed_frac``: noise hits removed / noise hits;
- ``good_hit_loss_pt0.9``: particle-of-interest hits removed / particle-of-interest hits;
- ``good_hit_loss_all``: non-noise hits removed / non-noise hits.

Score histograms (fine bins in logit) of each class let the report draw a ROC curve over
many events without keeping every score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trackrec.errors import TrackrecError

POI_PT = 0.9  # GeV: particles of interest (the tracking metrics' headline threshold)
MODELS = ("off", "oracle", "gbdt", "mlp")
LEARNED_MODELS = ("gbdt", "mlp")
MODEL_SUFFIX = {"gbdt": ".npz", "mlp": ".pt"}
HIST_EDGES = np.concatenate([[-np.inf], np.linspace(-16.0, 16.0, 641), [np.inf]])
"""Bin edges of the score histograms, in logit(score)."""


def hit_labels(hits: pd.DataFrame, particles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``noise`` and ``poi`` (particle-of-interest hit) flags of each hit (needs truth)."""
    if "particle_id" not in hits.columns:
        raise TrackrecError("hits table has no truth columns (particle_id); labels need truth")
    pid = hits["particle_id"].to_numpy(np.int64)
    noise = pid == 0
    if particles.empty:
        if not noise.all():
            raise TrackrecError("particles table is empty but hits belong to particles")
        return noise, np.zeros(len(hits), bool)
    info = particles.set_index("particle_id")
    reconstructable = info["reconstructable"].reindex(pid).to_numpy()
    pt = info["pt"].reindex(pid).to_numpy(np.float64)
    known = ~pd.isna(reconstructable)
    if (~known & ~noise).any():
        raise TrackrecError("hits refer to particles missing from the particles table")
    poi = ~noise & known & (np.where(known, reconstructable, False).astype(bool)) & (pt > POI_PT)
    return noise, poi


def choose_threshold(poi_scores: np.ndarray, max_poi_loss: float) -> float:
    """The lowest threshold removing (score > threshold) at most ``max_poi_loss`` of them."""
    if not 0.0 <= max_poi_loss < 1.0:
        raise TrackrecError(f"max_poi_loss must be in [0, 1), got {max_poi_loss}")
    if poi_scores.size == 0:
        raise TrackrecError("no hits of particles of interest in the validation events: "
                            "cannot choose the working point")  # fmt: skip
    ordered = np.sort(poi_scores)[::-1]
    allowed = int(np.floor(max_poi_loss * poi_scores.size + 1e-9))
    return float(ordered[allowed]) if allowed < ordered.size else float(ordered[-1])


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN when a class is empty."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _fraction(removed: np.ndarray, among: np.ndarray) -> float:
    n = int(among.sum())
    return float((removed & among).sum() / n) if n else float("nan")


def filter_metrics(scores: np.ndarray, threshold: float, noise: np.ndarray,
                   poi: np.ndarray) -> dict[str, float]:  # fmt: skip
    """The per-event metrics of a filter at ``threshold``."""
    removed = scores > threshold
    return {
        "noise_auc": roc_auc(scores, noise),
        "noise_removed_frac": _fraction(removed, noise),
        "good_hit_loss_pt0.9": _fraction(removed, poi),
        "good_hit_loss_all": _fraction(removed, ~noise),
    }


def _logit(scores: np.ndarray) -> np.ndarray:
    s = np.clip(scores, 1e-300, 1.0)
    with np.errstate(divide="ignore"):
        return np.log(s) - np.log1p(-np.minimum(s, 1.0 - 1e-16))


def score_histograms(scores: np.ndarray, noise: np.ndarray, poi: np.ndarray) -> dict[str, list]:
    """Counts per logit(score) bin of noise, particle-of-interest and all non-noise hits."""
    logit = _logit(scores)
    return {
        "edges_logit": [float(e) for e in HIST_EDGES[1:-1]],
        **{
            name: np.histogram(logit[sel], bins=HIST_EDGES)[0].tolist()
            for name, sel in (("noise", noise), ("poi", poi), ("good", ~noise))
        },
    }


def roc_from_histograms(hists: list[dict[str, list]]) -> dict[str, np.ndarray]:
    """Summed histograms as ROC points: for each threshold in logit (highest first: +inf,
    the bin edges, -inf), the fractions of noise, particle-of-interest and good hits whose
    score is above it."""
    if not hists:
        raise TrackrecError("no score histograms to draw a ROC curve from")
    edges = np.asarray(hists[0]["edges_logit"], np.float64)
    out: dict[str, np.ndarray] = {
        "threshold_logit": np.concatenate([[np.inf], edges[::-1], [-np.inf]])
    }
    for key, name in (("noise", "noise_removed"), ("poi", "poi_loss"), ("good", "good_loss")):
        counts = np.sum([h[key] for h in hists], axis=0)
        above = np.concatenate([[0], np.cumsum(counts[::-1])])
        out[name] = above / max(int(counts.sum()), 1)
    return out
