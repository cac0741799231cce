"""Digitisation: measured hit positions, pixel/strip cells and noise hits.

A measured hit lies on the module's mid-plane at the true local position smeared uniformly
within one pitch along u and v (resolution pitch / sqrt(12)), kept inside the sensor. Its
cells are the channels that the track's straight path through the sensor thickness crosses,
the path running from w = -t/2 to w = +t/2 about the true crossing: channel ch0 counts
pitches along u from the module's -maxhu edge, ch1 along v from -hv (TrackML's numbering).
Pixel cells share the hit's charge in proportion to the path length in each cell, with a
per-hit fluctuation, in TrackML's units (barrel: 1.0 per mm of path; endcaps: about 0.30 per
hit, growing slowly with the path, as measured in the real sample);
strip cells carry 1 (binary read-out), as in TrackML. Noise hits get their cells the same way
(their positions and directions come from :mod:`trackrec.simulate.noise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from trackrec.simulate.geometry import DISK, DetectorGeometry

# TrackML's pixel cell values (real sample): in the barrel a hit's charge grows with its path
# through the sensor, 0.15 for a one-cell cluster of a 0.15 mm sensor, about 1.0-1.2 per mm;
# in the endcaps it grows far more slowly (particle hits with 1, 2, 3 cells: 0.30, 0.30, 0.31;
# noise hits, whose paths are ~1.35 thicknesses long: 0.34): 0.30 (path / thickness)^0.4
PIXEL_CHARGE_PER_MM_BARREL = 1.0
PIXEL_CHARGE_DISK = 0.30
PIXEL_CHARGE_DISK_POWER = 0.4
STRIP_PITCH_V_MIN = 0.5  # mm: modules with a coarser v pitch are strips (binary cells)
MAX_SEGMENT = 20.0  # mm: grazing crossings are cut to this length in the sensor plane
# Pixel clusters in the real sample are never longer than 27 cells (1.52 mm along z), and the
# innermost barrel layer has few hits at grazing incidence (real full events: 4 % of its hits
# at |z| > 300 mm, where a path crosses > 1.4 mm of the sensor plane; the next layer 22 %):
# a pixel crossing whose path in the sensor plane is longer than this leaves no hit.
PIXEL_MAX_SEGMENT = 1.46
# Drift of the charge in the pixel sensors, as slopes added to the path, fitted to the real
# sample's particle clusters: barrel, along u (real: 60 % of the clusters span 2 columns);
# endcaps, along v (real: 47 % span 2 rows; a path from the beam line alone gives 25 %).
PIXEL_BARREL_DRIFT_U = -0.1
PIXEL_ENDCAP_DRIFT_V = 0.1
# relative spread (lognormal) of a hit's charge: real endcap particle hits, 5-95 % quantiles
# 0.257-0.348 around a median of 0.301
CHARGE_SPREAD = 0.09


@dataclass(frozen=True)
class Cells:
    hit: np.ndarray  # index of the hit each cell belongs to
    ch0: np.ndarray
    ch1: np.ndarray
    value: np.ndarray


def to_local(geometry: DetectorGeometry, module: np.ndarray, position: np.ndarray,
             direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Local (u, v, w) of global points and of global direction vectors, per hit."""
    axes = geometry.axes[module]  # (n, 3, 3)
    rel = position - geometry.center[module]
    return np.einsum("nij,nj->ni", axes, rel), np.einsum("nij,nj->ni", axes, direction)


def to_global(
    geometry: DetectorGeometry, module: np.ndarray, u: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """Global position of local (u, v) on each module's mid-plane."""
    axes = geometry.axes[module]
    return geometry.center[module] + u[:, None] * axes[:, 0, :] + v[:, None] * axes[:, 1, :]


def half_width(geometry: DetectorGeometry, module: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Half-width along u of each module's trapezoid at local v."""
    lo, hi, hv = geometry.half_u_min[module], geometry.half_u_max[module], geometry.half_v[module]
    return lo + (hi - lo) * (v + hv) / (2.0 * hv)


def smear(rng: np.random.Generator, geometry: DetectorGeometry, module: np.ndarray,
          u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Measured (u, v): uniform within one pitch around the true point, inside the sensor."""
    n = module.size
    hv = geometry.half_v[module]
    mv = np.clip(v + geometry.pitch_v[module] * (rng.random(n) - 0.5), -hv, hv)
    hu = half_width(geometry, module, mv)
    mu = np.clip(u + geometry.pitch_u[module] * (rng.random(n) - 0.5), -hu, hu)
    return mu, mv


def channel_counts(geometry: DetectorGeometry, module: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of channels along u and v on each module."""
    n0 = np.maximum(
        1, np.round(2.0 * geometry.half_u_max[module] / geometry.pitch_u[module])
    ).astype(np.int64)
    n1 = np.maximum(1, np.round(2.0 * geometry.half_v[module] / geometry.pitch_v[module])).astype(
        np.int64
    )
    return n0, n1


def is_pixel(geometry: DetectorGeometry, module: np.ndarray) -> np.ndarray:
    return geometry.pitch_v[module] < STRIP_PITCH_V_MIN


def max_segment(geometry: DetectorGeometry, module: np.ndarray) -> np.ndarray:
    """Longest path in the sensor plane that makes cells, per module (mm)."""
    return np.where(is_pixel(geometry, module), PIXEL_MAX_SEGMENT, MAX_SEGMENT)


def registers(geometry: DetectorGeometry, module: np.ndarray, local_dir: np.ndarray) -> np.ndarray:
    """Whether each crossing leaves a hit: pixel paths longer than PIXEL_MAX_SEGMENT do not."""
    dw = np.maximum(np.abs(local_dir[:, 2]), 1e-300)
    planar = geometry.thickness[module] * np.hypot(local_dir[:, 0], local_dir[:, 1]) / dw
    return ~is_pixel(geometry, module) | (planar <= PIXEL_MAX_SEGMENT)


def pixel_drift(geometry: DetectorGeometry, module: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slopes (du/dw, dv/dw) added to each path by the charge's drift, per module."""
    pixel = is_pixel(geometry, module)
    disk = geometry.layer_kind[geometry.module_layer[module]] == DISK
    return (np.where(pixel & ~disk, PIXEL_BARREL_DRIFT_U, 0.0),
            np.where(pixel & disk, PIXEL_ENDCAP_DRIFT_V, 0.0))  # fmt: skip


def segment_channels(geometry: DetectorGeometry, module: np.ndarray, local_pos: np.ndarray,
                     local_dir: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Entry and exit of the path through the sensor, in channel units (fu0, fv0, fu1, fv1)."""
    t = geometry.thickness[module]
    dw = np.where(np.abs(local_dir[:, 2]) < 1e-6, 1e-6, local_dir[:, 2])
    drift_u, drift_v = pixel_drift(geometry, module)
    # half the in-plane path: (t / 2) times the slope du/dw (dv/dw), drift included
    du = 0.5 * t * (local_dir[:, 0] / dw + drift_u)
    dv = 0.5 * t * (local_dir[:, 1] / dw + drift_v)
    planar = np.hypot(du, dv)
    longest = max_segment(geometry, module)
    scale = np.where(planar > 0.5 * longest, 0.5 * longest / np.maximum(planar, 1e-300), 1.0)
    du, dv = du * scale, dv * scale
    pu, pv = geometry.pitch_u[module], geometry.pitch_v[module]
    offset_u, offset_v = geometry.half_u_max[module], geometry.half_v[module]
    n0, n1 = channel_counts(geometry, module)
    top0, top1 = n0 - 1e-9, n1 - 1e-9
    fu0 = np.clip((local_pos[:, 0] - du + offset_u) / pu, 0.0, top0)
    fu1 = np.clip((local_pos[:, 0] + du + offset_u) / pu, 0.0, top0)
    fv0 = np.clip((local_pos[:, 1] - dv + offset_v) / pv, 0.0, top1)
    fv1 = np.clip((local_pos[:, 1] + dv + offset_v) / pv, 0.0, top1)
    return fu0, fv0, fu1, fv1


def cells_per_hit(fu0: np.ndarray, fv0: np.ndarray, fu1: np.ndarray, fv1: np.ndarray) -> np.ndarray:
    """Cells a straight segment crosses on a unit grid: 1 + |delta i| + |delta j|."""
    di = np.abs(np.floor(fu1).astype(np.int64) - np.floor(fu0).astype(np.int64))
    dj = np.abs(np.floor(fv1).astype(np.int64) - np.floor(fv0).astype(np.int64))
    return 1 + di + dj


@njit(cache=True)
def _traverse_kernel(fu0, fv0, fu1, fv1, offsets, out_i, out_j, out_frac):
    """Grid traversal (Amanatides-Woo): cells crossed by each segment and its fraction in each."""
    for h in range(fu0.shape[0]):
        a0, b0, a1, b1 = fu0[h], fv0[h], fu1[h], fv1[h]
        i, j = int(np.floor(a0)), int(np.floor(b0))
        da, db = a1 - a0, b1 - b0
        step_i = 1 if da > 0 else -1
        step_j = 1 if db > 0 else -1
        if da != 0.0:
            next_i = ((i + 1 if da > 0 else i) - a0) / da
            delta_i = abs(1.0 / da)
        else:
            next_i, delta_i = np.inf, np.inf
        if db != 0.0:
            next_j = ((j + 1 if db > 0 else j) - b0) / db
            delta_j = abs(1.0 / db)
        else:
            next_j, delta_j = np.inf, np.inf
        start = offsets[h]
        n = offsets[h + 1] - start
        previous = 0.0
        for k in range(n):
            out_i[start + k] = i
            out_j[start + k] = j
            if k == n - 1:
                out_frac[start + k] = 1.0 - previous
                break
            if next_i <= next_j:
                boundary = min(next_i, 1.0)
                i += step_i
                next_i += delta_i
            else:
                boundary = min(next_j, 1.0)
                j += step_j
                next_j += delta_j
            out_frac[start + k] = max(boundary - previous, 0.0)
            previous = max(boundary, previous)


def traverse(
    fu0: np.ndarray, fv0: np.ndarray, fu1: np.ndarray, fv1: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Cells (hit index, i, j, fraction of the segment) crossed by segments on a unit grid."""
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (fu0, fv0, fu1, fv1)]
    n = arrays[0].size
    if any(a.shape != (n,) for a in arrays) or not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("segment end points must be finite 1-d arrays of one length")
    counts = cells_per_hit(*arrays)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out_i = np.empty(offsets[-1], np.int64)
    out_j = np.empty(offsets[-1], np.int64)
    out_frac = np.empty(offsets[-1])
    _traverse_kernel(*arrays, offsets, out_i, out_j, out_frac)
    return np.repeat(np.arange(n, dtype=np.int64), counts), out_i, out_j, out_frac


def make_cells(rng: np.random.Generator, geometry: DetectorGeometry, module: np.ndarray,
               local_pos: np.ndarray, local_dir: np.ndarray) -> Cells:  # fmt: skip
    """Cells of each hit from its true local position and local direction."""
    fu0, fv0, fu1, fv1 = segment_channels(geometry, module, local_pos, local_dir)
    hit, ch0, ch1, frac = traverse(fu0, fv0, fu1, fv1)
    hit_module = module[hit]
    is_strip = ~is_pixel(geometry, hit_module)
    dw = np.maximum(np.abs(local_dir[:, 2]), 1e-6)
    path = geometry.thickness[module] / dw  # 3-d path length through the sensor
    on_disk = geometry.layer_kind[geometry.module_layer[module]] == DISK
    path = np.minimum(path, np.hypot(max_segment(geometry, module), geometry.thickness[module]))
    disk_charge = PIXEL_CHARGE_DISK * (path / geometry.thickness[module]) ** PIXEL_CHARGE_DISK_POWER
    mean_charge = np.where(on_disk, disk_charge, PIXEL_CHARGE_PER_MM_BARREL * path)
    charge = mean_charge * rng.lognormal(0.0, CHARGE_SPREAD, module.size)
    value = np.where(is_strip, 1.0, charge[hit] * frac)
    keep = (frac > 1e-6) | is_strip
    keep = _ensure_one_per_hit(hit, keep)
    return Cells(hit=hit[keep], ch0=ch0[keep], ch1=ch1[keep], value=value[keep])


def _ensure_one_per_hit(hit: np.ndarray, keep: np.ndarray) -> np.ndarray:
    kept_per_hit = np.bincount(hit, weights=keep.astype(float), minlength=hit.max(initial=-1) + 1)
    lonely = np.flatnonzero(kept_per_hit[hit] == 0)
    if lonely.size:
        keep = keep.copy()
        keep[lonely] = True  # degenerate segments: all cells kept rather than none
    return keep
