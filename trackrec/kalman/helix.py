"""Helix primitives in a uniform field along z, as numba kernels on scalars and small arrays.

A particle of charge q and transverse momentum pT turns with signed curvature
``rho = -a q/pT`` (1/mm), ``a = 0.0003 B`` (B in T, pT in GeV), the convention of
:mod:`trackrec.simulate.propagate`. From its perigee parameters
``(d0, z0, phi0, theta, kappa = q/pT)`` the position after transverse arc length ``s`` is,
with ``h = rho s / 2`` and ``S(h) = sin(h) / h``::

    x(s) = -d0 sin(phi0) + s cos(phi0 + h) S(h)
    y(s) =  d0 cos(phi0) + s sin(phi0 + h) S(h)
    z(s) =  z0 + s cot(theta)

and the direction's azimuth is ``phi0 + 2h`` (these forms stay exact as rho goes to 0). The
kernels here are building blocks of the fit and the CKF; :func:`perigee_parameters` is the
validating public wrapper that turns vertices and momenta into perigee parameters.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CURVATURE_PER_TESLA_GEV = 0.0003  # 1/mm per (T * |q| / GeV), as in the simulator
FIELD_TESLA = 2.0


@njit(cache=True)
def _sinc(h: float) -> float:
    if abs(h) < 1e-4:
        return 1.0 - h * h / 6.0
    return np.sin(h) / h


@njit(cache=True)
def _dsinc(h: float) -> float:
    """Derivative of sin(h)/h."""
    if abs(h) < 1e-3:
        return -h / 3.0 + h * h * h / 30.0
    return (h * np.cos(h) - np.sin(h)) / (h * h)


@njit(cache=True)
def _helix_point(d0, z0, phi0, theta, kappa, a, s):
    """Position (x, y, z) and direction azimuth after transverse arc length ``s``."""
    rho = -a * kappa
    h = 0.5 * rho * s
    ss = s * _sinc(h)
    c, si = np.cos(phi0 + h), np.sin(phi0 + h)
    return (-d0 * np.sin(phi0) + ss * c, d0 * np.cos(phi0) + ss * si,
            z0 + s * np.cos(theta) / np.sin(theta), phi0 + 2.0 * h)  # fmt: skip


@njit(cache=True)
def _plane_intersection(d0, z0, phi0, theta, kappa, a, cx, cy, cz, wx, wy, wz, s_guess):
    """Arc length where the helix meets the plane through c with normal w (Newton); nan if none."""
    cot = np.cos(theta) / np.sin(theta)
    s = s_guess
    for _ in range(12):
        x, y, z, phi = _helix_point(d0, z0, phi0, theta, kappa, a, s)
        f = (x - cx) * wx + (y - cy) * wy + (z - cz) * wz
        df = np.cos(phi) * wx + np.sin(phi) * wy + cot * wz
        if abs(df) < 1e-9:
            return np.nan
        step = f / df
        s -= step
        if abs(step) < 1e-7:
            return s
    x, y, z, phi = _helix_point(d0, z0, phi0, theta, kappa, a, s)
    if abs((x - cx) * wx + (y - cy) * wy + (z - cz) * wz) < 1e-4:
        return s
    return np.nan


@njit(cache=True)
def _position_derivatives(d0, z0, phi0, theta, kappa, a, s, out):
    """``out[i, j]`` = d(position i) / d(parameter j) at fixed arc length ``s`` (3 x 5)."""
    rho = -a * kappa
    h = 0.5 * rho * s
    sc, dsc = _sinc(h), _dsinc(h)
    c, si = np.cos(phi0 + h), np.sin(phi0 + h)
    sp, cp = np.sin(phi0), np.cos(phi0)
    sin_t = np.sin(theta)
    for i in range(3):
        for j in range(5):
            out[i, j] = 0.0
    out[0, 0] = -sp
    out[1, 0] = cp
    out[2, 1] = 1.0
    out[0, 2] = -d0 * cp - s * si * sc
    out[1, 2] = -d0 * sp + s * c * sc
    out[2, 3] = -s / (sin_t * sin_t)
    # d/dkappa = -a d/drho, dh/drho = s / 2
    half = 0.5 * s
    out[0, 4] = -a * s * half * (-si * sc + c * dsc)
    out[1, 4] = -a * s * half * (c * sc + si * dsc)


@njit(cache=True)
def _measurement_jacobian(d0, z0, phi0, theta, kappa, a, s, axes, dpos, out):
    """d(local u, v on the plane with rows u, v, w of ``axes``) / d(parameters), 2 x 5.

    The intersection moves along the helix as the parameters change: the total derivative
    of the position is dX/dp - T (w . dX/dp) / (w . T), T the tangent dX/ds.
    """
    _position_derivatives(d0, z0, phi0, theta, kappa, a, s, dpos)
    rho = -a * kappa
    phi = phi0 + rho * s
    tx, ty, tz = np.cos(phi), np.sin(phi), np.cos(theta) / np.sin(theta)
    wt = axes[2, 0] * tx + axes[2, 1] * ty + axes[2, 2] * tz
    ut = axes[0, 0] * tx + axes[0, 1] * ty + axes[0, 2] * tz
    vt = axes[1, 0] * tx + axes[1, 1] * ty + axes[1, 2] * tz
    for j in range(5):
        wd = axes[2, 0] * dpos[0, j] + axes[2, 1] * dpos[1, j] + axes[2, 2] * dpos[2, j]
        ds = -wd / wt
        out[0, j] = axes[0, 0] * dpos[0, j] + axes[0, 1] * dpos[1, j] + axes[0, 2] * dpos[2, j] \
            + ut * ds  # fmt: skip
        out[1, j] = axes[1, 0] * dpos[0, j] + axes[1, 1] * dpos[1, j] + axes[1, 2] * dpos[2, j] \
            + vt * ds  # fmt: skip


@njit(cache=True)
def _perigee_from_point(x, y, z, phi, theta, rho):
    """Perigee ``(d0, z0, phi0)`` of the helix through (x, y, z) with direction (phi, theta),
    and the transverse arc length ``s`` from the perigee to the point.

    The centre is C = P + n / rho (n the left normal of the direction) and the perigee's
    left normal is n0 = rho C / |rho C| = (rho x - sin phi, rho y + cos phi) / |rho C|; with
    d0 = (rho r^2 + 2 n.P) / (1 + |rho C|) nothing cancels as rho goes to 0.
    """
    sp, cp = np.sin(phi), np.cos(phi)
    nx, ny = rho * x - sp, rho * y + cp  # rho * C
    norm = np.hypot(nx, ny)
    v = -x * sp + y * cp
    d0 = (rho * (x * x + y * y) + 2.0 * v) / (1.0 + norm)
    phi0 = np.arctan2(-nx, ny)
    dphi = phi - phi0
    dphi = (dphi + np.pi) % (2.0 * np.pi) - np.pi
    px0, py0 = -d0 * np.sin(phi0), d0 * np.cos(phi0)
    if abs(dphi) > 1e-6 and rho != 0.0:
        s = dphi / rho
    else:
        s = (x - px0) * np.cos(phi0) + (y - py0) * np.sin(phi0)
    z0 = z - s * np.cos(theta) / np.sin(theta)
    return d0, z0, phi0, s


@njit(cache=True)
def _seed_three(x1, y1, z1, x2, y2, z2, x3, y3, z3, a):
    """Perigee parameters of the helix through three points in flight order."""
    ax, ay = x2 - x1, y2 - y1
    bx, by = x3 - x2, y3 - y2
    cx, cy = x3 - x1, y3 - y1
    la, lb, lc = np.hypot(ax, ay), np.hypot(bx, by), np.hypot(cx, cy)
    cross = ax * cy - ay * cx
    denominator = la * lb * lc
    rho = 2.0 * cross / denominator if denominator > 0 else 0.0
    half = 0.5 * rho * lc
    half = min(max(half, -1.0), 1.0)
    h13 = np.arcsin(half)
    s13 = 2.0 * h13 / rho if abs(rho) > 1e-12 else lc
    phi1 = np.arctan2(cy, cx) - h13
    theta = np.arctan2(s13, z3 - z1)
    d0, z0, phi0, s = _perigee_from_point(x1, y1, z1, phi1, theta, rho)
    return d0, z0, phi0, theta, -rho / a


@njit(cache=True)
def _scattering_jacobian(d0, z0, phi0, theta, kappa, a, s, dpos, out):
    """d(perigee parameters of the trajectory after the point at arc ``s``) / d(direction
    azimuth, polar angle there), 5 x 2, the point and |p| held fixed (so q/pT changes with
    theta: d kappa / d theta = -kappa cot theta)."""
    _position_derivatives(d0, z0, phi0, theta, kappa, a, s, dpos)
    rho = -a * kappa
    phi = phi0 + rho * s
    tx, ty = np.cos(phi), np.sin(phi)
    cot = np.cos(theta) / np.sin(theta)
    sin_t = np.sin(theta)
    # unknowns (dd0, dphi0, ds): transverse position fixed, direction azimuth phi0 + rho s
    m00, m01, m02 = dpos[0, 0], dpos[0, 2], tx
    m10, m11, m12 = dpos[1, 0], dpos[1, 2], ty
    m20, m21, m22 = 0.0, 1.0, rho
    det = m00 * (m11 * m22 - m12 * m21) - m01 * (m10 * m22 - m12 * m20) \
        + m02 * (m10 * m21 - m11 * m20)  # fmt: skip
    drho_dtheta = a * kappa * cot  # rho = -a kappa, dkappa/dtheta = -kappa cot
    # d(x, y)/drho = d/dkappa / (-a)
    dx_drho, dy_drho = dpos[0, 4] / -a, dpos[1, 4] / -a
    for col in range(2):
        if col == 0:
            r0, r1, r2 = 0.0, 0.0, 1.0
        else:
            r0 = -dx_drho * drho_dtheta
            r1 = -dy_drho * drho_dtheta
            r2 = -s * drho_dtheta
        # Cramer's rule
        dd0 = (r0 * (m11 * m22 - m12 * m21) - m01 * (r1 * m22 - m12 * r2)
               + m02 * (r1 * m21 - m11 * r2)) / det  # fmt: skip
        dphi0 = (m00 * (r1 * m22 - m12 * r2) - r0 * (m10 * m22 - m12 * m20)
                 + m02 * (m10 * r2 - r1 * m20)) / det  # fmt: skip
        ds = (m00 * (m11 * r2 - r1 * m21) - m01 * (m10 * r2 - r1 * m20)
              + r0 * (m10 * m21 - m11 * m20)) / det  # fmt: skip
        out[0, col] = dd0
        out[2, col] = dphi0
        if col == 0:
            out[1, col] = -cot * ds
            out[3, col] = 0.0
            out[4, col] = 0.0
        else:
            out[1, col] = -cot * ds + s / (sin_t * sin_t)
            out[3, col] = 1.0
            out[4, col] = -kappa * cot


@njit(cache=True)
def _perigee_kernel(vertex, momentum, charge, a, out):
    for i in range(vertex.shape[0]):
        px, py, pz = momentum[i, 0], momentum[i, 1], momentum[i, 2]
        pt = np.hypot(px, py)
        kappa = charge[i] / pt
        theta = np.arctan2(pt, pz)
        d0, z0, phi0, s = _perigee_from_point(vertex[i, 0], vertex[i, 1], vertex[i, 2],
                                              np.arctan2(py, px), theta, -a * kappa)  # fmt: skip
        out[i, 0], out[i, 1], out[i, 2], out[i, 3], out[i, 4] = d0, z0, phi0, theta, kappa


def perigee_parameters(vertex: np.ndarray, momentum: np.ndarray, charge: np.ndarray,
                       *, field: float = FIELD_TESLA) -> np.ndarray:  # fmt: skip
    """Perigee parameters (n, 5) of helices from vertices (n, 3) mm, momenta (n, 3) GeV and
    charges (n,) e: ``d0, z0, phi, theta, q/pT`` (see :mod:`trackrec.kalman`)."""
    vertex = np.ascontiguousarray(vertex, dtype=np.float64)
    momentum = np.ascontiguousarray(momentum, dtype=np.float64)
    charge = np.ascontiguousarray(charge, dtype=np.float64)
    n = vertex.shape[0]
    if vertex.shape != (n, 3) or momentum.shape != (n, 3) or charge.shape != (n,):
        raise ValueError("vertex and momentum must be (n, 3), charge (n,)")
    if not (np.isfinite(vertex).all() and np.isfinite(momentum).all()):
        raise ValueError("vertex and momentum must be finite")
    if (np.hypot(momentum[:, 0], momentum[:, 1]) <= 0).any() or (charge == 0).any():
        raise ValueError("perigee parameters need pT > 0 and a non-zero charge")
    out = np.empty((n, 5))
    _perigee_kernel(vertex, momentum, charge, CURVATURE_PER_TESLA_GEV * float(field), out)
    return out


@njit(cache=True)
def _residual_and_jacobian(d0, z0, phi0, theta, kappa, a, s, axes, hx, hy, hz, out_h):
    """Local (u, v) residual of the hit (hx, hy, hz) on the plane with rows u, v, w of
    ``axes`` against the helix point at arc ``s`` (measured minus predicted), and the
    measurement matrix in ``out_h``: :func:`_helix_point` and :func:`_measurement_jacobian`
    fused so that their sines and cosines are computed once."""
    rho = -a * kappa
    h = 0.5 * rho * s
    sin_h, cos_h = np.sin(h), np.cos(h)
    if abs(h) < 1e-4:
        sc = 1.0 - h * h / 6.0
    else:
        sc = sin_h / h
    if abs(h) < 1e-3:
        dsc = -h / 3.0 + h * h * h / 30.0
    else:
        dsc = (h * cos_h - sin_h) / (h * h)
    c, si = np.cos(phi0 + h), np.sin(phi0 + h)
    sp, cp = np.sin(phi0), np.cos(phi0)
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    cot = cos_t / sin_t
    dx = -d0 * sp + s * sc * c - hx
    dy = d0 * cp + s * sc * si - hy
    dz = z0 + s * cot - hz
    r0 = -(dx * axes[0, 0] + dy * axes[0, 1] + dz * axes[0, 2])
    r1 = -(dx * axes[1, 0] + dy * axes[1, 1] + dz * axes[1, 2])
    # tangent at s: direction azimuth phi0 + 2h
    tx, ty = c * cos_h - si * sin_h, si * cos_h + c * sin_h
    wt = axes[2, 0] * tx + axes[2, 1] * ty + axes[2, 2] * cot
    ut = axes[0, 0] * tx + axes[0, 1] * ty + axes[0, 2] * cot
    vt = axes[1, 0] * tx + axes[1, 1] * ty + axes[1, 2] * cot
    half = 0.5 * s
    for j in range(5):
        if j == 0:
            gx, gy, gz = -sp, cp, 0.0
        elif j == 1:
            gx, gy, gz = 0.0, 0.0, 1.0
        elif j == 2:
            gx, gy, gz = -d0 * cp - s * si * sc, -d0 * sp + s * c * sc, 0.0
        elif j == 3:
            gx, gy, gz = 0.0, 0.0, -s / (sin_t * sin_t)
        else:
            gx = -a * s * half * (-si * sc + c * dsc)
            gy = -a * s * half * (c * sc + si * dsc)
            gz = 0.0
        ds = -(axes[2, 0] * gx + axes[2, 1] * gy + axes[2, 2] * gz) / wt
        out_h[0, j] = axes[0, 0] * gx + axes[0, 1] * gy + axes[0, 2] * gz + ut * ds
        out_h[1, j] = axes[1, 0] * gx + axes[1, 1] * gy + axes[1, 2] * gz + vt * ds
    return r0, r1
