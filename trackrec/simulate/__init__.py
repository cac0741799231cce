"""Built-in simulator of TrackML-format events (``trackrec simulate``).

Public API: :func:`simulate_event` (one event as the four TrackML tables),
:func:`build_detector` (the parametric detector as a detectors.csv frame) and
:func:`prepare_geometry` (a detector frame made ready for many events).
"""

from __future__ import annotations

from trackrec.simulate.detector import build_detector
from trackrec.simulate.event import simulate_event
from trackrec.simulate.geometry import DetectorGeometry, prepare_geometry

__all__ = ["DetectorGeometry", "build_detector", "prepare_geometry", "simulate_event"]
