"""Noise hits (hits that belong to no particle), modelled on the real TrackML data.

How many: :data:`NOISE_FRACTION` of all hits, the mean of the real full events 1001 and 1003
(18.6 % and 16.8 % of their hits are not counted in any particle's ``nhits``).

Where: each volume gets the share of the noise hits that the real sample's noise hits (truth
``particle_id`` 0) have in it, the two endcaps of a pair sharing their pair's count equally
(the detector is symmetric in z; pooling halves the statistical error). Within a volume,
modules are drawn in proportion to their area and the hit uniformly over the module's area,
as the real noise density per layer follows the layer's area.

Cluster shape: the cells of a straight path through the sensor thickness (the same cell model
as particle hits) whose local slopes du/dw and dv/dw are half-normal with a random sign. Their
means per volume are fitted to the real noise clusters' mean extents along u and v, using
``extent - 1 = thickness * E|slope| / pitch`` (before the pixel drift of
:mod:`trackrec.simulate.digitize` was added, which changes pixel noise extents by a few
percent; the realism tests compare the result). In the real sample the noise clusters of the
pixel endcaps are wider than particle clusters there, those of the pixel barrel are about as
large, and those of the long-strip barrel (volume 17) are narrower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackrec.simulate.digitize import half_width
from trackrec.simulate.geometry import DetectorGeometry

NOISE_FRACTION = 0.177  # of all hits


@dataclass(frozen=True)
class NoiseVolume:
    """Noise of one detector volume."""

    hits: float  # noise hits in this volume in the real sample (endcap pairs: half the pair's)
    slope_u: float  # mean |du/dw| along the cluster's path through the sensor
    slope_v: float  # mean |dv/dw|


_PIXEL_ENDCAP = NoiseVolume(35.0, 0.381, 0.804)
_SHORT_STRIP_ENDCAP = NoiseVolume(51.5, 0.336, 0.885)
_LONG_STRIP_ENDCAP = NoiseVolume(31.0, 0.481, 0.479)
# Source: trackml_sample event000000001 (829 noise hits) and its detectors.csv.
NOISE_VOLUMES: dict[int, NoiseVolume] = {
    7: _PIXEL_ENDCAP, 9: _PIXEL_ENDCAP,
    8: NoiseVolume(82.0, 0.480, 1.825),
    12: _SHORT_STRIP_ENDCAP, 14: _SHORT_STRIP_ENDCAP,
    13: NoiseVolume(246.0, 0.433, 1.600),
    16: _LONG_STRIP_ENDCAP, 18: _LONG_STRIP_ENDCAP,
    17: NoiseVolume(266.0, 0.469, 0.812),
}  # fmt: skip
# Detectors without any of these volumes: noise uniform over the area, the sample's mean slopes.
FALLBACK = NoiseVolume(1.0, 0.436, 1.13)


def module_area(geometry: DetectorGeometry) -> np.ndarray:
    """Sensor area of each module (trapezoid: mean width times length), mm^2."""
    return (geometry.half_u_min + geometry.half_u_max) * 2.0 * geometry.half_v


def _module_volumes(geometry: DetectorGeometry) -> np.ndarray:
    return geometry.detector["volume_id"].to_numpy(np.int64)


def module_probabilities(geometry: DetectorGeometry) -> np.ndarray:
    """Probability that a noise hit lies on each module: volume share times area share."""
    volume = _module_volumes(geometry)
    area = module_area(geometry)
    prob = np.zeros(geometry.n_modules)
    for vol_id in np.unique(volume):
        if int(vol_id) in NOISE_VOLUMES:
            sel = volume == vol_id
            prob[sel] = NOISE_VOLUMES[int(vol_id)].hits * area[sel] / area[sel].sum()
    if prob.sum() == 0:
        prob = area
    return prob / prob.sum()


def mean_slopes(geometry: DetectorGeometry, module: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean |du/dw| and |dv/dw| of noise clusters on each given module."""
    volume = _module_volumes(geometry)[module]
    slope_u = np.full(module.size, FALLBACK.slope_u)
    slope_v = np.full(module.size, FALLBACK.slope_v)
    for vol_id, spec in NOISE_VOLUMES.items():
        sel = volume == vol_id
        slope_u[sel], slope_v[sel] = spec.slope_u, spec.slope_v
    return slope_u, slope_v


def uniform_on_module(rng: np.random.Generator, geometry: DetectorGeometry,
                      module: np.ndarray) -> np.ndarray:  # fmt: skip
    """Local (u, v, 0) points uniform over each module's trapezoid."""
    n = module.size
    hv = geometry.half_v[module]
    lo, hi = geometry.half_u_min[module], geometry.half_u_max[module]
    # v from the trapezoid's area density (width grows linearly with v): inverse CDF
    x = rng.random(n)
    slope = (hi - lo) / np.maximum(hi + lo, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(
            np.abs(slope) < 1e-9,
            2 * x - 1,
            (-1 + np.sqrt((1 - slope) ** 2 + 4 * slope * x)) / slope,
        )
    v = np.clip(s, -1.0, 1.0) * hv
    u = (2 * rng.random(n) - 1) * half_width(geometry, module, v)
    return np.stack([u, v, np.zeros(n)], axis=1)


def noise_hits(
    rng: np.random.Generator, geometry: DetectorGeometry, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` noise hits: module, local position (u, v, 0) and local direction of the cluster."""
    module = rng.choice(geometry.n_modules, size=n, p=module_probabilities(geometry))
    position = uniform_on_module(rng, geometry, module)
    mean_u, mean_v = mean_slopes(geometry, module)
    # half-normal with mean m has sigma m * sqrt(pi / 2)
    du = rng.standard_normal(n) * mean_u * np.sqrt(np.pi / 2.0)
    dv = rng.standard_normal(n) * mean_v * np.sqrt(np.pi / 2.0)
    direction = np.stack([du, dv, np.ones(n)], axis=1)
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    return module, position, direction
