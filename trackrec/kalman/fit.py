"""Kalman track fit with a Rauch-Tung-Striebel smoother, all tracks of an event in one kernel.

State and model. The state is the five perigee parameters ``(d0, z0, phi, theta, q/pT)``
(:mod:`trackrec.kalman`) of the helix that the particle follows *after* the last crossed
layer. Between layers the field is uniform and there is no material, so the helix and its
perigee parameters do not change: the transport matrix is the identity. The material of a
layer deflects the direction at the crossing point by two independent angles with the Highland
RMS ``theta0`` (azimuth: ``theta0 / sin(theta)``, polar: ``theta0``, |p| kept, so q/pT moves
with theta); the process noise is ``Q = J diag(theta0^2 / sin^2 theta, theta0^2) J^T`` with
``J`` the derivative of the new perigee parameters by those angles at the point
(:func:`trackrec.kalman.helix._scattering_jacobian`). This is the simulator's noise model
(:mod:`trackrec.simulate.propagate`): scattering once per layer, after the layer's hits, with
``x/X0 = RADIATION_LENGTHS_PER_MM * thickness`` at normal incidence, path length growing as
``1 / max(cos(incidence), 0.1)``, a pion mass for beta.

Measurements are the hit's local (u, v) on its module plane (the plane through the hit with
normal w, from the hits table's rotation columns), errors ``pitch / sqrt(12)`` (the
simulator's uniform smearing within one pitch). The predicted position is the exact
helix-plane intersection (Newton on the arc length) and the measurement matrix its analytic
derivative.

Procedure per track (hits in flight order): a helix through the first, middle and last hits
gives the starting parameters; a forward extended Kalman filter from the innermost hit with a
wide prior (:class:`FitParams`), then an RTS smoother back to the innermost hit, whose
smoothed state is the track's perigee estimate. ``passes > 1`` repeats the filter and smoother
with the previous pass's result as the starting point (a better linearisation). chi2 is the
sum of the filter's predicted-residual chi2 of the last pass, ndf ``2 n_hits - 5``.

The kernel :func:`_fit_kernel` loops over all tracks (CSR layout: ``offsets`` into flat hit
arrays); :func:`fit_arrays` validates and calls it; :func:`fit_tracks` builds the arrays from
a hits table and a tracks table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from trackrec.errors import TrackrecError
from trackrec.kalman.helix import (
    CURVATURE_PER_TESLA_GEV,
    FIELD_TESLA,
    _helix_point,
    _plane_intersection,
    _residual_and_jacobian,
    _scattering_jacobian,
    _seed_three,
)
from trackrec.simulate.geometry import RADIATION_LENGTHS_PER_MM

PION_MASS = 0.13957  # GeV
PARAMETERS = ("d0", "z0", "phi", "theta", "qopt")
GEOMETRY_COLUMNS = tuple(f"rot_{g}{axis}" for g in "xyz" for axis in "uvw") + (
    "pitch_u", "pitch_v", "thickness")  # fmt: skip


def _param(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class FitParams:
    """Settings of the track fit (the config section ``kalman.fit``)."""

    field_tesla: float = _param(FIELD_TESLA, "Uniform magnetic field along z, in T.")
    mass: float = _param(PION_MASS, "Particle mass hypothesis for the scattering's beta, GeV.")
    radiation_lengths_per_mm: float = _param(
        RADIATION_LENGTHS_PER_MM, "Material x/X0 per mm of module thickness (the simulator's)."
    )
    passes: int = _param(1, "Filter-smoother passes; each starts from the previous result.")
    min_hits: int = _param(3, "Tracks with fewer hits are not fitted.")
    prior_d0: float = _param(5.0, "Prior sigma of d0 around the starting helix, mm.")
    prior_z0: float = _param(20.0, "Prior sigma of z0, mm.")
    prior_phi: float = _param(0.05, "Prior sigma of phi, rad.")
    prior_theta: float = _param(0.03, "Prior sigma of theta, rad.")
    prior_qopt: float = _param(0.3, "Prior sigma of q/pT relative to the starting value.")
    prior_qopt_floor: float = _param(0.02, "Smallest prior sigma of q/pT, 1/GeV.")

    def validate(self) -> None:
        if not self.field_tesla > 0 or not self.mass > 0 or self.radiation_lengths_per_mm < 0:
            raise ValueError("field_tesla and mass must be > 0, radiation_lengths_per_mm >= 0")
        if self.passes < 1 or self.min_hits < 3:
            raise ValueError("passes must be >= 1 and min_hits >= 3")
        priors = (self.prior_d0, self.prior_z0, self.prior_phi, self.prior_theta,
                  self.prior_qopt, self.prior_qopt_floor)  # fmt: skip
        if not all(p > 0 for p in priors):
            raise ValueError("prior sigmas must be > 0")

    def prior(self) -> np.ndarray:
        return np.array([self.prior_d0, self.prior_z0, self.prior_phi, self.prior_theta,
                         self.prior_qopt, self.prior_qopt_floor])  # fmt: skip


@njit(cache=True)
def _highland(p: float, beta: float, x_over_x0: float) -> float:
    if x_over_x0 <= 0.0:
        return 0.0
    return 0.0136 / (beta * p) * np.sqrt(x_over_x0) * (
        1.0 + 0.038 * np.log(x_over_x0 / (beta * beta))
    )


@njit(cache=True)
def _cholesky_solve(m, b, lower, out):
    """Solve m out = b for symmetric positive-definite 5 x 5 ``m``; False if not SPD."""
    n = m.shape[0]
    for i in range(n):
        for j in range(i + 1):
            acc = m[i, j]
            for k in range(j):
                acc -= lower[i, k] * lower[j, k]
            if i == j:
                if acc <= 0.0:
                    return False
                lower[i, i] = np.sqrt(acc)
            else:
                lower[i, j] = acc / lower[j, j]
    for col in range(b.shape[1]):
        for i in range(n):  # forward: L y = b
            acc = b[i, col]
            for k in range(i):
                acc -= lower[i, k] * out[k, col]
            out[i, col] = acc / lower[i, i]
        for i in range(n - 1, -1, -1):  # backward: L^T x = y
            acc = out[i, col]
            for k in range(i + 1, n):
                acc -= lower[k, i] * out[k, col]
            out[i, col] = acc / lower[i, i]
    return True


@njit(cache=True)
def _scatter(state, cov, s, disk, x_over_x0, a, mass, dpos, jac):
    """Add the process noise of a layer crossed at arc length ``s`` to ``cov``."""
    theta, kappa = state[3], state[4]
    sin_t = np.sin(theta)
    pt = 1.0 / max(abs(kappa), 1e-9)
    p = pt / sin_t
    beta = p / np.sqrt(p * p + mass * mass)
    rho = -a * kappa
    hh = 0.5 * rho * s
    sc = np.sin(hh) / hh if abs(hh) > 1e-4 else 1.0 - hh * hh / 6.0
    x = -state[0] * np.sin(state[2]) + s * sc * np.cos(state[2] + hh)
    y = state[0] * np.cos(state[2]) + s * sc * np.sin(state[2] + hh)
    phi_dir = state[2] + 2.0 * hh
    if disk:
        cos_inc = abs(np.cos(theta))
    else:
        rr = np.hypot(x, y)
        cos_inc = abs(np.cos(phi_dir) * x + np.sin(phi_dir) * y) * sin_t / rr if rr > 0 else 1.0
    theta0 = _highland(p, beta, x_over_x0 / max(cos_inc, 0.1))
    _scattering_jacobian(state[0], state[1], state[2], theta, kappa, a, s, dpos, jac)
    var_phi = (theta0 / sin_t) ** 2
    var_theta = theta0 * theta0
    for r in range(5):
        for c in range(r, 5):
            v = cov[r, c] + jac[r, 0] * jac[c, 0] * var_phi + jac[r, 1] * jac[c, 1] * var_theta
            cov[r, c] = v
            cov[c, r] = v


@njit(cache=True)
def _crossed_layers(state, cov, s_a, s_b, ra, za, rb, zb, layer_a, layer_b, a, mass, lay_key,
                    lay_disk, lay_pos, lay_lo, lay_hi, lay_x0, dpos, jac):  # fmt: skip
    """Scatter in every layer (other than the hits' own) that the helix crosses between arc
    lengths ``s_a`` and ``s_b`` (transverse radius and z ``ra, za`` and ``rb, zb`` there);
    returns whether any was crossed."""
    if lay_key.shape[0] == 0 or s_b <= s_a:
        return False
    d0, z0, phi0, theta, kappa = state[0], state[1], state[2], state[3], state[4]
    crossed = False
    for j in range(lay_key.shape[0]):
        if lay_key[j] == layer_a or lay_key[j] == layer_b:
            continue
        position = lay_pos[j]
        if lay_disk[j]:
            if not (min(za, zb) < position < max(za, zb)):
                continue
            f = (position - za) / (zb - za)
        else:
            if not (min(ra, rb) < position < max(ra, rb)):
                continue
            f = (position - ra) / (rb - ra)
        s_c = s_a + f * (s_b - s_a)
        xc, yc, zc, _ = _helix_point(d0, z0, phi0, theta, kappa, a, s_c)
        extent = np.hypot(xc, yc) if lay_disk[j] else zc
        if lay_lo[j] <= extent <= lay_hi[j]:
            _scatter(state, cov, s_c, lay_disk[j], lay_x0[j], a, mass, dpos, jac)
            crossed = True
    return crossed


@njit(cache=True)
def _filter_track(start, n, pos, axes, sigma, x_over_x0, layer, disk, seed, a, mass, prior,
                  lay_key, lay_disk, lay_pos, lay_lo, lay_hi, lay_x0,
                  xf, pf, pp, scattered, state, cov, h, k_gain, dpos, jac, tmp):  # fmt: skip
    """Forward filter of one track from ``seed``; returns chi2 (nan when it fails).

    Slot 0 of ``xf``/``pf`` holds the prior, slot k + 1 the state filtered with hit k;
    ``pp[k]`` is the covariance predicted at hit k and ``scattered[k]`` whether process noise
    was added between slot k and hit k.
    """
    for i in range(5):
        state[i] = seed[i]
        for j in range(5):
            cov[i, j] = 0.0
    cov[0, 0] = prior[0] ** 2
    cov[1, 1] = prior[1] ** 2
    cov[2, 2] = prior[2] ** 2
    cov[3, 3] = prior[3] ** 2
    cov[4, 4] = max(prior[4] * abs(seed[4]), prior[5]) ** 2
    for r in range(5):
        xf[0, r] = state[r]
        for c in range(5):
            pf[0, r, c] = cov[r, c]
    chi2 = 0.0
    s_prev = 0.0
    for k in range(n):
        i = start + k
        if k == 0:
            s_guess = np.hypot(pos[i, 0], pos[i, 1])
        else:
            s_guess = s_prev + np.hypot(pos[i, 0] - pos[i - 1, 0], pos[i, 1] - pos[i - 1, 1])
        s = _plane_intersection(state[0], state[1], state[2], state[3], state[4], a,
                                pos[i, 0], pos[i, 1], pos[i, 2],
                                axes[i, 2, 0], axes[i, 2, 1], axes[i, 2, 2], s_guess)  # fmt: skip
        if not np.isfinite(s):
            return np.nan
        # material between the previous hit's layer (or the perigee) and this hit
        noisy = False
        if k > 0 and layer[i] != layer[i - 1] and x_over_x0[i - 1] > 0.0:
            _scatter(state, cov, s_prev, disk[i - 1], x_over_x0[i - 1], a, mass, dpos, jac)
            noisy = True
        if k == 0 or layer[i] != layer[i - 1]:
            if k == 0:
                previous_layer, ra, za = -1, abs(state[0]), state[1]
            else:
                previous_layer = layer[i - 1]
                ra, za = np.hypot(pos[i - 1, 0], pos[i - 1, 1]), pos[i - 1, 2]
            if _crossed_layers(state, cov, s_prev, s, ra, za, np.hypot(pos[i, 0], pos[i, 1]),
                               pos[i, 2], previous_layer, layer[i], a, mass, lay_key, lay_disk,
                               lay_pos, lay_lo, lay_hi, lay_x0, dpos, jac):  # fmt: skip
                noisy = True
        scattered[k] = noisy
        for r in range(5):
            for c in range(5):
                pp[k, r, c] = cov[r, c]
        r0, r1 = _residual_and_jacobian(state[0], state[1], state[2], state[3], state[4], a, s,
                                        axes[i], pos[i, 0], pos[i, 1], pos[i, 2], h)  # fmt: skip
        # tmp = P H^T (5 x 2); S = H P H^T + V
        for r in range(5):
            t0 = 0.0
            t1 = 0.0
            for c in range(5):
                t0 += cov[r, c] * h[0, c]
                t1 += cov[r, c] * h[1, c]
            tmp[r, 0] = t0
            tmp[r, 1] = t1
        s00 = sigma[i, 0] ** 2
        s01 = 0.0
        s11 = sigma[i, 1] ** 2
        for c in range(5):
            s00 += h[0, c] * tmp[c, 0]
            s01 += h[0, c] * tmp[c, 1]
            s11 += h[1, c] * tmp[c, 1]
        det = s00 * s11 - s01 * s01
        if not det > 0.0:
            return np.nan
        i00, i01, i11 = s11 / det, -s01 / det, s00 / det
        chi2 += r0 * (i00 * r0 + i01 * r1) + r1 * (i01 * r0 + i11 * r1)
        for r in range(5):
            k_gain[r, 0] = tmp[r, 0] * i00 + tmp[r, 1] * i01
            k_gain[r, 1] = tmp[r, 0] * i01 + tmp[r, 1] * i11
            state[r] += k_gain[r, 0] * r0 + k_gain[r, 1] * r1
        # P -= K (P H^T)^T, kept symmetric
        for r in range(5):
            for c in range(r, 5):
                v = cov[r, c] - k_gain[r, 0] * tmp[c, 0] - k_gain[r, 1] * tmp[c, 1]
                cov[r, c] = v
                cov[c, r] = v
        for r in range(5):
            xf[k + 1, r] = state[r]
            for c in range(5):
                pf[k + 1, r, c] = cov[r, c]
        s_prev = s
    return chi2


@njit(cache=True)
def _smooth_track(n, xf, pf, pp, scattered, xs, ps, lower, gain_t, diff, tmp):
    """RTS smoother from the last hit back to the prior's slot (transport = identity): the
    smoothed perigee parameters of the trajectory before any material, in xs, ps."""
    for r in range(5):
        xs[r] = xf[n, r]
        for c in range(5):
            ps[r, c] = pf[n, r, c]
    for k in range(n - 1, -1, -1):
        if not scattered[k]:
            continue  # no process noise: the smoothed state carries over unchanged
        # slot k -> hit k: A = Pf[k] Pp[k]^-1, so A^T = Pp[k]^-1 Pf[k]
        if not _cholesky_solve(pp[k], pf[k], lower, gain_t):
            return False
        for r in range(5):
            diff[r] = xs[r] - xf[k, r]
        for r in range(5):
            acc = xf[k, r]
            for c in range(5):
                acc += gain_t[c, r] * diff[c]
            xs[r] = acc
        # P_s = Pf + A (P_s - Pp) A^T
        for r in range(5):
            for c in range(5):
                tmp[r, c] = ps[r, c] - pp[k, r, c]
        for r in range(5):
            for c in range(5):
                acc = 0.0
                for m in range(5):
                    acc += gain_t[m, r] * tmp[m, c]
                diff[c] = acc
            for c in range(5):
                acc = 0.0
                for m in range(5):
                    acc += diff[m] * gain_t[m, c]
                ps[r, c] = pf[k, r, c] + acc
        for r in range(5):
            for c in range(r + 1, 5):
                v = 0.5 * (ps[r, c] + ps[c, r])
                ps[r, c] = v
                ps[c, r] = v
    return True


@njit(cache=True)
def _fit_kernel(offsets, pos, axes, sigma, x_over_x0, layer, disk, lay_key, lay_disk, lay_pos,
                lay_lo, lay_hi, lay_x0, a, mass, prior, passes, min_hits,
                out_params, out_cov, out_chi2):  # fmt: skip
    n_tracks = offsets.shape[0] - 1
    max_n = 1
    for t in range(n_tracks):
        max_n = max(max_n, offsets[t + 1] - offsets[t])
    xf = np.empty((max_n + 1, 5))
    pf = np.empty((max_n + 1, 5, 5))
    pp = np.empty((max_n, 5, 5))
    scattered = np.zeros(max_n, np.bool_)
    state, seed, xs, diff = np.empty(5), np.empty(5), np.empty(5), np.empty(5)
    cov, ps, lower, gain_t, tmp55 = (np.empty((5, 5)), np.empty((5, 5)), np.zeros((5, 5)),
                                     np.empty((5, 5)), np.empty((5, 5)))  # fmt: skip
    h, k_gain, tmp = np.empty((2, 5)), np.empty((5, 2)), np.empty((5, 2))
    dpos, jac = np.empty((3, 5)), np.empty((5, 2))
    for t in range(n_tracks):
        start = offsets[t]
        n = offsets[t + 1] - start
        out_chi2[t] = np.nan
        for r in range(5):
            out_params[t, r] = np.nan
            for c in range(5):
                out_cov[t, r, c] = np.nan
        if n < min_hits:
            continue
        mid, last = start + n // 2, start + n - 1
        d0, z0, phi0, theta, kappa = _seed_three(
            pos[start, 0], pos[start, 1], pos[start, 2], pos[mid, 0], pos[mid, 1], pos[mid, 2],
            pos[last, 0], pos[last, 1], pos[last, 2], a)  # fmt: skip
        seed[0], seed[1], seed[2], seed[3], seed[4] = d0, z0, phi0, theta, kappa
        ok = np.isfinite(d0) and np.isfinite(z0) and np.isfinite(theta) and np.isfinite(kappa)
        chi2 = np.nan
        for _ in range(passes):
            if not ok:
                break
            chi2 = _filter_track(start, n, pos, axes, sigma, x_over_x0, layer, disk, seed, a,
                                 mass, prior, lay_key, lay_disk, lay_pos, lay_lo, lay_hi, lay_x0,
                                 xf, pf, pp, scattered, state, cov, h, k_gain, dpos, jac, tmp)  # fmt: skip
            if not np.isfinite(chi2):
                ok = False
                break
            if not _smooth_track(n, xf, pf, pp, scattered, xs, ps, lower, gain_t, diff, tmp55):
                ok = False
                break
            if not (0.0 < xs[3] < np.pi) or not np.isfinite(xs[4]):
                ok = False
                break
            for r in range(5):
                seed[r] = xs[r]
        if not ok:
            continue
        out_params[t, 0] = xs[0]
        out_params[t, 1] = xs[1]
        out_params[t, 2] = (xs[2] + np.pi) % (2.0 * np.pi) - np.pi
        out_params[t, 3] = xs[3]
        out_params[t, 4] = xs[4]
        for r in range(5):
            for c in range(5):
                out_cov[t, r, c] = ps[r, c]
        out_chi2[t] = chi2


@dataclass(frozen=True)
class MaterialLayers:
    """Nominal layer surfaces of a detector for the material of layers crossed without a hit:
    per layer its key ``volume_id * 1000 + layer_id``, whether it is a disk, its radius (barrel)
    or z (disk), its extent along z (barrel) or r (disk) and x/X0 at normal incidence."""

    key: np.ndarray
    disk: np.ndarray
    position: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    x_over_x0: np.ndarray

    @classmethod
    def none(cls) -> MaterialLayers:
        empty = np.zeros(0)
        return cls(np.zeros(0, np.int64), np.zeros(0, np.bool_), empty, empty, empty, empty)

    @classmethod
    def from_detector(cls, detector: pd.DataFrame,
                      radiation_lengths_per_mm: float = RADIATION_LENGTHS_PER_MM) -> MaterialLayers:  # fmt: skip
        """The layers of a detectors.csv frame (as :mod:`trackrec.simulate.geometry` sees them)."""
        from trackrec.simulate.geometry import DISK, cached_geometry

        geometry = cached_geometry(detector)
        det = geometry.detector
        n_layers = geometry.layer_kind.size
        first = np.zeros(n_layers, np.int64)
        first[geometry.module_layer[::-1]] = np.arange(len(det))[::-1]
        key = det["volume_id"].to_numpy(np.int64)[first] * 1000 \
            + det["layer_id"].to_numpy(np.int64)[first]  # fmt: skip
        thickness = np.bincount(geometry.module_layer, weights=geometry.thickness,
                                minlength=n_layers) / np.bincount(geometry.module_layer,
                                                                  minlength=n_layers)  # fmt: skip
        return cls(key=key, disk=geometry.layer_kind == DISK,
                   position=geometry.layer_position.copy(), lo=geometry.layer_lo.copy(),
                   hi=geometry.layer_hi.copy(),
                   x_over_x0=radiation_lengths_per_mm * thickness)  # fmt: skip


@dataclass(frozen=True)
class FitResult:
    """Per track: perigee parameters (n, 5), covariance (n, 5, 5), chi2 and ndf.

    Tracks that were not fitted (too few hits, or the fit failed) have NaN parameters.
    """

    params: np.ndarray
    cov: np.ndarray
    chi2: np.ndarray
    ndf: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return np.isfinite(self.params).all(axis=1)


def fit_arrays(offsets: np.ndarray, position: np.ndarray, axes: np.ndarray, sigma: np.ndarray,
               x_over_x0: np.ndarray, layer: np.ndarray, disk: np.ndarray,
               params: FitParams | None = None,
               material: MaterialLayers | None = None) -> FitResult:  # fmt: skip
    """Fit tracks given as CSR arrays: hits ``offsets[t]:offsets[t+1]`` of track t, in
    flight order; per hit its position (n, 3) mm on the module plane, the module's axes
    (n, 3, 3; rows u, v, w), measurement sigmas along u, v (n, 2) mm, material x/X0 at
    normal incidence, a layer key (scattering happens when the next hit's layer differs)
    and whether the layer is a disk (endcap). ``material``: the detector's layers, whose
    material the fit adds where the helix crosses one without a hit (none by default)."""
    params = params or FitParams()
    params.validate()
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    position = np.ascontiguousarray(position, dtype=np.float64)
    axes = np.ascontiguousarray(axes, dtype=np.float64)
    sigma = np.ascontiguousarray(sigma, dtype=np.float64)
    x_over_x0 = np.ascontiguousarray(x_over_x0, dtype=np.float64)
    layer = np.ascontiguousarray(layer, dtype=np.int64)
    disk = np.ascontiguousarray(disk, dtype=np.bool_)
    n = position.shape[0]
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != n \
            or (np.diff(offsets) < 0).any():  # fmt: skip
        raise ValueError("offsets must start at 0, never decrease and end at the number of hits")
    shapes = {"position": (position, (n, 3)), "axes": (axes, (n, 3, 3)), "sigma": (sigma, (n, 2)),
              "x_over_x0": (x_over_x0, (n,)), "layer": (layer, (n,)), "disk": (disk, (n,))}  # fmt: skip
    for name, (array, shape) in shapes.items():
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, not {array.shape}")
    for name in ("position", "axes", "sigma", "x_over_x0"):
        if not np.isfinite(shapes[name][0]).all():
            raise ValueError(f"{name} has non-finite values")
    if (sigma <= 0).any() or (x_over_x0 < 0).any():
        raise ValueError("sigma must be > 0 and x_over_x0 >= 0")
    n_tracks = offsets.size - 1
    out_params = np.empty((n_tracks, 5))
    out_cov = np.empty((n_tracks, 5, 5))
    out_chi2 = np.empty(n_tracks)
    a = CURVATURE_PER_TESLA_GEV * params.field_tesla
    material = material or MaterialLayers.none()
    m = material
    _fit_kernel(offsets, position, axes, sigma, x_over_x0, layer, disk, m.key, m.disk, m.position,
                m.lo, m.hi, m.x_over_x0, a, float(params.mass),
                params.prior(), int(params.passes), int(params.min_hits), out_params, out_cov,
                out_chi2)  # fmt: skip
    counts = np.diff(offsets)
    ndf = np.where(np.isfinite(out_chi2), 2 * counts - 5, 0).astype(np.int64)
    return FitResult(params=out_params, cov=out_cov, chi2=out_chi2, ndf=ndf)


def hit_arrays(hits: pd.DataFrame, params: FitParams | None = None) -> dict[str, np.ndarray]:
    """Per-hit fit inputs from a hits table with the geometry columns (rows as given)."""
    params = params or FitParams()
    missing = [c for c in ("x", "y", "z", "volume_id", "layer_id", *GEOMETRY_COLUMNS)
               if c not in hits.columns]  # fmt: skip
    if missing:
        raise TrackrecError(
            f"hits table lacks the module geometry columns the fit needs ({', '.join(missing)}); "
            "ingest the event with its detectors file"
        )
    axes = np.stack([hits[[f"rot_{g}{axis}" for g in "xyz"]].to_numpy(np.float64)
                     for axis in "uvw"], axis=1)  # fmt: skip
    pitch = hits[["pitch_u", "pitch_v"]].to_numpy(np.float64)
    return {
        "position": hits[["x", "y", "z"]].to_numpy(np.float64),
        "axes": axes,
        "sigma": pitch / np.sqrt(12.0),
        "x_over_x0": params.radiation_lengths_per_mm * hits["thickness"].to_numpy(np.float64),
        "layer": hits["volume_id"].to_numpy(np.int64) * 1000 + hits["layer_id"].to_numpy(np.int64),
        "disk": np.abs(axes[:, 2, 2]) > 0.5,
    }


def flight_order(position: np.ndarray, track: np.ndarray) -> np.ndarray:
    """Order of hits grouped by track, each track's hits by distance from the origin."""
    distance = np.einsum("ij,ij->i", position, position)
    return np.lexsort((distance, track))


def fit_tracks(hits: pd.DataFrame, tracks: pd.DataFrame, params: FitParams | None = None,
               material: MaterialLayers | None = None) -> tuple[np.ndarray, FitResult]:  # fmt: skip
    """Fit every track of ``tracks`` (hit_id, track_id) with hits of ``hits``.

    Returns the track ids (sorted) and their :class:`FitResult`; tracks with fewer than
    ``params.min_hits`` hits get NaN parameters. Hits are ordered by their distance from the
    origin (the flight order of particles from the beam line).
    """
    params = params or FitParams()
    arrays = hit_arrays(hits, params)
    row = pd.Index(hits["hit_id"].to_numpy()).get_indexer(tracks["hit_id"].to_numpy())
    if (row < 0).any():
        raise TrackrecError("tracks table names hits that are not in the hits table")
    track_codes, track_ids = pd.factorize(tracks["track_id"].to_numpy(), sort=True)
    order = flight_order(arrays["position"][row], track_codes)
    rows = row[order]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(track_codes, minlength=len(track_ids)))])
    result = fit_arrays(offsets, *(arrays[k][rows] for k in ("position", "axes", "sigma",
                        "x_over_x0", "layer", "disk")), params=params, material=material)  # fmt: skip
    return np.asarray(track_ids, dtype=np.int64), result


def fitted_frame(hits: pd.DataFrame, tracks: pd.DataFrame, particles: pd.DataFrame | None = None,
                 params: FitParams | None = None,
                 material: MaterialLayers | None = None) -> pd.DataFrame:  # fmt: skip
    """The ``fitted`` table (:mod:`trackrec.io.schema`) of the tracks with ``params.min_hits``
    hits or more; with ``particles`` (and truth columns in ``hits``), the majority particle's
    true perigee parameters beside the fitted ones."""
    params = params or FitParams()
    counts = tracks["track_id"].value_counts()
    keep = tracks["track_id"].map(counts).to_numpy() >= params.min_hits
    tracks = tracks.loc[keep, ["hit_id", "track_id"]]
    track_ids, result = fit_tracks(hits, tracks, params, material)
    frame = {"track_id": track_ids,
             "n_hits": counts.reindex(track_ids).to_numpy(np.int64) if len(track_ids) else
             np.zeros(0, np.int64)}  # fmt: skip
    for j, name in enumerate(PARAMETERS):
        frame[name] = result.params[:, j]
    for j, name in enumerate(PARAMETERS):
        frame[f"sigma_{name}"] = np.sqrt(result.cov[:, j, j])
    frame["chi2"] = result.chi2
    frame["ndf"] = result.ndf
    if particles is not None and "particle_id" in hits.columns:
        frame.update(_truth_columns(hits, tracks, particles, track_ids, params.field_tesla))
    return pd.DataFrame(frame)


def _truth_columns(hits: pd.DataFrame, tracks: pd.DataFrame, particles: pd.DataFrame,
                   track_ids: np.ndarray, field_tesla: float) -> dict[str, np.ndarray]:  # fmt: skip
    from trackrec.kalman.helix import perigee_parameters
    from trackrec.metrics.tracking import match_tracks

    matching = match_tracks(hits, tracks, min_track_hits=1)
    pid = np.where(matching.majority, matching.majority_particle, 0)
    pid = pd.Series(pid, index=matching.track_id).reindex(track_ids).to_numpy(np.int64)
    row = pd.Index(particles["particle_id"].to_numpy()).get_indexer(pid)
    usable = row >= 0
    if usable.any():
        chosen = particles.iloc[row[usable]]
        momentum = chosen[["px", "py", "pz"]].to_numpy(np.float64)
        charge = chosen["q"].to_numpy(np.float64)
        good = (np.hypot(momentum[:, 0], momentum[:, 1]) > 0) & (charge != 0)
        usable[np.flatnonzero(usable)[~good]] = False
    out = {"particle_id": np.where(usable, pid, 0)}
    truth = np.full((len(track_ids), 5), np.nan)
    pt = np.full(len(track_ids), np.nan)
    eta = np.full(len(track_ids), np.nan)
    if usable.any():
        chosen = particles.iloc[row[usable]]
        truth[usable] = perigee_parameters(chosen[["vx", "vy", "vz"]].to_numpy(np.float64),
                                           chosen[["px", "py", "pz"]].to_numpy(np.float64),
                                           chosen["q"].to_numpy(np.float64), field=field_tesla)  # fmt: skip
        pt[usable] = np.hypot(chosen["px"].to_numpy(np.float64), chosen["py"].to_numpy(np.float64))
        eta[usable] = np.arcsinh(chosen["pz"].to_numpy(np.float64) / pt[usable])
    for j, name in enumerate(PARAMETERS):
        out[f"true_{name}"] = truth[:, j]
    out["true_pt"] = pt
    out["true_eta"] = eta
    return out
