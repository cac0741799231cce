"""Metrics: the exact TrackML score, per-event tracking and edge metrics, resolutions.

Everything here is a pure function of pandas frames / numpy arrays, so it can be tested and
used without files; :mod:`trackrec.metrics.command` adds ``trackrec score`` and
``trackrec evaluate`` on top. Edge metrics live in :mod:`trackrec.metrics.edges` and are not
imported here: they need scipy, which would slow down every ``trackrec`` command's start.
"""

from __future__ import annotations

from trackrec.metrics.resolution import binned_resolution, pruned_rms, quantile_width
from trackrec.metrics.score import score_event
from trackrec.metrics.tracking import efficiency_counts, parse_count_key, track_metrics

__all__ = [
    "binned_resolution",
    "efficiency_counts",
    "parse_count_key",
    "pruned_rms",
    "quantile_width",
    "score_event",
    "track_metrics",
]
