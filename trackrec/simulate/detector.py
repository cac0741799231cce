"""Parametric TrackML-like detector: a table of published facts and the detectors.csv frame.

The TrackML detector (Amrouche et al., "The Tracking Machine Learning challenge: Accuracy
phase", arXiv:1904.06778, and the detector description shipped with the challenge data) is a
generic silicon tracker in a 2 T solenoid: a pixel barrel (volume 8) with pixel endcaps (7, 9),
a short-strip barrel (13) with endcaps (12, 14) and a long-strip barrel (17) with endcaps
(16, 18). :data:`BARRELS` and :data:`ENDCAPS` encode its layer radii, disk positions, module
sizes, pitches, thicknesses and the staggering that makes neighbouring modules overlap;
:func:`build_detector` lays the modules out and returns them as a frame with the columns of
TrackML's ``detectors.csv``.

Module frame convention (as in TrackML): ``rot_xu, rot_yu, rot_zu`` is the local u axis in
global coordinates (likewise v and w), u spans ``module_minhu..module_maxhu`` half-widths
(trapezoids widen with v), v spans ``±module_hv`` and w is the sensor normal. Barrel modules
have v along the beam and are tilted in phi; endcap modules have v pointing radially outwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DETECTOR_COLUMNS = (
    "volume_id", "layer_id", "module_id", "cx", "cy", "cz",
    "rot_xu", "rot_xv", "rot_xw", "rot_yu", "rot_yv", "rot_yw", "rot_zu", "rot_zv", "rot_zw",
    "module_t", "module_minhu", "module_maxhu", "module_hv", "pitch_u", "pitch_v",
)  # fmt: skip


@dataclass(frozen=True)
class BarrelVolume:
    """A barrel volume: cylinders of staves (phi) times rows (z) of rectangular modules."""

    volume_id: int
    radii: tuple[float, ...]  # mm, one per layer (layer ids 2, 4, 6, ...)
    staves: tuple[int, ...]  # modules in phi, one per layer
    rows: int  # modules along z
    row_pitch: float  # mm between row centres
    stagger: float  # mm: alternate rows sit at radius ± stagger so that rows overlap in z
    tilt: float  # rad: sensor normal turned by this angle from the radial direction
    half_u: float  # mm, half-width along phi
    half_v: float  # mm, half-length along z
    thickness: float  # mm
    pitch_u: float  # mm
    pitch_v: float  # mm


@dataclass(frozen=True)
class Ring:
    """One ring of an endcap disk: ``count`` trapezoids centred at ``radius``."""

    radius: float  # mm
    count: int
    dz: float  # mm: ring centre offset from the nominal disk |z| (rings overlap in r)
    min_half_u: float  # mm, half-width at the inner edge
    max_half_u: float  # mm, half-width at the outer edge


@dataclass(frozen=True)
class EndcapVolumes:
    """A pair of endcaps (negative and positive z) of identical disks."""

    negative_id: int
    positive_id: int
    disk_z: tuple[float, ...]  # mm, |z| of the disks from the inside out
    rings: tuple[Ring, ...]
    stagger: float  # mm: alternate modules of a ring sit at |z| ± stagger (overlap in phi)
    half_v: float  # mm, radial half-length
    thickness: float
    pitch_u: float
    pitch_v: float


# Source: TrackML detector description (arXiv:1904.06778, table 1 and figure 2) and the
# challenge's detectors.csv: layer radii / disk positions, module counts, sizes and pitches.
BARRELS: tuple[BarrelVolume, ...] = (
    BarrelVolume(8, (32.0, 72.0, 116.0, 172.0), (16, 32, 52, 78), 14, 70.0, 0.25, 0.14,
                 8.4, 36.0, 0.15, 0.05, 0.05625),
    BarrelVolume(13, (260.0, 360.0, 500.0, 660.0), (40, 56, 78, 102), 21, 103.0, 1.5, -0.15,
                 24.0, 54.0, 0.25, 0.08, 1.2),
    BarrelVolume(17, (820.0, 1020.0), (120, 152), 21, 103.0, 1.5, -0.15,
                 24.0, 54.0, 0.35, 0.12, 10.8),
)  # fmt: skip

ENDCAPS: tuple[EndcapVolumes, ...] = (
    EndcapVolumes(7, 9, (600.0, 700.0, 820.0, 960.0, 1100.0, 1300.0, 1500.0),
                  (Ring(66.0, 40, 0.0, 8.4, 8.4), Ring(140.0, 68, 0.0, 8.4, 8.4)),
                  2.0, 36.0, 0.15, 0.05, 0.05625),
    EndcapVolumes(12, 14, (1220.0, 1500.0, 1800.0, 2150.0, 2550.0, 2950.0),
                  (Ring(318.0, 54, -3.0, 16.4, 24.2), Ring(470.0, 56, 3.0, 24.2, 32.2),
                   Ring(622.0, 60, -3.0, 32.2, 40.0)),
                  1.5, 78.0, 0.25, 0.08, 1.2),
    EndcapVolumes(16, 18, (1220.0, 1500.0, 1800.0, 2150.0, 2550.0, 2950.0),
                  (Ring(828.0, 48, -4.0, 54.0, 64.2), Ring(942.0, 50, 4.0, 66.0, 72.0)),
                  1.5, 78.0, 0.35, 0.12, 10.4),
)  # fmt: skip


def _stave_phis(count: int) -> np.ndarray:
    """Module centre azimuths: ``count`` equal steps starting half a step after -pi."""
    return -np.pi + (np.arange(count) + 0.5) * (2.0 * np.pi / count)


def _barrel_layer(vol: BarrelVolume, layer_index: int) -> pd.DataFrame:
    radius, staves = vol.radii[layer_index], vol.staves[layer_index]
    row_z = (np.arange(vol.rows) - (vol.rows - 1) / 2.0) * vol.row_pitch
    phi = np.tile(_stave_phis(staves), vol.rows)
    z = np.repeat(row_z, staves)
    r = radius + np.repeat(
        np.where(np.arange(vol.rows) % 2 == 0, vol.stagger, -vol.stagger), staves
    )
    normal_phi = phi + vol.tilt
    n = phi.size
    zero, one = np.zeros(n), np.ones(n)
    u = np.stack([-np.sin(normal_phi), np.cos(normal_phi), zero], axis=1)
    v = np.stack([zero, zero, one], axis=1)
    w = np.stack([np.cos(normal_phi), np.sin(normal_phi), zero], axis=1)
    return _module_frame(vol.volume_id, 2 * (layer_index + 1), r * np.cos(phi), r * np.sin(phi), z,
                         u, v, w, vol.thickness, np.full(n, vol.half_u), np.full(n, vol.half_u),
                         vol.half_v, vol.pitch_u, vol.pitch_v)  # fmt: skip


def _endcap_disk(vol: EndcapVolumes, volume_id: int, layer_id: int, disk_z: float) -> pd.DataFrame:
    sign = 1.0 if disk_z > 0 else -1.0
    phis, radii, zs, minhu, maxhu = [], [], [], [], []
    for ring in vol.rings:
        ring_phi = _stave_phis(ring.count)
        alternate = np.where(np.arange(ring.count) % 2 == 0, vol.stagger, -vol.stagger)
        phis.append(ring_phi)
        radii.append(np.full(ring.count, ring.radius))
        zs.append(sign * (abs(disk_z) + ring.dz + alternate))
        minhu.append(np.full(ring.count, ring.min_half_u))
        maxhu.append(np.full(ring.count, ring.max_half_u))
    phi, r, z = np.concatenate(phis), np.concatenate(radii), np.concatenate(zs)
    order = np.argsort(phi, kind="stable")  # module ids go round in phi, rings interleaved
    phi, r, z = phi[order], r[order], z[order]
    n = phi.size
    zero, one = np.zeros(n), np.ones(n)
    # u along +phi on the negative side, -phi on the positive side: (u, v, w) stays right-handed
    u = -sign * np.stack([-np.sin(phi), np.cos(phi), zero], axis=1)
    v = np.stack([np.cos(phi), np.sin(phi), zero], axis=1)
    w = np.stack([zero, zero, sign * one], axis=1)
    return _module_frame(volume_id, layer_id, r * np.cos(phi), r * np.sin(phi), z, u, v, w,
                         vol.thickness, np.concatenate(minhu)[order], np.concatenate(maxhu)[order],
                         vol.half_v, vol.pitch_u, vol.pitch_v)  # fmt: skip


def _module_frame(volume_id: int, layer_id: int, cx: np.ndarray, cy: np.ndarray, cz: np.ndarray,
                  u: np.ndarray, v: np.ndarray, w: np.ndarray, thickness: float,
                  minhu: np.ndarray, maxhu: np.ndarray, half_v: float,
                  pitch_u: float, pitch_v: float) -> pd.DataFrame:  # fmt: skip
    n = cx.size
    return pd.DataFrame({
        "volume_id": np.full(n, volume_id, dtype=np.int64),
        "layer_id": np.full(n, layer_id, dtype=np.int64),
        "module_id": np.arange(1, n + 1, dtype=np.int64),
        "cx": cx, "cy": cy, "cz": cz,
        "rot_xu": u[:, 0], "rot_xv": v[:, 0], "rot_xw": w[:, 0],
        "rot_yu": u[:, 1], "rot_yv": v[:, 1], "rot_yw": w[:, 1],
        "rot_zu": u[:, 2], "rot_zv": v[:, 2], "rot_zw": w[:, 2],
        "module_t": np.full(n, thickness), "module_minhu": minhu, "module_maxhu": maxhu,
        "module_hv": np.full(n, half_v), "pitch_u": np.full(n, pitch_u),
        "pitch_v": np.full(n, pitch_v),
    })  # fmt: skip


def build_detector() -> pd.DataFrame:
    """The parametric detector as a detectors.csv frame, sorted by volume, layer, module."""
    parts = []
    for vol in BARRELS:
        parts.extend(_barrel_layer(vol, i) for i in range(len(vol.radii)))
    for caps in ENDCAPS:
        n_disks = len(caps.disk_z)
        for i, z in enumerate(caps.disk_z):
            # layer ids grow with z: the negative endcap numbers its outermost disk first
            parts.append(_endcap_disk(caps, caps.negative_id, 2 * (n_disks - i), -z))
            parts.append(_endcap_disk(caps, caps.positive_id, 2 * (i + 1), z))
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values(["volume_id", "layer_id", "module_id"], kind="stable")
    return frame.reset_index(drop=True)[list(DETECTOR_COLUMNS)]
