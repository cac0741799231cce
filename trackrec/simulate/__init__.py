"""Built-in simulator of TrackML-format events (``trackrec simulate``).

Public API: :func:`simulate_event` (one event as the four TrackML tables),
:func:`build_detector` (the parametric detector as a detectors.csv frame) and
:func:`prepare_geometry` (a detector frame made ready for many events).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackrec.simulate.detector import build_detector
    from trackrec.simulate.event import simulate_event
    from trackrec.simulate.geometry import DetectorGeometry, prepare_geometry

__all__ = ["DetectorGeometry", "build_detector", "prepare_geometry", "simulate_event"]

# Loaded on first use: the kernels pull in numba, which every `trackrec` command (the CLI
# registers the simulate subcommands) would otherwise pay for at start-up.
_HOMES = {
    "build_detector": "trackrec.simulate.detector",
    "simulate_event": "trackrec.simulate.event",
    "DetectorGeometry": "trackrec.simulate.geometry",
    "prepare_geometry": "trackrec.simulate.geometry",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'trackrec.simulate' has no attribute {name!r}")
