"""Per-hit features of the noise filter, computed from the Parquet hit table only.

Noise hits are random, isolated hits: what tells them apart is mostly their neighbourhood,
not the hit alone. Three feature groups:

- ``hit``: where the hit is (``r``, ``|z|``, ``|eta|``, volume and layer). Always present.
- ``shape`` (needs the ``cells`` and ``geometry`` columns): the cluster's cell count, charge
  and extents beside the extents a particle coming straight from the origin would leave
  given the module's pitch, thickness and orientation (``1 + thickness |d_u / d_w| /
  pitch_u``, the simulator's and the real detector's cluster model). Noise clusters do not
  follow the incidence angle.
- ``context`` (positions and layers only): the hits on *other* layers that a track from the
  luminous region through this hit could also have left. A pair ``(i, j)`` is compatible when
  the straight line through both in ``(r, z)`` meets the beam line within ``z0_max`` of the
  origin and their azimuth difference is at most ``kappa |r_j - r_i| + eps_phi`` (the bending
  of a track of ``pt_min``). Per side (``rho = sqrt(r^2 + z^2)`` smaller: inner, larger:
  outer, within ``drho_max``) the features count the compatible hits, the tightly compatible
  ones (quality below ``tight``) and their distinct layers, and give the best pair quality
  ``max(|dphi| / tol_phi, |z0| / z0_max)`` (1 when none). Hits of the same layer within
  ``d_same`` mm (overlapping modules) are counted apart.

The context search bins the hits in (phi, eta) and visits, per hit, only the bins that can
hold a compatible hit; :func:`context_features` validates and calls the numba kernel, and
:func:`context_features_reference` is the slow obvious O(n^2) version the tests compare with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numba import njit

from trackrec.errors import TrackrecError

FIELD_TESLA = 2.0
GEV_PER_TESLA_M = 0.299792458  # pt [GeV] = 0.3 B [T] R [m]


@dataclass(frozen=True)
class ContextParams:
    """Cuts of the compatible-hit search (a model records them; a mismatch is refused)."""

    z0_max: float = 50.0  # mm, half-length of the luminous region accepted
    pt_min: float = 0.5  # GeV, smallest pt whose bending the azimuth window allows
    eps_phi: float = 0.005  # rad, azimuth tolerance on top of the bending
    drho_max: float = 300.0  # mm, largest distance from the origin between the two hits
    tight: float = 0.25  # pair quality under which a pair is "tight"
    d_same: float = 5.0  # mm, same-layer neighbour distance
    bin_phi: float = 0.05  # rad, search grid
    bin_eta: float = 0.1

    @property
    def kappa(self) -> float:
        """Azimuth change per mm of radius of a track of ``pt_min``: 1 / (2 R)."""
        radius_mm = self.pt_min / (GEV_PER_TESLA_M * FIELD_TESLA) * 1000.0
        return 1.0 / (2.0 * radius_mm)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


HIT_FEATURES = ("r", "abs_z", "abs_eta", "volume_id", "layer_id")
SHAPE_FEATURES = (
    "n_cells", "charge", "extent_u", "extent_v",
    "expected_extent_u", "expected_extent_v", "excess_extent_u", "excess_extent_v",
    "charge_per_path", "cos_incidence",
)  # fmt: skip
CONTEXT_FEATURES = (
    "n_inner", "n_outer", "n_tight_inner", "n_tight_outer",
    "layers_tight_inner", "layers_tight_outer", "best_inner", "best_outer",
    "n_same_layer", "n_candidates",
)  # fmt: skip
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "hit": HIT_FEATURES,
    "shape": SHAPE_FEATURES,
    "context": CONTEXT_FEATURES,
}
SHAPE_COLUMNS = (
    "n_cells", "charge", "extent_u", "extent_v", "pitch_u", "pitch_v", "thickness",
    *(f"rot_{g}{a}" for g in "xyz" for a in "uvw"),
)  # fmt: skip
_POSITION_COLUMNS = ("x", "y", "z", "r", "phi", "eta", "volume_id", "layer_id")


def feature_names(groups: tuple[str, ...] | list[str]) -> list[str]:
    """The feature columns of the given groups, in model order."""
    unknown = [g for g in groups if g not in FEATURE_GROUPS]
    if unknown:
        raise TrackrecError(f"unknown noise feature group(s) {unknown}; known: {list(FEATURE_GROUPS)}")
    return [name for g in FEATURE_GROUPS if g in groups for name in FEATURE_GROUPS[g]]


def available_groups(hits: pd.DataFrame) -> list[str]:
    """The feature groups the hit table can give (``shape`` needs cells and geometry)."""
    groups = ["hit"]
    if all(c in hits.columns for c in SHAPE_COLUMNS):
        groups.append("shape")
    groups.append("context")
    return groups


def check_columns(hits: pd.DataFrame, groups: tuple[str, ...] | list[str]) -> None:
    """Raise naming the first hit column that a feature group needs and the table lacks."""
    needed = list(_POSITION_COLUMNS) + (list(SHAPE_COLUMNS) if "shape" in groups else [])
    missing = [c for c in needed if c not in hits.columns]
    if missing:
        what = "shape features need cells and geometry (ingest with a cells file and --detectors)"
        raise TrackrecError(
            f"hits table lacks column(s) {', '.join(missing)} that the noise filter's features "
            f"need" + (f"; {what}" if "shape" in groups and set(missing) & set(SHAPE_COLUMNS) else "")
        )


def _f64(hits: pd.DataFrame, name: str) -> np.ndarray:
    return np.ascontiguousarray(hits[name].to_numpy(np.float64))


def shape_features(hits: pd.DataFrame) -> dict[str, np.ndarray]:
    """Cluster shape against the incidence of a straight line from the origin."""
    pos = np.stack([_f64(hits, "x"), _f64(hits, "y"), _f64(hits, "z")], axis=1)
    direction = pos / np.maximum(np.linalg.norm(pos, axis=1), 1e-9)[:, None]
    local = {}
    for axis in "uvw":
        rot = np.stack([_f64(hits, f"rot_{g}{axis}") for g in "xyz"], axis=1)
        local[axis] = np.einsum("ij,ij->i", direction, rot)
    cos_w = np.maximum(np.abs(local["w"]), 1e-3)
    thickness = _f64(hits, "thickness")
    expected_u = 1.0 + thickness * np.abs(local["u"]) / cos_w / np.maximum(_f64(hits, "pitch_u"), 1e-6)
    expected_v = 1.0 + thickness * np.abs(local["v"]) / cos_w / np.maximum(_f64(hits, "pitch_v"), 1e-6)
    extent_u, extent_v = _f64(hits, "extent_u"), _f64(hits, "extent_v")
    charge = _f64(hits, "charge")
    return {
        "n_cells": _f64(hits, "n_cells"),
        "charge": charge,
        "extent_u": extent_u,
        "extent_v": extent_v,
        # long strips: the expectation along the strip is meaningless but bounded by the cap
        "expected_extent_u": np.minimum(expected_u, 1000.0),
        "expected_extent_v": np.minimum(expected_v, 1000.0),
        "excess_extent_u": extent_u - np.minimum(expected_u, 1000.0),
        "excess_extent_v": extent_v - np.minimum(expected_v, 1000.0),
        "charge_per_path": charge * cos_w / np.maximum(thickness, 1e-6),
        "cos_incidence": cos_w,
    }


@njit(cache=True)
def _wrap(dphi: float) -> float:
    if dphi > math.pi:
        return dphi - 2.0 * math.pi
    if dphi < -math.pi:
        return dphi + 2.0 * math.pi
    return dphi


@njit(cache=True)
def _context_kernel(phi, eta, r, z, rho, layer, s_c, s_r, s_phi, order, cell_start, n_phi,
                    n_eta, eta_min, r_min, z0_max, kappa, eps_phi, drho_max, tight, d_same,
                    bin_phi, bin_eta, out):  # fmt: skip
    n = phi.size
    max_layers = 32
    seen_in = np.empty(max_layers, np.int64)
    seen_out = np.empty(max_layers, np.int64)
    s_c_max = s_c.max()
    phi_window = kappa * (drho_max + 2.0 * s_r.max()) + eps_phi + 2.0 * s_phi.max()
    compat_bins = int(math.ceil(phi_window / bin_phi))
    for i in range(n):
        n_in = 0
        n_out = 0
        t_in = 0
        t_out = 0
        l_in = 0
        l_out = 0
        best_in = 1.0
        best_out = 1.0
        n_same = 0
        n_cand = 0
        ri = r[i]
        zi = z[i]
        ci = zi / ri
        # compatible pairs have |dr| <= drho_max and
        # |c_j - c_i| <= z0_max |1/r_j - 1/r_i| + s_c_i + s_c_j  (c = z / r)
        r_lo = max(ri - drho_max, r_min)
        dc = z0_max * max(abs(1.0 / r_lo - 1.0 / ri), abs(1.0 / ri - 1.0 / (ri + drho_max)))
        dc += s_c[i] + s_c_max
        e_lo = int(math.floor((math.asinh(ci - dc) - eta_min) / bin_eta))
        e_hi = int(math.floor((math.asinh(ci + dc) - eta_min) / bin_eta))
        # same-layer neighbours within d_same: |dphi| <= asin(d / r), |deta| <= d / (r - d)
        phi_bins = max(compat_bins, int(math.ceil(math.asin(min(1.0, d_same / ri)) / bin_phi)))
        all_phi = 2 * phi_bins + 1 >= n_phi
        if ri > d_same:
            deta = d_same / (ri - d_same)
            e_lo = min(e_lo, int(math.floor((eta[i] - deta - eta_min) / bin_eta)))
            e_hi = max(e_hi, int(math.floor((eta[i] + deta - eta_min) / bin_eta)))
        else:
            e_lo = 0
            e_hi = n_eta - 1
        e_lo = max(e_lo, 0)
        e_hi = min(e_hi, n_eta - 1)
        p0 = min(int((phi[i] + math.pi) / bin_phi), n_phi - 1)
        for step in range(n_phi if all_phi else 2 * phi_bins + 1):
            pb = step if all_phi else (p0 + step - phi_bins) % n_phi
            for eb in range(e_lo, e_hi + 1):
                cell = pb * n_eta + eb
                for k in range(cell_start[cell], cell_start[cell + 1]):
                    j = order[k]
                    if j == i:
                        continue
                    if layer[j] == layer[i]:
                        if abs(rho[j] - rho[i]) < d_same:  # cheap reject before the 3d distance
                            d2 = (r[j] * math.cos(phi[j]) - ri * math.cos(phi[i])) ** 2 + (
                                r[j] * math.sin(phi[j]) - ri * math.sin(phi[i])) ** 2 + (
                                z[j] - zi) ** 2  # fmt: skip
                            if d2 < d_same * d_same:
                                n_same += 1
                        continue
                    drho = rho[j] - rho[i]
                    dr = r[j] - ri
                    if abs(drho) > drho_max or abs(dr) > drho_max:
                        continue
                    tol_c = z0_max * abs(1.0 / r[j] - 1.0 / ri) + s_c[i] + s_c[j]
                    q_c = abs(z[j] / r[j] - ci) / tol_c
                    if q_c > 1.0:
                        continue
                    adphi = abs(_wrap(phi[j] - phi[i]))
                    tol_phi = kappa * (abs(dr) + s_r[i] + s_r[j]) + eps_phi + s_phi[i] + s_phi[j]
                    if adphi <= phi_window:
                        n_cand += 1
                    q_phi = adphi / tol_phi
                    if q_phi > 1.0:
                        continue
                    q = max(q_phi, q_c)
                    if drho < 0.0:
                        n_in += 1
                        best_in = min(best_in, q)
                        if q < tight:
                            t_in += 1
                            new = True
                            for s in range(min(l_in, max_layers)):
                                if seen_in[s] == layer[j]:
                                    new = False
                                    break
                            if new:
                                if l_in < max_layers:
                                    seen_in[l_in] = layer[j]
                                l_in += 1
                    else:
                        n_out += 1
                        best_out = min(best_out, q)
                        if q < tight:
                            t_out += 1
                            new = True
                            for s in range(min(l_out, max_layers)):
                                if seen_out[s] == layer[j]:
                                    new = False
                                    break
                            if new:
                                if l_out < max_layers:
                                    seen_out[l_out] = layer[j]
                                l_out += 1
        out[i, 0] = n_in
        out[i, 1] = n_out
        out[i, 2] = t_in
        out[i, 3] = t_out
        out[i, 4] = l_in
        out[i, 5] = l_out
        out[i, 6] = best_in
        out[i, 7] = best_out
        out[i, 8] = n_same
        out[i, 9] = n_cand


def position_uncertainties(hits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-pitch uncertainty of each hit in ``c = z / r``, in ``r`` (mm) and in phi (rad).

    A hit lies anywhere within half a pitch of its cell along the module's u and v axes
    (strips: along the whole strip), which matters for the long strips (10.8 mm along v).
    """
    x, y, z = _f64(hits, "x"), _f64(hits, "y"), _f64(hits, "z")
    r = np.maximum(np.hypot(x, y), 1e-3)
    e_r = np.stack([x / r, y / r], axis=1)
    e_phi = np.stack([-y / r, x / r], axis=1)
    s_z = np.zeros(r.size)
    s_r = np.zeros(r.size)
    s_phi = np.zeros(r.size)
    for axis in "uv":
        half = 0.5 * _f64(hits, f"pitch_{axis}")
        vec = np.stack([_f64(hits, f"rot_x{axis}"), _f64(hits, f"rot_y{axis}")], axis=1)
        s_z += np.abs(_f64(hits, f"rot_z{axis}")) * half
        s_r += np.abs(np.einsum("ij,ij->i", vec, e_r)) * half
        s_phi += np.abs(np.einsum("ij,ij->i", vec, e_phi)) * half / r
    s_c = (s_z + np.abs(z / r) * s_r) / r
    return s_c, s_r, s_phi


def _context_inputs(hits: pd.DataFrame) -> tuple[np.ndarray, ...]:
    r = np.maximum(_f64(hits, "r"), 1e-3)
    z = _f64(hits, "z")
    phi = _f64(hits, "phi")
    eta = np.arcsinh(z / r)
    rho = np.hypot(r, z)
    layer = hits["volume_id"].to_numpy(np.int64) * 1000 + hits["layer_id"].to_numpy(np.int64)
    return (phi, eta, r, z, rho, layer, *position_uncertainties(hits))


def context_features(hits: pd.DataFrame, params: ContextParams = ContextParams()) -> np.ndarray:
    """The ``context`` features, shape ``(n_hits, len(CONTEXT_FEATURES))``, float64."""
    phi, eta, r, z, rho, layer, s_c, s_r, s_phi = _context_inputs(hits)
    n = phi.size
    out = np.zeros((n, len(CONTEXT_FEATURES)))
    if n == 0:
        return out
    if not (np.isfinite(phi).all() and np.isfinite(z).all() and np.isfinite(r).all()):
        raise TrackrecError("hits table has non-finite positions")
    n_phi = max(int(math.floor(2 * math.pi / params.bin_phi)), 1)
    bin_phi = 2 * math.pi / n_phi  # an exact division of the circle, so bins wrap cleanly
    eta_min = float(eta.min()) - 1e-6
    n_eta = int((float(eta.max()) - eta_min) / params.bin_eta) + 1
    p_bin = np.minimum(((phi + math.pi) / bin_phi).astype(np.int64), n_phi - 1)
    e_bin = np.minimum(((eta - eta_min) / params.bin_eta).astype(np.int64), n_eta - 1)
    cell = p_bin * n_eta + e_bin
    order = np.argsort(cell, kind="stable").astype(np.int64)
    cell_start = np.searchsorted(cell[order], np.arange(n_phi * n_eta + 1)).astype(np.int64)
    _context_kernel(phi, eta, r, z, rho, layer, s_c, s_r, s_phi, order, cell_start, n_phi,
                    n_eta, eta_min, float(r.min()), params.z0_max, params.kappa,
                    params.eps_phi, params.drho_max, params.tight, params.d_same, bin_phi,
                    params.bin_eta, out)  # fmt: skip
    return out


def context_features_reference(hits: pd.DataFrame,
                               params: ContextParams = ContextParams()) -> np.ndarray:  # fmt: skip
    """Slow obvious version of :func:`context_features` (all pairs; for the tests)."""
    phi, eta, r, z, rho, layer, s_c, s_r, s_phi = _context_inputs(hits)
    x, y = r * np.cos(phi), r * np.sin(phi)
    phi_window = (params.kappa * (params.drho_max + 2 * s_r.max()) + params.eps_phi
                  + 2 * s_phi.max())  # fmt: skip
    out = np.zeros((phi.size, len(CONTEXT_FEATURES)))
    for i in range(phi.size):
        other = np.arange(phi.size) != i
        same = other & (layer == layer[i])
        dist = np.sqrt((x - x[i]) ** 2 + (y - y[i]) ** 2 + (z - z[i]) ** 2)
        n_same = int((same & (dist < params.d_same)).sum())
        drho = rho - rho[i]
        dr = r - r[i]
        cand = (other & (layer != layer[i]) & (np.abs(drho) <= params.drho_max)
                & (np.abs(dr) <= params.drho_max))  # fmt: skip
        dphi = np.abs(np.angle(np.exp(1j * (phi - phi[i]))))
        tol_c = params.z0_max * np.abs(1 / r - 1 / r[i]) + s_c[i] + s_c
        tol_phi = params.kappa * (np.abs(dr) + s_r[i] + s_r) + params.eps_phi + s_phi[i] + s_phi
        q_c = np.abs(z / r - z[i] / r[i]) / tol_c
        q_phi = dphi / tol_phi
        ok = cand & (q_phi <= 1) & (q_c <= 1)
        road = cand & (q_c <= 1) & (dphi <= phi_window)
        q = np.maximum(q_phi, q_c)
        row = []
        sides = (ok & (drho < 0), ok & (drho >= 0))
        row += [s.sum() for s in sides]
        row += [(s & (q < params.tight)).sum() for s in sides]
        row += [len(set(layer[s & (q < params.tight)])) for s in sides]
        row += [min(1.0, q[s].min()) if s.any() else 1.0 for s in sides]
        row += [n_same, road.sum()]
        out[i] = row
    return out


def hit_features(hits: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "r": _f64(hits, "r"),
        "abs_z": np.abs(_f64(hits, "z")),
        "abs_eta": np.abs(_f64(hits, "eta")),
        "volume_id": _f64(hits, "volume_id"),
        "layer_id": _f64(hits, "layer_id"),
    }


def compute_features(hits: pd.DataFrame, groups: tuple[str, ...] | list[str],
                     params: ContextParams = ContextParams()) -> np.ndarray:  # fmt: skip
    """The feature matrix ``(n_hits, n_features)`` (float32) of the given groups.

    Raises :class:`~trackrec.errors.TrackrecError` naming a column a group needs.
    """
    names = feature_names(groups)
    check_columns(hits, groups)
    columns: dict[str, np.ndarray] = {}
    if "hit" in groups:
        columns.update(hit_features(hits))
    if "shape" in groups:
        columns.update(shape_features(hits))
    if "context" in groups:
        ctx = context_features(hits, params)
        columns.update({name: ctx[:, k] for k, name in enumerate(CONTEXT_FEATURES)})
    matrix = np.empty((len(hits), len(names)), np.float32)
    for k, name in enumerate(names):
        matrix[:, k] = columns[name]
    return matrix
