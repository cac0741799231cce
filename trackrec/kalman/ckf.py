"""Combinatorial Kalman filter (CKF) track finding: the ``ckf`` tracking method.

1. **Layers and hit grids.** Every (volume, layer) is a nominal surface, a cylinder or a disk
   (:class:`~trackrec.kalman.fit.MaterialLayers`: from the detector description, or from the
   event's hits when there is none). Each layer's hits sit in a (phi, s) grid, s being z on a
   cylinder and r on a disk.
2. **Seeds.** Hit triplets in the pixel layers (pitch_v below 0.5 mm): the innermost three
   barrel layers, the next three, barrel-barrel-disk, barrel-disk-disk and three consecutive
   disks on each side. A doublet must point to the luminous region (|z0| below ``seed_z0``)
   and turn no more than a particle of ``seed_min_pt`` could; the third hit must lie on the
   extrapolated line within a window; the circle through the three hits must have pT at
   least ``seed_min_pt`` and |d0| at most ``seed_d0`` (both with the slack that the
   sagitta's resolution leaves on short transverse lever arms), and the two r-z slopes must
   agree. Hits on other modules of the seed's layers (overlaps) join the seed.
3. **Propagation.** From the seed's helix (the triplet's perigee parameters, the three hits
   filtered in), each candidate moves to the nearest layer crossing ahead, scatters in the
   layer's material (the fit's process noise) and looks for hits in a window around the
   crossing; each hit's chi2 comes from the exact helix-plane intersection with its module.
   Every hit with chi2 below ``chi2_cut`` starts a branch (the ``max_branches`` best per
   candidate), a layer without one is a hole; compatible hits on other modules of the same
   layer (module overlaps; up to four hits per layer) are added to the branch. At most ``max_branches``
   candidates live per seed (most hits, then least chi2); a candidate stops after
   ``max_holes`` holes, half a turn, or when no layer lies ahead.
4. **Ambiguity resolution.** Seeds are extended in parallel batches; in each batch the
   candidates are accepted best first (most hits, then least chi2/ndf) when at most
   ``max_shared`` of their hits belong to tracks accepted before and at least ``min_hits``
   are free; an accepted track takes its free hits, and later seeds with a taken hit are
   skipped. Hits of no track become one-hit tracks of their own.

The kernels are private (``@njit(cache=True)``); :func:`find_tracks` validates and runs them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from trackrec.kalman.fit import (
    GEOMETRY_COLUMNS,
    FitParams,
    MaterialLayers,
    _scatter,
    hit_arrays,
)
from trackrec.kalman.helix import (
    CURVATURE_PER_TESLA_GEV,
    _helix_point,
    _plane_intersection,
    _position_derivatives,
    _residual_and_jacobian,
    _seed_three,
)

PHI_BINS = 128
S_BIN = 20.0  # mm
STRIP_PITCH_V = 0.5  # mm: modules with a coarser v pitch are strips
MAX_HITS = 48  # per candidate track
SEED_HIT_SIGMA = 0.03  # mm: two pixel resolutions, the slack of a triplet's sagitta
MAX_PER_LAYER = 4  # hits of one candidate on one layer (overlapping modules)


def _param(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class CkfParams:
    """Settings of the CKF (the config section ``tracking.ckf``)."""

    seed_min_pt: float = _param(0.7, "Smallest pT of a seed triplet's circle, GeV.")
    seed_z0: float = _param(25.0, "Largest |z0| of a seed (luminous region), mm.")
    seed_d0: float = _param(2.0, "Largest |d0| of a seed, mm.")
    seed_window: float = _param(3.0, "Third-hit window around the doublet's extrapolation, mm.")
    seed_slope: float = _param(0.02, "Largest difference of the triplet's two r-z angles, rad.")
    chi2_cut: float = _param(15.0, "Largest chi2 (2 dof) of a hit added to a candidate.")
    max_branches: int = _param(3, "Candidates kept per seed, and branches per candidate.")
    max_holes: int = _param(2, "Layers crossed without a hit before a candidate stops.")
    min_hits: int = _param(6, "Fewest hits of an accepted track.")
    max_shared: int = _param(1, "Most hits an accepted track may share with earlier tracks.")
    batch: int = _param(2048, "Seeds extended in parallel before their tracks are resolved.")

    def validate(self) -> None:
        positive = (self.seed_min_pt, self.seed_z0, self.seed_d0, self.seed_window,
                    self.seed_slope, self.chi2_cut)  # fmt: skip
        if not all(v > 0 for v in positive):
            raise ValueError("seed cuts, windows and chi2_cut must be > 0")
        if self.max_branches < 1 or self.max_holes < 0 or self.batch < 1:
            raise ValueError("max_branches >= 1, max_holes >= 0 and batch >= 1 required")
        if not 3 <= self.min_hits <= MAX_HITS or self.max_shared < 0:
            raise ValueError(f"min_hits must be in 3..{MAX_HITS}, max_shared >= 0")


@dataclass(frozen=True)
class HitGrid:
    """Hits of each layer in (phi, s) cells: ``cell_hits[offsets[c]:offsets[c + 1]]``."""

    phi_bins: int
    s_bin: float  # mm
    layer_start: np.ndarray  # first cell of each layer
    s_lo: np.ndarray  # per layer
    s_bins: np.ndarray
    offsets: np.ndarray
    cell_hits: np.ndarray


def build_grid(layer: np.ndarray, phi: np.ndarray, s: np.ndarray, n_layers: int) -> HitGrid:
    """The (phi, s) grid of hits with layer index ``layer`` (-1: in no layer)."""
    s_lo = np.zeros(n_layers)
    s_bins = np.ones(n_layers, np.int64)
    inside = layer >= 0
    for index in range(n_layers):
        values = s[layer == index]
        if values.size:
            s_lo[index] = values.min() - 1.0
            s_bins[index] = int((values.max() + 1.0 - s_lo[index]) // S_BIN) + 1
    layer_start = np.concatenate([[0], np.cumsum(PHI_BINS * s_bins)])
    phi_bin = np.floor((phi + np.pi) / (2 * np.pi) * PHI_BINS).astype(np.int64) % PHI_BINS
    safe_layer = np.where(inside, layer, 0)
    s_bin = np.clip(((s - s_lo[safe_layer]) // S_BIN).astype(np.int64), 0, s_bins[safe_layer] - 1)
    cell = layer_start[safe_layer] + phi_bin * s_bins[safe_layer] + s_bin
    hits = np.flatnonzero(inside)
    order = hits[np.argsort(cell[hits], kind="stable")]
    offsets = np.zeros(layer_start[-1] + 1, np.int64)
    np.add.at(offsets, cell[hits] + 1, 1)
    return HitGrid(phi_bins=PHI_BINS, s_bin=S_BIN, layer_start=layer_start[:-1].copy(),
                   s_lo=s_lo, s_bins=s_bins,
                   offsets=np.cumsum(offsets), cell_hits=order.astype(np.int64))  # fmt: skip


def layers_from_hits(hits: pd.DataFrame, radiation_lengths_per_mm: float) -> MaterialLayers:
    """Nominal layers measured on the event's own hits (when no detector description is given)."""
    key = hits["volume_id"].to_numpy(np.int64) * 1000 + hits["layer_id"].to_numpy(np.int64)
    frame = pd.DataFrame({"key": key, "r": np.hypot(hits["x"], hits["y"]), "z": hits["z"],
                          "disk": np.abs(hits["rot_zw"].to_numpy()) > 0.5,
                          "t": hits["thickness"]})  # fmt: skip
    rows = []
    for k, g in frame.groupby("key", sort=True):
        disk = bool(g["disk"].median() > 0.5)
        position = g["z"].median() if disk else g["r"].median()
        extent = g["r"] if disk else g["z"]
        rows.append((k, disk, position, extent.min() - 20.0, extent.max() + 20.0,
                     radiation_lengths_per_mm * g["t"].median()))  # fmt: skip
    cols = list(zip(*rows)) if rows else [[]] * 6
    return MaterialLayers(key=np.asarray(cols[0], np.int64), disk=np.asarray(cols[1], np.bool_),
                          position=np.asarray(cols[2], float), lo=np.asarray(cols[3], float),
                          hi=np.asarray(cols[4], float), x_over_x0=np.asarray(cols[5], float))  # fmt: skip


def seed_triples(layers: MaterialLayers, pixel_keys: set[int]) -> np.ndarray:
    """(n, 3) layer indices of the seeding combinations (see the module docstring)."""
    index = {int(k): i for i, k in enumerate(layers.key)}
    pixel = [i for k, i in index.items() if k in pixel_keys]
    barrel = sorted((i for i in pixel if not layers.disk[i]), key=lambda i: layers.position[i])
    triples = []
    if len(barrel) >= 3:
        triples += [barrel[j:j + 3] for j in range(min(2, len(barrel) - 2))]
    for sign in (1.0, -1.0):
        disks = sorted((i for i in pixel if layers.disk[i] and layers.position[i] * sign > 0),
                       key=lambda i: abs(layers.position[i]))  # fmt: skip
        if len(barrel) >= 2 and disks:
            triples.append([barrel[0], barrel[1], disks[0]])
        if barrel and len(disks) >= 2:
            triples.append([barrel[0], disks[0], disks[1]])
        triples += [disks[j:j + 3] for j in range(len(disks) - 2)]
    return np.asarray(triples, np.int64).reshape(-1, 3)


@njit(cache=True)
def _cells(grid_start, s_lo, s_bins, phi_bins, s_bin, layer, phi_lo, phi_hi, s_min, s_max, out):
    """Cells of ``layer`` covering [phi_lo, phi_hi] x [s_min, s_max]; returns their count."""
    n_s = s_bins[layer]
    b0 = int(np.floor((s_min - s_lo[layer]) / s_bin))
    b1 = int(np.floor((s_max - s_lo[layer]) / s_bin))
    b0 = max(b0, 0)
    b1 = min(b1, n_s - 1)
    if b1 < b0:
        return 0
    width = 2.0 * np.pi / phi_bins
    p0 = int(np.floor((phi_lo + np.pi) / width))
    p1 = int(np.floor((phi_hi + np.pi) / width))
    if p1 - p0 >= phi_bins:
        p1 = p0 + phi_bins - 1
    count = 0
    for p in range(p0, p1 + 1):
        pb = p % phi_bins
        for sb in range(b0, b1 + 1):
            if count < out.shape[0]:
                out[count] = grid_start[layer] + pb * n_s + sb
                count += 1
    return count


@njit(cache=True)
def _wrap(angle):
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


@njit(cache=True)
def _find_seeds(triples, x, y, z, r, phi, lay_disk, lay_pos, grid_start, s_lo, s_bins, phi_bins,
                s_bin, offsets, cell_hits, a, min_pt, z0_max, d0_max, window, slope_cut,
                hit_sigma, max_seeds):  # fmt: skip
    """Seed triplets (hit indices in flight order, n x 3) passing the cuts of the module
    docstring, and whether ``max_seeds`` cut the list short."""
    out = np.empty((max_seeds, 3), np.int64)
    n_out = 0
    rho_max = a / min_pt
    kappa_max = 1.0 / min_pt
    cells_a = np.empty(8192, np.int64)
    cells_c = np.empty(8192, np.int64)
    for t in range(triples.shape[0]):
        la, lb, lc = triples[t, 0], triples[t, 1], triples[t, 2]
        for cb in range(grid_start[lb], grid_start[lb] + phi_bins * s_bins[lb]):
            for kb in range(offsets[cb], offsets[cb + 1]):
                b = cell_hits[kb]
                dphi = 0.5 * rho_max * r[b] + 0.01
                # inner layer's s range: lines from (0, +-z0_max) through b
                if lay_disk[la]:
                    lo1 = r[b] * (lay_pos[la] - z0_max) / (z[b] - z0_max) if z[b] != z0_max else 0.0
                    lo2 = r[b] * (lay_pos[la] + z0_max) / (z[b] + z0_max) if z[b] != -z0_max else 0.0
                    s_min, s_max = min(lo1, lo2) - 10.0, max(lo1, lo2) + 10.0
                else:
                    f = lay_pos[la] / r[b]
                    z1 = z0_max + (z[b] - z0_max) * f
                    z2 = -z0_max + (z[b] + z0_max) * f
                    s_min, s_max = min(z1, z2) - 10.0, max(z1, z2) + 10.0
                n_ca = _cells(grid_start, s_lo, s_bins, phi_bins, s_bin, la, phi[b] - dphi, phi[b] + dphi,
                              s_min, s_max, cells_a)  # fmt: skip
                for ia in range(n_ca):
                    ca = cells_a[ia]
                    for ka in range(offsets[ca], offsets[ca + 1]):
                        h_a = cell_hits[ka]
                        dr_ab = r[b] - r[h_a]
                        if dr_ab <= 1.0:
                            continue
                        dphi_ab = _wrap(phi[b] - phi[h_a])
                        if abs(dphi_ab) > 0.5 * rho_max * dr_ab + 0.003:
                            continue
                        cot_ab = (z[b] - z[h_a]) / dr_ab
                        if abs(z[h_a] - r[h_a] * cot_ab) > z0_max:
                            continue
                        # third hit on the straight (r, z) and (r, phi) extrapolation
                        if lay_disk[lc]:
                            if cot_ab == 0.0:
                                continue
                            r_c = r[b] + (lay_pos[lc] - z[b]) / cot_ab
                            if r_c <= r[b]:
                                continue
                            s_c = r_c
                            s_window = window + 8.0 / abs(cot_ab)
                        else:
                            r_c = lay_pos[lc]
                            s_c = z[b] + cot_ab * (r_c - r[b])
                            s_window = window + 3.0 * abs(cot_ab)
                        phi_c = phi[b] + dphi_ab / dr_ab * (r_c - r[b])
                        dphi_c = (window + 2.0) / r_c
                        n_cc = _cells(grid_start, s_lo, s_bins, phi_bins, s_bin, lc, phi_c - dphi_c, phi_c + dphi_c,
                                      s_c - s_window, s_c + s_window, cells_c)  # fmt: skip
                        for ic in range(n_cc):
                            cc = cells_c[ic]
                            for kc in range(offsets[cc], offsets[cc + 1]):
                                c = cell_hits[kc]
                                dr_bc = r[c] - r[b]
                                if dr_bc <= 1.0:
                                    continue
                                slope = abs(np.arctan2(dr_ab, z[b] - z[h_a])
                                            - np.arctan2(dr_bc, z[c] - z[b]))  # fmt: skip
                                if slope > slope_cut:
                                    continue
                                d0, z0, phi0, theta, kappa = _seed_three(
                                    x[h_a], y[h_a], z[h_a], x[b], y[b], z[b], x[c], y[c], z[c], a)
                                # curvature known to ~ 8 sigma / chord^2 (sagitta): short
                                # transverse lever arms (forward seeds) get that much slack
                                chord = r[c] - r[h_a]
                                rho_slack = 8.0 * hit_sigma / (chord * chord)
                                if abs(kappa) > kappa_max + rho_slack / a or abs(z0) > z0_max:
                                    continue
                                if abs(d0) > d0_max + 0.5 * rho_slack * r[h_a] * r[h_a]:
                                    continue
                                if n_out >= max_seeds:
                                    return out[:n_out], True
                                out[n_out, 0] = h_a
                                out[n_out, 1] = b
                                out[n_out, 2] = c
                                n_out += 1
    return out[:n_out], False


@njit(cache=True)
def _next_crossing(state, s_now, current, a, lay_disk, lay_pos, lay_lo, lay_hi):
    """Nearest layer other than ``current`` whose nominal surface the helix crosses after arc
    length ``s_now`` (within half a turn): (layer, arc length); layer -1 when none."""
    d0, z0, phi0, theta, kappa = state[0], state[1], state[2], state[3], state[4]
    rho = -a * kappa
    cot = np.cos(theta) / np.sin(theta)
    s_turn = np.pi / abs(rho) if rho != 0.0 else 1e12
    best_s = 1e12
    best = -1
    for j in range(lay_pos.shape[0]):
        if j == current:
            continue
        if lay_disk[j]:
            if cot == 0.0:
                continue
            s = (lay_pos[j] - z0) / cot
        else:
            # r(s)^2 = d0^2 + (1 + rho d0) c^2 with the chord c = 2 sin(rho s / 2) / rho
            c2 = (lay_pos[j] * lay_pos[j] - d0 * d0) / (1.0 + rho * d0)
            if c2 <= 0.0:
                continue
            half = 0.5 * rho * np.sqrt(c2)
            if abs(half) > 1.0:
                continue
            s = 2.0 * np.arcsin(half) / rho if rho != 0.0 else np.sqrt(c2)
        if s <= s_now + 0.5 or s >= best_s or s > s_turn:
            continue
        px, py, pz, _ = _helix_point(d0, z0, phi0, theta, kappa, a, s)
        extent = np.hypot(px, py) if lay_disk[j] else pz
        if lay_lo[j] <= extent <= lay_hi[j]:
            best_s = s
            best = j
    return best, best_s


@njit(cache=True)
def _hit_residual(state, cov, i, s_guess, pos, axes, sigma, a, dpos, h, tmp, out):
    """chi2 of hit i against the state (out[0..1]: residual, out[2..4]: S inverse, out[5]: s);
    inf when the helix misses its plane."""
    s = _plane_intersection(state[0], state[1], state[2], state[3], state[4], a,
                            pos[i, 0], pos[i, 1], pos[i, 2],
                            axes[i, 2, 0], axes[i, 2, 1], axes[i, 2, 2], s_guess)  # fmt: skip
    if not np.isfinite(s) or abs(s - s_guess) > 200.0:
        return np.inf
    r0, r1 = _residual_and_jacobian(state[0], state[1], state[2], state[3], state[4], a, s,
                                    axes[i], pos[i, 0], pos[i, 1], pos[i, 2], h)  # fmt: skip
    for rr in range(5):
        t0 = 0.0
        t1 = 0.0
        for c in range(5):
            t0 += cov[rr, c] * h[0, c]
            t1 += cov[rr, c] * h[1, c]
        tmp[rr, 0] = t0
        tmp[rr, 1] = t1
    s00 = sigma[i, 0] ** 2
    s01 = 0.0
    s11 = sigma[i, 1] ** 2
    for c in range(5):
        s00 += h[0, c] * tmp[c, 0]
        s01 += h[0, c] * tmp[c, 1]
        s11 += h[1, c] * tmp[c, 1]
    det = s00 * s11 - s01 * s01
    if not det > 0.0:
        return np.inf
    i00, i01, i11 = s11 / det, -s01 / det, s00 / det
    out[0], out[1], out[2], out[3], out[4], out[5] = r0, r1, i00, i01, i11, s
    return r0 * (i00 * r0 + i01 * r1) + r1 * (i01 * r0 + i11 * r1)


@njit(cache=True)
def _apply_update(state, cov, res, tmp):
    """Kalman update with the residual and S inverse of :func:`_hit_residual` (tmp = P H^T)."""
    r0, r1, i00, i01, i11 = res[0], res[1], res[2], res[3], res[4]
    k0 = np.empty(5)
    k1 = np.empty(5)
    for rr in range(5):
        k0[rr] = tmp[rr, 0] * i00 + tmp[rr, 1] * i01
        k1[rr] = tmp[rr, 0] * i01 + tmp[rr, 1] * i11
        state[rr] += k0[rr] * r0 + k1[rr] * r1
    for rr in range(5):
        for c in range(rr, 5):
            v = cov[rr, c] - k0[rr] * tmp[c, 0] - k1[rr] * tmp[c, 1]
            cov[rr, c] = v
            cov[c, rr] = v


@njit(cache=True)
def _update_with(state, cov, i, s_guess, pos, axes, sigma, a, dpos, h, tmp, res):
    chi2 = _hit_residual(state, cov, i, s_guess, pos, axes, sigma, a, dpos, h, tmp, res)
    if np.isfinite(chi2):
        _apply_update(state, cov, res, tmp)
    return chi2


@njit(cache=True)
def _extend_seed(seed, pos, axes, sigma, r, phi, module, hit_layer, used, lay_disk, lay_pos,
                 lay_lo, lay_hi, lay_x0, grid_start, s_lo, s_bins, phi_bins, s_bin, offsets,
                 cell_hits, a, mass, prior, chi2_cut, nb, max_holes, max_per_layer,
                 out_hits):  # fmt: skip
    """Run the CKF from one seed; writes the best candidate's hits into ``out_hits`` (its
    length bounds a candidate's hits) and returns (number of hits, chi2)."""
    max_hits = out_hits.shape[0]
    n_child = nb * (nb + 1)
    st = np.empty((nb, 5))
    cv = np.empty((nb, 5, 5))
    hl = np.empty((nb, max_hits), np.int64)
    nh = np.zeros(nb, np.int64)
    ch = np.zeros(nb)
    ho = np.zeros(nb, np.int64)
    sa = np.zeros(nb)
    ly = np.zeros(nb, np.int64)
    alive = np.zeros(nb, np.bool_)
    cst = np.empty((n_child, 5))
    ccv = np.empty((n_child, 5, 5))
    chl = np.empty((n_child, max_hits), np.int64)
    cnh = np.zeros(n_child, np.int64)
    cch = np.zeros(n_child)
    cho = np.zeros(n_child, np.int64)
    csa = np.zeros(n_child)
    cly = np.zeros(n_child, np.int64)
    dpos = np.empty((3, 5))
    h = np.empty((2, 5))
    tmp = np.empty((5, 2))
    jac = np.empty((5, 2))
    res = np.empty(6)
    cells = np.empty(4096, np.int64)
    cand = np.empty(128, np.int64)
    cand_chi2 = np.empty(128)
    best_hits = np.empty(max_hits, np.int64)
    modules_here = np.empty(max_per_layer, np.int64)
    best_n = 0
    best_chi2 = np.inf

    i0, i1, i2 = seed[0], seed[1], seed[2]
    d0, z0, phi0, theta, kappa = _seed_three(pos[i0, 0], pos[i0, 1], pos[i0, 2], pos[i1, 0],
                                             pos[i1, 1], pos[i1, 2], pos[i2, 0], pos[i2, 1],
                                             pos[i2, 2], a)  # fmt: skip
    st[0, 0], st[0, 1], st[0, 2], st[0, 3], st[0, 4] = d0, z0, phi0, theta, kappa
    for rr in range(5):
        for c in range(5):
            cv[0, rr, c] = 0.0
    cv[0, 0, 0] = prior[0] ** 2
    cv[0, 1, 1] = prior[1] ** 2
    cv[0, 2, 2] = prior[2] ** 2
    cv[0, 3, 3] = prior[3] ** 2
    cv[0, 4, 4] = max(prior[4] * abs(kappa), prior[5]) ** 2
    s_prev = 0.0
    chi2 = 0.0
    n_seed = 0
    for k in range(3):
        i = seed[k]
        if k > 0:
            _scatter(st[0], cv[0], s_prev, lay_disk[hit_layer[seed[k - 1]]],
                     lay_x0[hit_layer[seed[k - 1]]], a, mass, dpos, jac)  # fmt: skip
        c2 = _update_with(st[0], cv[0], i, s_prev + r[i] - (r[seed[k - 1]] if k > 0 else 0.0),
                          pos, axes, sigma, a, dpos, h, tmp, res)  # fmt: skip
        if not np.isfinite(c2):
            return 0, np.inf
        chi2 += c2
        s_prev = res[5]
        hl[0, n_seed] = i
        n_seed += 1
        # hits on other modules of this seed layer (overlaps), before its material
        lk = hit_layer[i]
        s_k = s_prev
        margin = 4.0
        s_here = r[i] if lay_disk[lk] else pos[i, 2]
        n_cells = _cells(grid_start, s_lo, s_bins, phi_bins, s_bin, lk, phi[i] - margin / r[i],
                         phi[i] + margin / r[i], s_here - margin, s_here + margin, cells)  # fmt: skip
        for ic in range(n_cells):
            cell = cells[ic]
            for kk in range(offsets[cell], offsets[cell + 1]):
                other = cell_hits[kk]
                if used[other] or hit_layer[other] != lk or n_seed >= max_per_layer * 3:
                    continue
                taken_already = False
                for m in range(n_seed):
                    if hit_layer[hl[0, m]] == lk and module[hl[0, m]] == module[other]:
                        taken_already = True
                if taken_already:
                    continue
                if _hit_residual(st[0], cv[0], other, s_k, pos, axes, sigma, a, dpos, h, tmp,
                                 res) < chi2_cut:  # fmt: skip
                    c2 = _update_with(st[0], cv[0], other, s_k, pos, axes, sigma, a, dpos, h,
                                      tmp, res)  # fmt: skip
                    if np.isfinite(c2):
                        hl[0, n_seed] = other
                        n_seed += 1
                        chi2 += c2
    nh[0] = n_seed
    ch[0] = chi2
    sa[0] = s_prev
    ly[0] = hit_layer[i2]
    _scatter(st[0], cv[0], s_prev, lay_disk[hit_layer[i2]], lay_x0[hit_layer[i2]], a, mass,
             dpos, jac)  # fmt: skip
    alive[0] = True
    n_alive = 1
    for _step in range(64):
        if n_alive == 0:
            break
        n_c = 0
        for j in range(nb):
            if not alive[j]:
                continue
            layer, s_l = _next_crossing(st[j], sa[j], ly[j], a, lay_disk, lay_pos, lay_lo, lay_hi)
            finished = layer < 0 or nh[j] >= max_hits - 1
            n_cand = 0
            if not finished:
                # window around the crossing from the position covariance
                px, py, pz, _ = _helix_point(st[j, 0], st[j, 1], st[j, 2], st[j, 3], st[j, 4], a, s_l)
                _position_derivatives(st[j, 0], st[j, 1], st[j, 2], st[j, 3], st[j, 4], a, s_l, dpos)
                rr_l = np.hypot(px, py)
                ephi_x, ephi_y = -py / rr_l, px / rr_l
                var_t = 0.0
                var_s = 0.0
                for m in range(5):
                    gm = ephi_x * dpos[0, m] + ephi_y * dpos[1, m]
                    if lay_disk[layer]:
                        sm = (px * dpos[0, m] + py * dpos[1, m]) / rr_l
                    else:
                        sm = dpos[2, m]
                    for n in range(5):
                        gn = ephi_x * dpos[0, n] + ephi_y * dpos[1, n]
                        if lay_disk[layer]:
                            sn = (px * dpos[0, n] + py * dpos[1, n]) / rr_l
                        else:
                            sn = dpos[2, n]
                        var_t += gm * cv[j, m, n] * gn
                        var_s += sm * cv[j, m, n] * sn
                cot = np.cos(st[j, 3]) / np.sin(st[j, 3])
                if lay_disk[layer]:
                    s_c = rr_l
                    margin = 3.0 + min(8.0 / max(abs(cot), 1e-3), 60.0)
                else:
                    s_c = pz
                    margin = 3.0 + 3.0 * abs(cot)
                dt = 4.0 * np.sqrt(max(var_t, 0.0)) + 3.0
                ds = 4.0 * np.sqrt(max(var_s, 0.0)) + margin
                phi_c = np.arctan2(py, px)
                n_cells = _cells(grid_start, s_lo, s_bins, phi_bins, s_bin, layer, phi_c - dt / rr_l,
                                 phi_c + dt / rr_l, s_c - ds, s_c + ds, cells)  # fmt: skip
                # the branch's state after the layer's material
                for m in range(5):
                    cst[n_c, m] = st[j, m]
                    for n in range(5):
                        ccv[n_c, m, n] = cv[j, m, n]
                for ic in range(n_cells):
                    cell = cells[ic]
                    for kk in range(offsets[cell], offsets[cell + 1]):
                        hit = cell_hits[kk]
                        if used[hit] or abs(_wrap(phi[hit] - phi_c)) * rr_l > dt + 5.0:
                            continue
                        c2 = _hit_residual(cst[n_c], ccv[n_c], hit, s_l, pos, axes, sigma, a,
                                           dpos, h, tmp, res)  # fmt: skip
                        if c2 < chi2_cut and n_cand < cand.shape[0]:
                            cand[n_cand] = hit
                            cand_chi2[n_cand] = c2
                            n_cand += 1
            if finished:
                if nh[j] > best_n or (nh[j] == best_n and ch[j] < best_chi2):
                    best_n = nh[j]
                    best_chi2 = ch[j]
                    for m in range(nh[j]):
                        best_hits[m] = hl[j, m]
                continue
            # children: the nb best hits, or a hole
            order = np.argsort(cand_chi2[:n_cand])
            n_take = min(n_cand, nb)
            for q in range(max(n_take, 1)):
                base = n_c
                for m in range(5):
                    cst[base, m] = st[j, m]
                    for n in range(5):
                        ccv[base, m, n] = cv[j, m, n]
                for m in range(nh[j]):
                    chl[base, m] = hl[j, m]
                cnh[base] = nh[j]
                cch[base] = ch[j]
                cho[base] = ho[j]
                csa[base] = s_l
                cly[base] = layer
                if n_take == 0:
                    cho[base] = ho[j] + 1
                else:
                    hit = cand[order[q]]
                    c2 = _update_with(cst[base], ccv[base], hit, s_l, pos, axes, sigma, a, dpos,
                                      h, tmp, res)  # fmt: skip
                    if not np.isfinite(c2):
                        continue
                    chl[base, cnh[base]] = hit
                    cnh[base] += 1
                    cch[base] += c2
                    csa[base] = res[5]
                    # more hits on other modules of the layer (overlapping modules)
                    modules_here[0] = module[hit]
                    n_here = 1
                    while n_here < modules_here.shape[0] and cnh[base] < max_hits:
                        best_o = -1
                        best_oc = chi2_cut
                        for o in range(n_cand):
                            other = cand[o]
                            seen = False
                            for m in range(n_here):
                                if module[other] == modules_here[m]:
                                    seen = True
                            if seen:
                                continue
                            co = _hit_residual(cst[base], ccv[base], other, csa[base], pos, axes,
                                               sigma, a, dpos, h, tmp, res)  # fmt: skip
                            if co < best_oc:
                                best_oc = co
                                best_o = other
                        if best_o < 0:
                            break
                        co = _update_with(cst[base], ccv[base], best_o, csa[base], pos, axes,
                                          sigma, a, dpos, h, tmp, res)  # fmt: skip
                        if not np.isfinite(co):
                            break
                        chl[base, cnh[base]] = best_o
                        cnh[base] += 1
                        cch[base] += co
                        csa[base] = max(csa[base], res[5])
                        modules_here[n_here] = module[best_o]
                        n_here += 1
                _scatter(cst[base], ccv[base], csa[base], lay_disk[layer], lay_x0[layer], a,
                         mass, dpos, jac)  # fmt: skip
                if cho[base] > max_holes:
                    if cnh[base] > best_n or (cnh[base] == best_n and cch[base] < best_chi2):
                        best_n = cnh[base]
                        best_chi2 = cch[base]
                        for m in range(cnh[base]):
                            best_hits[m] = chl[base, m]
                    continue
                n_c += 1
        # keep the nb best children: most hits, then least chi2
        n_alive = 0
        for j in range(nb):
            alive[j] = False
        taken = np.zeros(n_c, np.bool_)
        for j in range(min(nb, n_c)):
            pick = -1
            for q in range(n_c):
                if taken[q]:
                    continue
                if pick < 0 or cnh[q] > cnh[pick] or (cnh[q] == cnh[pick] and cch[q] < cch[pick]):
                    pick = q
            taken[pick] = True
            for m in range(5):
                st[j, m] = cst[pick, m]
                for n in range(5):
                    cv[j, m, n] = ccv[pick, m, n]
            for m in range(cnh[pick]):
                hl[j, m] = chl[pick, m]
            nh[j] = cnh[pick]
            ch[j] = cch[pick]
            ho[j] = cho[pick]
            sa[j] = csa[pick]
            ly[j] = cly[pick]
            alive[j] = True
            n_alive += 1
    for j in range(nb):  # candidates still alive when the step limit is reached
        if alive[j] and (nh[j] > best_n or (nh[j] == best_n and ch[j] < best_chi2)):
            best_n = nh[j]
            best_chi2 = ch[j]
            for m in range(nh[j]):
                best_hits[m] = hl[j, m]
    for m in range(best_n):
        out_hits[m] = best_hits[m]
    return best_n, best_chi2


@njit(cache=True, parallel=True)
def _extend_batch(seeds, pos, axes, sigma, r, phi, module, hit_layer, used, lay_disk, lay_pos,
                  lay_lo, lay_hi, lay_x0, grid_start, s_lo, s_bins, phi_bins, s_bin, offsets,
                  cell_hits, a, mass, prior, chi2_cut, nb, max_holes, max_per_layer, out_hits,
                  out_n, out_chi2):  # fmt: skip
    for t in prange(seeds.shape[0]):
        out_n[t] = 0
        out_chi2[t] = np.inf
        if used[seeds[t, 0]] or used[seeds[t, 1]] or used[seeds[t, 2]]:
            continue
        n, c2 = _extend_seed(seeds[t], pos, axes, sigma, r, phi, module, hit_layer, used,
                             lay_disk, lay_pos, lay_lo, lay_hi, lay_x0, grid_start, s_lo, s_bins,
                             phi_bins, s_bin, offsets, cell_hits, a, mass, prior, chi2_cut, nb,
                             max_holes, max_per_layer, out_hits[t])  # fmt: skip
        out_n[t] = n
        out_chi2[t] = c2


@njit(cache=True)
def _resolve(out_hits, out_n, out_chi2, used, track_of, next_id, min_hits, max_shared):
    """Accept a batch's candidates best first (see the module docstring); returns the next
    free track id."""
    n = out_n.shape[0]
    quality = np.empty(n)
    for t in range(n):
        ndf = max(2 * out_n[t] - 5, 1)
        quality[t] = -out_n[t] * 1000.0 + min(out_chi2[t] / ndf, 999.0)
    for t in np.argsort(quality):
        if out_n[t] < min_hits:
            continue
        shared = 0
        for m in range(out_n[t]):
            if used[out_hits[t, m]]:
                shared += 1
        if shared > max_shared or out_n[t] - shared < min_hits:
            continue
        for m in range(out_n[t]):
            hit = out_hits[t, m]
            if not used[hit]:
                used[hit] = True
                track_of[hit] = next_id
        next_id += 1
    return next_id


def find_tracks(hits: pd.DataFrame, params: CkfParams | None = None, *,
                material: MaterialLayers | None = None, threads: int | None = None,
                fit_params: FitParams | None = None) -> np.ndarray:  # fmt: skip
    """Track id (int64, >= 0) of every hit of ``hits`` (rows in order), found by the CKF.

    ``hits`` needs the module geometry columns; ``material`` gives the layer surfaces (from
    the detector description; measured on the hits when None); ``threads`` bounds numba's
    threads. Hits of no track get one-hit tracks of their own.
    """
    import numba

    params = params or CkfParams()
    params.validate()
    fit_params = fit_params or FitParams()
    n = len(hits)
    if n == 0:
        return np.zeros(0, np.int64)
    arrays = hit_arrays(hits, fit_params)
    layers = material if material is not None and material.key.size else layers_from_hits(
        hits, fit_params.radiation_lengths_per_mm)  # fmt: skip
    hit_layer = pd.Index(layers.key).get_indexer(arrays["layer"]).astype(np.int64)
    if (hit_layer < 0).any():
        layers = layers_from_hits(hits, fit_params.radiation_lengths_per_mm)
        hit_layer = pd.Index(layers.key).get_indexer(arrays["layer"]).astype(np.int64)
    pos = arrays["position"]
    r = np.hypot(pos[:, 0], pos[:, 1])
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    s = np.where(layers.disk[hit_layer], r, pos[:, 2])
    grid = build_grid(hit_layer, phi, s, layers.key.size)
    pixel = hits["pitch_v"].to_numpy() < STRIP_PITCH_V
    triples = seed_triples(layers, set(arrays["layer"][pixel].tolist()))
    a = CURVATURE_PER_TESLA_GEV * fit_params.field_tesla
    max_seeds = max(4 * n, 1000)
    seeds, truncated = _find_seeds(triples, pos[:, 0].copy(), pos[:, 1].copy(), pos[:, 2].copy(), r, phi,
                           layers.disk, layers.position, grid.layer_start, grid.s_lo, grid.s_bins,
                           grid.phi_bins, grid.s_bin, grid.offsets, grid.cell_hits, a,
                           params.seed_min_pt, params.seed_z0, params.seed_d0, params.seed_window,
                           params.seed_slope, SEED_HIT_SIGMA, max_seeds)  # fmt: skip
    if truncated:
        warnings.warn(f"CKF: more than {max_seeds} seeds; the rest of the event is not seeded",
                      stacklevel=2)  # fmt: skip
    module = hits["module_id"].to_numpy(np.int64)
    used = np.zeros(n, np.bool_)
    track_of = np.full(n, -1, np.int64)
    previous = numba.get_num_threads()
    if threads:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        next_id = 0
        for start in range(0, len(seeds), params.batch):
            batch = np.ascontiguousarray(seeds[start:start + params.batch])
            out_hits = np.empty((len(batch), MAX_HITS), np.int64)
            out_n = np.zeros(len(batch), np.int64)
            out_chi2 = np.zeros(len(batch))
            _extend_batch(batch, pos, arrays["axes"], arrays["sigma"], r, phi, module, hit_layer,
                          used, layers.disk, layers.position, layers.lo, layers.hi,
                          layers.x_over_x0, grid.layer_start, grid.s_lo, grid.s_bins,
                          grid.phi_bins, grid.s_bin, grid.offsets, grid.cell_hits, a,
                          fit_params.mass, fit_params.prior(), params.chi2_cut,
                          params.max_branches, params.max_holes, MAX_PER_LAYER, out_hits, out_n,
                          out_chi2)  # fmt: skip
            next_id = _resolve(out_hits, out_n, out_chi2, used, track_of, next_id,
                               params.min_hits, params.max_shared)  # fmt: skip
    finally:
        numba.set_num_threads(previous)
    alone = track_of < 0
    track_of[alone] = next_id + np.arange(int(alone.sum()))
    return track_of


__all__ = ["GEOMETRY_COLUMNS", "CkfParams", "find_tracks"]
