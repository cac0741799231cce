"""Slow, obvious pure-Python references of the Kalman fit, for the tests only.

Helix positions from the circle's centre, plane crossings by root bracketing (scipy's
brentq), every Jacobian by central finite differences, perigees from the centre's distance
to the beam line, and numpy's matrix inverse in the filter and the smoother: none of the
kernels' closed forms is reused.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

A = 0.0006  # 0.0003 * 2 T


def position(p: np.ndarray, s: float) -> np.ndarray:
    d0, z0, phi0, theta, kappa = p
    rho = -A * kappa
    x0, y0 = -d0 * np.sin(phi0), d0 * np.cos(phi0)
    return np.array([x0 + (np.sin(phi0 + rho * s) - np.sin(phi0)) / rho,
                     y0 - (np.cos(phi0 + rho * s) - np.cos(phi0)) / rho,
                     z0 + s / np.tan(theta)])  # fmt: skip


def crossing(p: np.ndarray, point: np.ndarray, normal: np.ndarray, guess: float) -> float:
    def f(s: float) -> float:
        return float((position(p, s) - point) @ normal)

    for width in (5.0, 20.0, 80.0, 300.0):
        lo, hi = guess - width, guess + width
        if f(lo) * f(hi) < 0:
            return brentq(f, lo, hi, xtol=1e-12)
    raise ValueError("no crossing")


def perigee(point: np.ndarray, phi: float, theta: float, kappa: float) -> np.ndarray:
    """Perigee parameters of the helix through ``point`` with direction (phi, theta)."""
    rho = -A * kappa
    radius = 1.0 / abs(rho)
    left = np.array([-np.sin(phi), np.cos(phi)])
    centre = point[:2] + left / rho
    distance = np.linalg.norm(centre)
    closest = centre - radius * centre / distance
    # direction at the closest point: along the motion (turning left when rho > 0)
    to_point = closest - centre
    tangent = np.array([-to_point[1], to_point[0]]) * np.sign(rho) / radius
    phi0 = np.arctan2(tangent[1], tangent[0])
    d0 = closest @ np.array([-np.sin(phi0), np.cos(phi0)])
    turn = (phi - phi0 + np.pi) % (2 * np.pi) - np.pi
    s = turn / rho
    return np.array([d0, point[2] - s / np.tan(theta), phi0, theta, kappa])


def seed(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """Helix through three points: circle from the perpendicular bisectors."""
    (ax, ay), (bx, by), (cx, cy) = p1[:2], p2[:2], p3[:2]
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    ux = ((ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay) + (cx**2 + cy**2) * (ay - by)) / d
    uy = ((ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx) + (cx**2 + cy**2) * (bx - ax)) / d
    radius = np.hypot(ax - ux, ay - uy)
    turning_left = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) > 0
    rho = (1.0 if turning_left else -1.0) / radius
    start = np.arctan2(ay - uy, ax - ux)
    end = np.arctan2(cy - uy, cx - ux)
    swept = ((end - start) % (2 * np.pi)) if rho > 0 else ((start - end) % (2 * np.pi))
    arc = swept * radius
    phi1 = start + np.pi / 2 if rho > 0 else start - np.pi / 2
    theta = np.arctan2(arc, p3[2] - p1[2])
    return perigee(p1, phi1, theta, -rho / A)


def local(p: np.ndarray, hit: np.ndarray, axes: np.ndarray, guess: float) -> np.ndarray:
    s = crossing(p, hit, axes[2], guess)
    return np.array([(position(p, s) - hit) @ axes[0], (position(p, s) - hit) @ axes[1]])


def numeric_jacobian(f, x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = steps[j]
        columns.append((f(x + e) - f(x - e)) / (2 * steps[j]))
    return np.stack(columns, axis=-1)


STEPS = np.array([1e-5, 1e-5, 1e-7, 1e-7, 1e-7])


def highland(p: float, beta: float, x: float) -> float:
    return 0.0136 / (beta * p) * np.sqrt(x) * (1 + 0.038 * np.log(x / beta**2))


def scattering_noise(p: np.ndarray, s: float, disk: bool, x_over_x0: float, mass: float) -> np.ndarray:
    """Q = J diag(var_phi, var_theta) J^T with J by finite differences of the perigee."""
    d0, z0, phi0, theta, kappa = p
    point = position(p, s)
    phi_dir = phi0 - A * kappa * s
    momentum = 1.0 / abs(kappa) / np.sin(theta)

    def after(angles: np.ndarray) -> np.ndarray:
        new_theta = theta + angles[1]
        new_kappa = np.sign(kappa) / (momentum * np.sin(new_theta))
        return perigee(point, phi_dir + angles[0], new_theta, new_kappa)

    jac = numeric_jacobian(after, np.zeros(2), np.array([1e-7, 1e-7]))
    beta = momentum / np.hypot(momentum, mass)
    if disk:
        cos_inc = abs(np.cos(theta))
    else:
        cos_inc = abs(np.cos(phi_dir) * point[0] + np.sin(phi_dir) * point[1]) * np.sin(theta) \
            / np.hypot(point[0], point[1])  # fmt: skip
    theta0 = highland(momentum, beta, x_over_x0 / max(cos_inc, 0.1))
    return jac @ np.diag([(theta0 / np.sin(theta)) ** 2, theta0**2]) @ jac.T


def fit_track(pos, axes, sigma, x_over_x0, layer, disk, prior, *, mass=0.13957, passes=2,
              layers=None):  # fmt: skip
    """Filter and RTS-smooth one track (hits in flight order); (params, cov, chi2)."""
    n = len(pos)
    x = seed(pos[0], pos[n // 2], pos[n - 1])
    for _ in range(passes):
        start = x.copy()
        p0 = np.diag([prior[0], prior[1], prior[2], prior[3],
                      max(prior[4] * abs(start[4]), prior[5])]) ** 2  # fmt: skip
        states, covs, predicted, noisy = [start], [p0], [], []
        state, cov, chi2, s_prev = start.copy(), p0.copy(), 0.0, 0.0
        for k in range(n):
            guess = np.hypot(*pos[0, :2]) if k == 0 else s_prev + np.hypot(*(pos[k, :2] - pos[k - 1, :2]))
            s = crossing(state, pos[k], axes[k, 2], guess)
            q = np.zeros((5, 5))
            if k > 0 and layer[k] != layer[k - 1]:
                q += scattering_noise(state, s_prev, disk[k - 1], x_over_x0[k - 1], mass)
            if layers is not None and (k == 0 or layer[k] != layer[k - 1]):
                # segment ends: the previous hit (or the perigee point) and this hit
                start_rz = (np.hypot(*pos[k - 1, :2]), pos[k - 1, 2]) if k else (abs(state[0]), state[1])
                end_rz = (np.hypot(*pos[k, :2]), pos[k, 2])
                q += crossed_noise(state, s_prev, s, start_rz, end_rz, layer[k - 1] if k else -1,
                                   layer[k], layers, mass)  # fmt: skip
            cov = cov + q
            noisy.append(bool(np.any(q != 0)))
            predicted.append(cov.copy())
            h = numeric_jacobian(lambda v, k=k, s=s: local(v, pos[k], axes[k], s), state, STEPS)
            residual = -local(state, pos[k], axes[k], s)
            big_s = h @ cov @ h.T + np.diag(sigma[k] ** 2)
            gain = cov @ h.T @ np.linalg.inv(big_s)
            chi2 += residual @ np.linalg.inv(big_s) @ residual
            state = state + gain @ residual
            cov = cov - gain @ h @ cov
            states.append(state.copy())
            covs.append(cov.copy())
            s_prev = s
        xs, ps = states[n], covs[n]
        for k in range(n - 1, -1, -1):
            if not noisy[k]:
                continue
            gain = covs[k] @ np.linalg.inv(predicted[k])
            xs = states[k] + gain @ (xs - states[k])
            ps = covs[k] + gain @ (ps - predicted[k]) @ gain.T
        x = xs
    return xs, ps, chi2


def crossed_noise(state, s_a, s_b, start_rz, end_rz, layer_a, layer_b, layers, mass) -> np.ndarray:
    """Process noise of the material layers crossed between arc lengths s_a and s_b, whose
    (r, z) are ``start_rz`` and ``end_rz``; a layer's crossing is interpolated linearly."""
    q = np.zeros((5, 5))
    for key, disk, where, lo, hi, x0 in layers:
        if key in (layer_a, layer_b):
            continue
        ends = (start_rz[1], end_rz[1]) if disk else (start_rz[0], end_rz[0])
        if not min(ends) < where < max(ends):
            continue
        s_c = s_a + (where - ends[0]) / (ends[1] - ends[0]) * (s_b - s_a)
        point = position(state, s_c)
        extent = np.hypot(*point[:2]) if disk else point[2]
        if lo <= extent <= hi:
            q += scattering_noise(state, s_c, disk, x0, mass)
    return q
