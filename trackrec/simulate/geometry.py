"""Detector geometry prepared for propagation: per-layer surfaces and module lookup grids.

Works on any TrackML detectors.csv frame (the parametric one or the real one). Each
(volume, layer) becomes a nominal surface, a cylinder (barrel: sensors face outwards) or a
disk (endcap: sensors face along z), used to find where a helix crosses the layer; the
modules that may contain the crossing come from a (phi, s) grid per layer, s being z on a
cylinder and r on a disk, in which every module is listed in all cells that its outline,
widened by a margin for the offsets between module planes and the nominal surface, covers.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trackrec import __version__
from trackrec.errors import TrackrecError

REQUIRED_COLUMNS = (
    "volume_id", "layer_id", "module_id", "cx", "cy", "cz",
    "rot_xu", "rot_xv", "rot_xw", "rot_yu", "rot_yv", "rot_yw", "rot_zu", "rot_zv", "rot_zw",
    "module_t", "module_minhu", "module_maxhu", "module_hv", "pitch_u", "pitch_v",
)  # fmt: skip

BARREL, DISK = 0, 1
# x/X0 per mm of sensor thickness: sensor plus its share of supports, cooling and services,
# so that pixel layers are ~1.2 %, short strips ~2 % and long strips ~2.8 % of X0.
RADIATION_LENGTHS_PER_MM = 0.08
PHI_BINS = 256
S_BIN_WIDTH = 25.0  # mm
ARC_MARGIN = 6.0  # mm, in phi (arc length)
BARREL_Z_MARGIN = 30.0  # mm: module planes sit a few mm off the nominal cylinder
DISK_R_MARGIN = 12.0  # mm: module planes sit a few mm off the nominal disk
EXTENT_MARGIN = 5.0  # mm added to each nominal surface's extent


@dataclass(frozen=True)
class DetectorGeometry:
    """Contiguous arrays describing modules, layers and lookup grids (see module docstring)."""

    detector: pd.DataFrame  # the source frame, sorted by volume, layer, module
    center: np.ndarray  # (n_modules, 3)
    axes: np.ndarray  # (n_modules, 3, 3): rows u, v, w in global coordinates
    half_u_min: np.ndarray
    half_u_max: np.ndarray
    half_v: np.ndarray
    thickness: np.ndarray
    pitch_u: np.ndarray
    pitch_v: np.ndarray
    module_layer: np.ndarray  # layer index of each module
    layer_kind: np.ndarray  # BARREL or DISK
    layer_position: np.ndarray  # radius (barrel) or z (disk), mm
    layer_lo: np.ndarray  # extent along z (barrel) or r (disk)
    layer_hi: np.ndarray
    layer_x0: np.ndarray  # x/X0 at normal incidence
    grid_s_lo: np.ndarray
    grid_s_bins: np.ndarray
    grid_cell_start: np.ndarray  # first cell of each layer in cell_offsets
    cell_offsets: np.ndarray  # CSR over all cells
    cell_modules: np.ndarray

    @property
    def n_modules(self) -> int:
        return int(self.center.shape[0])


def module_axes(detector: pd.DataFrame) -> np.ndarray:
    """(n, 3, 3) array whose rows are the u, v, w axes of each module in global coordinates."""
    cols = [["rot_xu", "rot_yu", "rot_zu"], ["rot_xv", "rot_yv", "rot_zv"],
            ["rot_xw", "rot_yw", "rot_zw"]]  # fmt: skip
    return np.stack([detector[c].to_numpy(np.float64) for c in cols], axis=1)


def module_outline(center: np.ndarray, axes: np.ndarray, minhu: np.ndarray, maxhu: np.ndarray,
                   hv: np.ndarray) -> np.ndarray:  # fmt: skip
    """(n, 9, 3) points on each module: 4 corners, 4 edge midpoints and the centre."""
    mid = 0.5 * (minhu + maxhu)
    local = np.stack([
        np.stack([-minhu, -hv]), np.stack([minhu, -hv]), np.stack([-maxhu, hv]),
        np.stack([maxhu, hv]), np.stack([np.zeros_like(hv), -hv]),
        np.stack([np.zeros_like(hv), hv]), np.stack([-mid, np.zeros_like(hv)]),
        np.stack([mid, np.zeros_like(hv)]), np.stack([np.zeros_like(hv), np.zeros_like(hv)]),
    ])  # (9, 2, n)  # fmt: skip
    u, v = axes[:, 0, :], axes[:, 1, :]
    return (
        center[None] + local[:, 0, :, None] * u[None] + local[:, 1, :, None] * v[None]
    ).transpose(1, 0, 2)


def _covered_cells(p0: np.ndarray, p1: np.ndarray, s0: np.ndarray, s1: np.ndarray,
                   n_s: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Grid cells (phi bin * n_s + s bin) of the rectangles [p0, p1] x [s0, s1] (phi wraps
    around), and the index of the rectangle each cell comes from."""
    n_phi, n_s_each = p1 - p0 + 1, s1 - s0 + 1
    sizes = n_phi * n_s_each
    owner = np.repeat(np.arange(sizes.size), sizes)
    local = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    phi_bin = (p0[owner] + local // n_s_each[owner]) % PHI_BINS
    s_bin = s0[owner] + local % n_s_each[owner]
    return phi_bin * n_s + s_bin, owner


def prepare_geometry(detector: pd.DataFrame) -> DetectorGeometry:
    """Validate a detectors.csv frame and build the arrays used by the propagation."""
    missing = [c for c in REQUIRED_COLUMNS if c not in detector.columns]
    if missing:
        raise TrackrecError(f"detector description lacks columns: {', '.join(missing)}")
    if len(detector) == 0:
        raise TrackrecError("detector description has no modules")
    det = detector.loc[:, list(REQUIRED_COLUMNS)]
    det = det.sort_values(["volume_id", "layer_id", "module_id"], kind="stable").reset_index(
        drop=True
    )
    numeric = det.to_numpy(np.float64)
    if not np.isfinite(numeric).all():
        raise TrackrecError("detector description has missing or non-finite values")
    center = det[["cx", "cy", "cz"]].to_numpy(np.float64)
    axes = module_axes(det)
    minhu = det["module_minhu"].to_numpy(np.float64)
    maxhu = det["module_maxhu"].to_numpy(np.float64)
    hv = det["module_hv"].to_numpy(np.float64)
    thickness = det["module_t"].to_numpy(np.float64)
    pitch_u = det["pitch_u"].to_numpy(np.float64)
    pitch_v = det["pitch_v"].to_numpy(np.float64)
    if (minhu <= 0).any() or (maxhu <= 0).any() or (hv <= 0).any() or (thickness <= 0).any() \
            or (pitch_u <= 0).any() or (pitch_v <= 0).any():  # fmt: skip
        raise TrackrecError("detector description has non-positive module sizes or pitches")
    layer_key = det["volume_id"].to_numpy(np.int64) * 10_000 + det["layer_id"].to_numpy(np.int64)
    _, module_layer = np.unique(layer_key, return_inverse=True)
    module_layer = module_layer.astype(np.int64)
    n_layers = int(module_layer.max()) + 1

    outline = module_outline(center, axes, minhu, maxhu, hv)  # (n, 9, 3)
    out_r = np.hypot(outline[..., 0], outline[..., 1])
    out_phi = np.arctan2(outline[..., 1], outline[..., 0])
    c_phi = np.arctan2(center[:, 1], center[:, 0])
    dphi = np.angle(np.exp(1j * (out_phi - c_phi[:, None])))

    kind = np.empty(n_layers, np.int64)
    position = np.empty(n_layers)
    lo, hi = np.empty(n_layers), np.empty(n_layers)
    x0 = np.empty(n_layers)
    s_lo, s_bins = np.empty(n_layers), np.empty(n_layers, np.int64)
    cell_start = np.zeros(n_layers + 1, np.int64)
    pair_cells, pair_modules = [], []
    for layer in range(n_layers):
        idx = np.flatnonzero(module_layer == layer)
        is_disk = np.abs(axes[idx, 2, 2]).mean() > 0.5
        kind[layer] = DISK if is_disk else BARREL
        x0[layer] = RADIATION_LENGTHS_PER_MM * thickness[idx].mean()
        if is_disk:
            position[layer] = center[idx, 2].mean()
            s = out_r[idx]
            s_margin = DISK_R_MARGIN
        else:
            position[layer] = np.hypot(center[idx, 0], center[idx, 1]).mean()
            s = outline[idx, :, 2]
            s_margin = BARREL_Z_MARGIN
        lo[layer] = s.min() - EXTENT_MARGIN
        hi[layer] = s.max() + EXTENT_MARGIN
        s_lo[layer] = s.min() - s_margin
        n_s = max(1, int(np.ceil((s.max() + s_margin - s_lo[layer]) / S_BIN_WIDTH)))
        s_bins[layer] = n_s
        cell_start[layer + 1] = cell_start[layer] + PHI_BINS * n_s
        phi_margin = ARC_MARGIN / np.maximum(out_r[idx].min(axis=1), 1.0)
        phi_lo = c_phi[idx] + dphi[idx].min(axis=1) - phi_margin
        phi_hi = c_phi[idx] + dphi[idx].max(axis=1) + phi_margin
        bin_w = 2 * np.pi / PHI_BINS
        p0 = np.floor((phi_lo + np.pi) / bin_w).astype(np.int64)
        p1 = np.floor((phi_hi + np.pi) / bin_w).astype(np.int64)
        p1 = np.minimum(p1, p0 + PHI_BINS - 1)
        s0 = np.clip(
            np.floor((s.min(axis=1) - s_margin - s_lo[layer]) / S_BIN_WIDTH), 0, n_s - 1
        ).astype(np.int64)
        s1 = np.clip(
            np.floor((s.max(axis=1) + s_margin - s_lo[layer]) / S_BIN_WIDTH), 0, n_s - 1
        ).astype(np.int64)
        cells, owner = _covered_cells(p0, p1, s0, s1, n_s)
        pair_cells.append(cells + cell_start[layer])
        pair_modules.append(idx[owner])
    cells = np.concatenate(pair_cells)
    modules = np.concatenate(pair_modules)
    order = np.lexsort((modules, cells))
    cells, modules = cells[order], modules[order]
    offsets = np.zeros(cell_start[-1] + 1, np.int64)
    np.add.at(offsets, cells + 1, 1)
    offsets = np.cumsum(offsets)
    return DetectorGeometry(
        detector=det, center=np.ascontiguousarray(center), axes=np.ascontiguousarray(axes),
        half_u_min=minhu, half_u_max=maxhu, half_v=hv, thickness=thickness,
        pitch_u=pitch_u, pitch_v=pitch_v, module_layer=module_layer,
        layer_kind=kind, layer_position=position, layer_lo=lo, layer_hi=hi, layer_x0=x0,
        grid_s_lo=s_lo, grid_s_bins=s_bins, grid_cell_start=cell_start[:-1].copy(),
        cell_offsets=offsets, cell_modules=modules,
    )  # fmt: skip


_PREPARED: OrderedDict[bytes, DetectorGeometry] = OrderedDict()
PREPARED_KEPT = 4  # distinct detectors kept prepared per process


def _content_key(detector: pd.DataFrame) -> bytes:
    digest = hashlib.sha1(repr(list(detector.columns)).encode())
    digest.update(pd.util.hash_pandas_object(detector, index=False).to_numpy().tobytes())
    return digest.digest()


def cached_geometry(detector: pd.DataFrame) -> DetectorGeometry:
    """:func:`prepare_geometry`, done once per process for each distinct detector content.

    The key is a hash of the frame's content, so an edited frame is prepared afresh.
    """
    key = _content_key(detector)
    if key in _PREPARED:
        _PREPARED.move_to_end(key)
        return _PREPARED[key]
    geometry = prepare_geometry(detector)
    _PREPARED[key] = geometry
    while len(_PREPARED) > PREPARED_KEPT:
        _PREPARED.popitem(last=False)
    return geometry


# ---------------------------------------------------------------------------------------
# A prepared geometry on disk: every simulate_event job of the workflow loads it instead of
# reading and preparing detectors.csv.gz again

GEOMETRY_FORMAT = "trackrec.prepared_geometry.1"
_ARRAY_FIELDS = tuple(f for f in DetectorGeometry.__dataclass_fields__ if f != "detector")


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes: which detector file a prepared geometry comes from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_geometry(geometry: DetectorGeometry, path: str | Path, source_digest: str) -> None:
    """Write ``geometry`` as ``.npz`` (atomically), with the digest of its detector file."""
    from trackrec.io.atomic import atomic_output

    arrays = {name: getattr(geometry, name) for name in _ARRAY_FIELDS}
    arrays |= {f"detector.{c}": geometry.detector[c].to_numpy() for c in geometry.detector}
    arrays["format"] = np.array(GEOMETRY_FORMAT)
    arrays["source_digest"] = np.array(source_digest)
    arrays["trackrec_version"] = np.array(__version__)
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_geometry(path: str | Path) -> tuple[DetectorGeometry, str]:
    """A geometry written by :func:`save_geometry` and the digest of its detector file.

    Raises TrackrecError for a file that is not one (no pickled objects are ever loaded).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != GEOMETRY_FORMAT:
                raise TrackrecError(f"{path}: not a prepared geometry ({GEOMETRY_FORMAT})")
            arrays = {name: data[name] for name in _ARRAY_FIELDS}
            detector = pd.DataFrame({c: data[f"detector.{c}"] for c in REQUIRED_COLUMNS})
            digest = str(data["source_digest"])
    except (ValueError, KeyError, EOFError) as err:  # not an npz, or one missing arrays
        raise TrackrecError(f"{path}: not a prepared geometry ({err})") from None
    return DetectorGeometry(detector=detector, **arrays), digest
