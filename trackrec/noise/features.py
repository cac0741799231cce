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
  outer, within ``dr_max``) the features count the compatible hits, the tightly compatible
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

    z0_max: float = 20.0  # mm, half-length of the luminous region accepted (sigma_z ~ 5.5 mm)
    pt_min: float = 0.7  # GeV, smallest pt whose bending the azimuth window allows
    eps_phi: float = 0.005  # rad, azimuth tolerance on top of the bending
    dr_max: float = 450.0  # mm, largest radial distance between the two hits
    tight: float = 0.25  # pair quality under which a pair is "tight"
    d_same: float = 5.0  # mm, same-layer neighbour distance
    triplet_phi: float = 0.002  # rad, azimuth tolerance of a triplet (scattering, bending)
    triplet_z: float = 2.0  # mm, z tolerance of a triplet
    triplet_min_dr: float = 5.0  # mm, smallest radial lever arm of a triplet
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
    "n_same_layer", "n_candidates", "n_triplets", "best_triplet", "triplet_support",
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
TRIPLET_PARTNERS = 24  # compatible hits per hit that the triplets combine (best qualities)
_POSITION_COLUMNS = ("x", "y", "z", "r", "phi", "eta", "volume_id", "layer_id")
CONTEXT_COLUMNS = ("pitch_u", "pitch_v", *(f"rot_{g}{a}" for g in "xyz" for a in "uv"))


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
    """Raise naming the hit columns that the feature groups need and the table lacks."""
    needed = {"hit": _POSITION_COLUMNS, "shape": _POSITION_COLUMNS + SHAPE_COLUMNS,
              "context": _POSITION_COLUMNS + CONTEXT_COLUMNS}  # fmt: skip
    for group in groups:
        missing = [c for c in needed[group] if c not in hits.columns]
        if missing:
            why = {"shape": "cells and geometry (ingest with the cells file and --detectors)",
                   "context": "geometry (ingest with --detectors)"}.get(group, "positions")  # fmt: skip
            raise TrackrecError(
                f"hits table lacks column(s) {', '.join(missing)} that the noise filter's "
                f"{group} features need: {why}"
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
def _triplets(nb, br, bphi, bz, blayer, bs, ri, zi, s_i, layer_i, triplet_phi, triplet_z,
              min_dr):  # fmt: skip
    """Count and best quality of triplets (hit i + two buffered compatible hits), and the
    most further partners (on other layers) that one triplet's line also passes through."""
    count = 0
    best = 1.0
    support = 0
    pr = np.empty(3)
    pp = np.empty(3)
    pz = np.empty(3)
    ps = np.empty((3, 3))
    for a in range(nb):
        for b in range(a + 1, nb):
            if blayer[a] == blayer[b]:
                continue
            pr[0], pp[0], pz[0] = ri, 0.0, zi
            pr[1], pp[1], pz[1] = br[a], bphi[a], bz[a]
            pr[2], pp[2], pz[2] = br[b], bphi[b], bz[b]
            for m in range(3):
                ps[0, m] = s_i[m]
                ps[1, m] = bs[a, m]
                ps[2, m] = bs[b, m]
            # order by radius: 1 < 2 < 3 (index list by hand, three elements)
            o0, o1, o2 = 0, 1, 2
            if pr[o0] > pr[o1]:
                o0, o1 = o1, o0
            if pr[o1] > pr[o2]:
                o1, o2 = o2, o1
            if pr[o0] > pr[o1]:
                o0, o1 = o1, o0
            d12 = pr[o1] - pr[o0]
            d23 = pr[o2] - pr[o1]
            if d12 < min_dr or d23 < min_dr:
                continue
            ratio = d23 / d12
            slope_phi = (pp[o1] - pp[o0]) / d12
            slope_z = (pz[o1] - pz[o0]) / d12
            res_phi = abs(pp[o2] - (pp[o1] + slope_phi * d23))
            res_z = abs(pz[o2] - (pz[o1] + slope_z * d23))
            # uncertainties (s_z, s_r, s_phi) propagated through the extrapolation
            s_r = ps[o2, 1] + ps[o1, 1] * (1.0 + ratio) + ps[o0, 1] * ratio
            tol_phi = (triplet_phi + ps[o2, 2] + ps[o1, 2] * (1.0 + ratio) + ps[o0, 2] * ratio
                       + abs(slope_phi) * s_r)  # fmt: skip
            tol_z = (triplet_z + ps[o2, 0] + ps[o1, 0] * (1.0 + ratio) + ps[o0, 0] * ratio
                     + abs(slope_z) * s_r)  # fmt: skip
            q = max(res_phi / tol_phi, res_z / tol_z)
            if q <= 1.0:
                count += 1
                best = min(best, q)
                support = max(support, _support(nb, br, bphi, bz, blayer, bs, a, b, layer_i,
                                                pr[o0], pp[o0], pz[o0], pr[o2], pp[o2], pz[o2],
                                                ps[o0], ps[o2], triplet_phi, triplet_z))  # fmt: skip
    return count, best, support


@njit(cache=True)
def _support(nb, br, bphi, bz, blayer, bs, a, b, layer_i, r1, p1, z1, r3, p3, z3, s1, s3,
             triplet_phi, triplet_z):  # fmt: skip
    """Buffered partners off the triplet's layers within tolerance of its outer-points line."""
    lever = r3 - r1
    slope_phi = (p3 - p1) / lever
    slope_z = (z3 - z1) / lever
    n = 0
    for c in range(nb):
        if blayer[c] == blayer[a] or blayer[c] == blayer[b] or blayer[c] == layer_i:
            continue
        grow = 1.0 + abs(br[c] - r1) / lever
        s_r = bs[c, 1] + (s1[1] + s3[1]) * grow
        tol_phi = triplet_phi * grow + bs[c, 2] + (s1[2] + s3[2]) * grow + abs(slope_phi) * s_r
        tol_z = triplet_z * grow + bs[c, 0] + (s1[0] + s3[0]) * grow + abs(slope_z) * s_r
        if (abs(bphi[c] - (p1 + slope_phi * (br[c] - r1))) <= tol_phi
                and abs(bz[c] - (z1 + slope_z * (br[c] - r1))) <= tol_z):  # fmt: skip
            n += 1
    return n


@njit(cache=True)
def _context_kernel(phi, eta, r, z, rho, layer, s_c, s_z, s_r, s_phi, order, cell_start,
                    n_phi, n_eta, eta_min, r_min, z0_max, kappa, eps_phi, dr_max, tight,
                    d_same, triplet_phi, triplet_z, triplet_min_dr, bin_phi, bin_eta,
                    out):  # fmt: skip
    n = phi.size
    max_layers = 32
    cap = TRIPLET_PARTNERS  # compatible hits per hit kept for the triplets (the best pair qualities)
    bq = np.empty(cap)
    br = np.empty(cap)
    bphi = np.empty(cap)
    bz = np.empty(cap)
    blayer = np.empty(cap, np.int64)
    bs = np.empty((cap, 3))
    s_i = np.empty(3)
    seen_in = np.empty(max_layers, np.int64)
    seen_out = np.empty(max_layers, np.int64)
    s_c_max = s_c.max()
    phi_window = kappa * (dr_max + 2.0 * s_r.max()) + eps_phi + 2.0 * s_phi.max()
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
        nb = 0
        worst = 0
        ri = r[i]
        zi = z[i]
        ci = zi / ri
        # compatible pairs have |dr| <= dr_max and
        # |c_j - c_i| <= z0_max |1/r_j - 1/r_i| + s_c_i + s_c_j  (c = z / r)
        r_lo = max(ri - dr_max, r_min)
        dc = z0_max * max(abs(1.0 / r_lo - 1.0 / ri), abs(1.0 / ri - 1.0 / (ri + dr_max)))
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
                    if abs(dr) > dr_max:
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
                    # keep the `cap` best pairs for the triplets: when full, replace the worst
                    slot = nb
                    if nb == cap:
                        slot = worst if q < bq[worst] else -1
                    else:
                        nb += 1
                    if slot >= 0:
                        bq[slot] = q
                        br[slot] = r[j]
                        bphi[slot] = _wrap(phi[j] - phi[i])
                        bz[slot] = z[j]
                        blayer[slot] = layer[j]
                        bs[slot, 0] = s_z[j]
                        bs[slot, 1] = s_r[j]
                        bs[slot, 2] = s_phi[j]
                        if nb == cap:  # the slot to replace next: the worst kept
                            worst = 0
                            for m in range(1, cap):
                                if bq[m] > bq[worst]:
                                    worst = m
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
        s_i[0] = s_z[i]
        s_i[1] = s_r[i]
        s_i[2] = s_phi[i]
        out[i, 10], out[i, 11], out[i, 12] = _triplets(
            nb, br, bphi, bz, blayer, bs, ri, zi, s_i, layer[i], triplet_phi, triplet_z,
            triplet_min_dr)  # fmt: skip


def position_uncertainties(hits: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Half-pitch uncertainty of each hit in ``c = z / r``, ``z`` and ``r`` (mm), phi (rad).

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
    return s_c, s_z, s_r, s_phi


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
    phi, eta, r, z, rho, layer, s_c, s_z, s_r, s_phi = _context_inputs(hits)
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
    _context_kernel(phi, eta, r, z, rho, layer, s_c, s_z, s_r, s_phi, order, cell_start,
                    n_phi, n_eta, eta_min, float(r.min()), params.z0_max, params.kappa,
                    params.eps_phi, params.dr_max, params.tight, params.d_same,
                    params.triplet_phi, params.triplet_z, params.triplet_min_dr, bin_phi,
                    params.bin_eta, out)  # fmt: skip
    return out


def context_features_reference(hits: pd.DataFrame,
                               params: ContextParams = ContextParams()) -> np.ndarray:  # fmt: skip
    """Slow obvious version of :func:`context_features` (all pairs; for the tests)."""
    phi, eta, r, z, rho, layer, s_c, s_z, s_r, s_phi = _context_inputs(hits)
    z0_max = params.z0_max
    x, y = r * np.cos(phi), r * np.sin(phi)
    phi_window = (params.kappa * (params.dr_max + 2 * s_r.max()) + params.eps_phi
                  + 2 * s_phi.max())  # fmt: skip
    out = np.zeros((phi.size, len(CONTEXT_FEATURES)))
    for i in range(phi.size):
        other = np.arange(phi.size) != i
        same = other & (layer == layer[i])
        dist = np.sqrt((x - x[i]) ** 2 + (y - y[i]) ** 2 + (z - z[i]) ** 2)
        n_same = int((same & (dist < params.d_same)).sum())
        drho = rho - rho[i]
        dr = r - r[i]
        cand = other & (layer != layer[i]) & (np.abs(dr) <= params.dr_max)
        dphi = np.abs(np.angle(np.exp(1j * (phi - phi[i]))))
        tol_c = z0_max * np.abs(1 / r - 1 / r[i]) + s_c[i] + s_c
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
        best = np.flatnonzero(ok)[np.argsort(q[ok], kind="stable")[:TRIPLET_PARTNERS]]
        row += list(_triplets_reference(i, best, phi, r, z, layer, s_z, s_r, s_phi, params))
        out[i] = row
    return out


def _triplets_reference(i, partners, phi, r, z, layer, s_z, s_r, s_phi, params):
    count, best, support = 0, 1.0, 0
    dphi = {k: float(np.angle(np.exp(1j * (phi[k] - phi[i])))) for k in (i, *partners)}
    for a_pos, a in enumerate(partners):
        for b in partners[a_pos + 1:]:
            if layer[a] == layer[b]:
                continue
            pts = sorted(
                (r[k], float(np.angle(np.exp(1j * (phi[k] - phi[i])))), z[k], s_z[k], s_r[k],
                 s_phi[k]) for k in (i, a, b))  # fmt: skip
            (r1, p1, z1, *s1), (r2, p2, z2, *s2), (r3, p3, z3, *s3) = pts
            if r2 - r1 < params.triplet_min_dr or r3 - r2 < params.triplet_min_dr:
                continue
            ratio = (r3 - r2) / (r2 - r1)
            slope_phi, slope_z = (p2 - p1) / (r2 - r1), (z2 - z1) / (r2 - r1)
            spread = [s3[m] + s2[m] * (1 + ratio) + s1[m] * ratio for m in range(3)]
            tol_phi = params.triplet_phi + spread[2] + abs(slope_phi) * spread[1]
            tol_z = params.triplet_z + spread[0] + abs(slope_z) * spread[1]
            q = max(abs(p3 - p2 - slope_phi * (r3 - r2)) / tol_phi,
                    abs(z3 - z2 - slope_z * (r3 - r2)) / tol_z)  # fmt: skip
            if q <= 1:
                count, best = count + 1, min(best, q)
                on_line = 0
                for c in partners:
                    if layer[c] in (layer[a], layer[b], layer[i]):
                        continue
                    grow = 1 + abs(r[c] - r1) / (r3 - r1)
                    spread = [s_z[c] + (s1[0] + s3[0]) * grow, s_r[c] + (s1[1] + s3[1]) * grow,
                              s_phi[c] + (s1[2] + s3[2]) * grow]  # fmt: skip
                    line_phi, line_z = (p3 - p1) / (r3 - r1), (z3 - z1) / (r3 - r1)
                    ok_phi = abs(dphi[c] - p1 - line_phi * (r[c] - r1)) <= (
                        params.triplet_phi * grow + spread[2] + abs(line_phi) * spread[1])
                    ok_z = abs(z[c] - z1 - line_z * (r[c] - r1)) <= (
                        params.triplet_z * grow + spread[0] + abs(line_z) * spread[1])
                    on_line += bool(ok_phi and ok_z)
                support = max(support, on_line)
    return count, best, support


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
