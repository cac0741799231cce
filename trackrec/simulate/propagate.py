"""Helix propagation through the detector: layer crossings, module intersections, scattering.

A charged particle in the uniform field B along z follows a helix with signed curvature
``rho = -q * 0.0003 * B / pT`` per mm (radius pT / (0.3 B) m). Positions are functions of the
transverse arc length ``t``: ``phi(t) = phi0 + rho t``, ``z(t) = z0 + t pz/pT``. Each step finds
the nearest crossing of a layer's nominal surface (:mod:`trackrec.simulate.geometry`), then
intersects the helix with the planes of the candidate modules from the layer's lookup grid
(a module is hit when the crossing lies within its trapezoid), then deflects the direction by
multiple scattering in the layer's material (Highland formula, path length growing with the
incidence angle). A hadron may end in a nuclear interaction in a layer (the caller makes the
secondaries). A particle stops after half a turn, when no layer lies ahead, or after
``max_crossings`` layers. The kernels are private; :func:`propagate` validates and wraps them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from trackrec.simulate.geometry import DISK, PHI_BINS, S_BIN_WIDTH, DetectorGeometry

FIELD_TESLA = 2.0
CURVATURE_PER_TESLA_GEV = 0.0003  # 1/mm per (T * |q| / GeV): radius[m] = pT / (0.3 B)
MAX_CROSSINGS = 64
MAX_TURN = np.pi  # a particle stops after half a turn: it would only loop back inwards
_EPS_T = 1e-4  # mm: a crossing this close to the current point is the current surface


@dataclass(frozen=True)
class PropagatedHits:
    """True crossings of sensitive module areas, in the order of each particle's flight."""

    particle: np.ndarray  # index into the particle arrays
    module: np.ndarray  # index into the geometry's modules
    position: np.ndarray  # (n, 3) mm, on the module's mid-plane
    momentum: np.ndarray  # (n, 3) GeV at the crossing
    interacted: np.ndarray  # (n_particles,) bool: ended in a nuclear interaction
    interaction: np.ndarray  # (n_particles, 6): its point (mm) and momentum (GeV) there


@njit(cache=True)
def _helix_at(x0: float, y0: float, z0: float, phi0: float, rho: float, cot: float, t: float):
    """Position and direction angle after transverse arc length ``t``."""
    h = 0.5 * rho * t
    if abs(h) < 1e-9:
        chord_half = 0.5 * t
    else:
        chord_half = np.sin(h) / rho
    x = x0 + 2.0 * np.cos(phi0 + h) * chord_half
    y = y0 + 2.0 * np.sin(phi0 + h) * chord_half
    return x, y, z0 + cot * t, phi0 + rho * t


@njit(cache=True)
def _cylinder_crossing(x0: float, y0: float, phi0: float, rho: float, radius: float) -> float:
    """Smallest arc length t > eps where the helix reaches ``radius``; inf when it never does."""
    inv = 1.0 / rho
    sphi, cphi = np.sin(phi0), np.cos(phi0)
    xc, yc = x0 - sphi * inv, y0 + cphi * inv
    d = np.hypot(xc, yc)
    rt = abs(inv)
    if d < 1e-12 or d > radius + rt or d < abs(radius - rt):
        return np.inf
    # d^2 - rt^2 written without cancellation: r0^2 - 2 (p0 . n) / rho, n = (sin, -cos)
    d2_minus_rt2 = x0 * x0 + y0 * y0 - 2.0 * (x0 * sphi - y0 * cphi) * inv
    a = (radius * radius + d2_minus_rt2) / (2.0 * d)
    hh2 = radius * radius - a * a
    hh = np.sqrt(hh2) if hh2 > 0.0 else 0.0
    best = np.inf
    for sign in (-1.0, 1.0):
        px = a * xc / d + sign * hh * (-yc) / d
        py = a * yc / d + sign * hh * xc / d
        phi_p = np.arctan2(rho * (px - xc), -rho * (py - yc))
        delta = phi_p - phi0
        if rho > 0:
            delta = delta % (2.0 * np.pi)
        else:
            delta = -((-delta) % (2.0 * np.pi))
        t = delta / rho
        if _EPS_T < t < best:
            best = t
    return best


@njit(cache=True)
def _plane_crossing(x0, y0, z0, phi0, rho, cot, t_guess, cx, cy, cz, wx, wy, wz) -> float:
    """Arc length where the helix meets the plane through c with normal w (Newton); nan if none."""
    t = t_guess
    for _ in range(8):
        x, y, z, phi = _helix_at(x0, y0, z0, phi0, rho, cot, t)
        f = (x - cx) * wx + (y - cy) * wy + (z - cz) * wz
        if abs(f) < 1e-7:
            return t
        df = np.cos(phi) * wx + np.sin(phi) * wy + cot * wz
        if abs(df) < 1e-9:
            return np.nan
        t -= f / df
    x, y, z, phi = _helix_at(x0, y0, z0, phi0, rho, cot, t)
    if abs((x - cx) * wx + (y - cy) * wy + (z - cz) * wz) < 1e-4:
        return t
    return np.nan


@njit(cache=True)
def _highland(p: float, beta: float, x_over_x0: float) -> float:
    """RMS plane scattering angle (rad) for a unit-charge particle."""
    return (
        0.0136 / (beta * p) * np.sqrt(x_over_x0) * (1.0 + 0.038 * np.log(x_over_x0 / (beta * beta)))
    )


@njit(cache=True)
def _propagate_kernel(
    vertex, momentum, charge, mass, field, scatter_normals, interaction_draws, layer_interaction,
    center, axes, half_u_min, half_u_max, half_v,
    layer_kind, layer_position, layer_lo, layer_hi, layer_x0,
    grid_s_lo, grid_s_bins, grid_cell_start, cell_offsets, cell_modules,
    phi_bins, s_bin_width, max_crossings, max_turn, max_hits,
    out_module, out_position, out_momentum, out_count, out_interaction,
):  # fmt: skip
    n_layers = layer_kind.shape[0]
    for i in range(vertex.shape[0]):
        x, y, z = vertex[i, 0], vertex[i, 1], vertex[i, 2]
        px, py, pz = momentum[i, 0], momentum[i, 1], momentum[i, 2]
        pt = np.hypot(px, py)
        p = np.sqrt(pt * pt + pz * pz)
        beta = p / np.sqrt(p * p + mass[i] * mass[i])
        phi = np.arctan2(py, px)
        q = charge[i]
        base = i * max_hits
        count = 0
        turned = 0.0
        if q == 0 or pt <= 0.0:
            out_count[i] = 0
            continue
        for crossing in range(max_crossings):
            rho = -q * CURVATURE_PER_TESLA_GEV * field / pt
            cot = pz / pt
            best_t = np.inf
            best_layer = -1
            for layer in range(n_layers):
                if layer_kind[layer] == DISK:
                    if cot == 0.0:
                        continue
                    t = (layer_position[layer] - z) / cot
                    if t <= _EPS_T or t >= best_t:
                        continue
                    hx, hy, hz, hphi = _helix_at(x, y, z, phi, rho, cot, t)
                    s = np.hypot(hx, hy)
                else:
                    t = _cylinder_crossing(x, y, phi, rho, layer_position[layer])
                    if t >= best_t:
                        continue
                    s = z + cot * t
                if layer_lo[layer] <= s <= layer_hi[layer]:
                    best_t = t
                    best_layer = layer
            if best_layer < 0 or turned + abs(rho) * best_t > max_turn:
                break
            # modules of this layer around the crossing point
            hx, hy, hz, hphi = _helix_at(x, y, z, phi, rho, cot, best_t)
            if layer_kind[best_layer] == DISK:
                s = np.hypot(hx, hy)
            else:
                s = hz
            phi_bin = int((np.arctan2(hy, hx) + np.pi) / (2.0 * np.pi) * phi_bins) % phi_bins
            s_bin = int((s - grid_s_lo[best_layer]) / s_bin_width)
            n_s = grid_s_bins[best_layer]
            if 0 <= s_bin < n_s:
                cell = grid_cell_start[best_layer] + phi_bin * n_s + s_bin
                for k in range(cell_offsets[cell], cell_offsets[cell + 1]):
                    m = cell_modules[k]
                    tm = _plane_crossing(x, y, z, phi, rho, cot, best_t,
                                         center[m, 0], center[m, 1], center[m, 2],
                                         axes[m, 2, 0], axes[m, 2, 1], axes[m, 2, 2])  # fmt: skip
                    if not (tm > _EPS_T) or turned + abs(rho) * tm > max_turn:
                        continue
                    mx, my, mz, mphi = _helix_at(x, y, z, phi, rho, cot, tm)
                    dx, dy, dz = mx - center[m, 0], my - center[m, 1], mz - center[m, 2]
                    u = dx * axes[m, 0, 0] + dy * axes[m, 0, 1] + dz * axes[m, 0, 2]
                    v = dx * axes[m, 1, 0] + dy * axes[m, 1, 1] + dz * axes[m, 1, 2]
                    hv = half_v[m]
                    if abs(v) > hv:
                        continue
                    hu = half_u_min[m] + (half_u_max[m] - half_u_min[m]) * (v + hv) / (2.0 * hv)
                    if abs(u) > hu or count >= max_hits:
                        continue
                    out_module[base + count] = m
                    out_position[base + count, 0] = mx
                    out_position[base + count, 1] = my
                    out_position[base + count, 2] = mz
                    out_momentum[base + count, 0] = pt * np.cos(mphi)
                    out_momentum[base + count, 1] = pt * np.sin(mphi)
                    out_momentum[base + count, 2] = pz
                    count += 1
            # move to the nominal crossing and scatter in the layer's material
            x, y, z, phi = hx, hy, hz, hphi
            turned += abs(rho) * best_t
            sin_theta = pt / p
            cos_theta = pz / p
            dirx, diry = np.cos(phi) * sin_theta, np.sin(phi) * sin_theta
            if layer_kind[best_layer] == DISK:
                cos_inc = abs(cos_theta)
            else:
                r = np.hypot(x, y)
                cos_inc = abs(dirx * x + diry * y) / r if r > 0 else 1.0
            path = layer_x0[best_layer] / max(cos_inc, 0.1)
            theta0 = _highland(p, beta, path)
            g1 = theta0 * scatter_normals[i, crossing, 0]
            g2 = theta0 * scatter_normals[i, crossing, 1]
            # e1 = (-sin phi, cos phi, 0), e2 = (cos phi cos theta, sin phi cos theta, -sin theta)
            nx = dirx - g1 * np.sin(phi) + g2 * np.cos(phi) * cos_theta
            ny = diry + g1 * np.cos(phi) + g2 * np.sin(phi) * cos_theta
            nz = cos_theta - g2 * sin_theta
            norm = np.sqrt(nx * nx + ny * ny + nz * nz)
            nx, ny, nz = nx / norm, ny / norm, nz / norm
            pt = p * np.hypot(nx, ny)
            pz = p * nz
            phi = np.arctan2(ny, nx)
            if pt <= 1e-6:
                break
            # nuclear interaction in the layer: the particle ends here (secondaries are made
            # by the caller from the recorded point and momentum)
            if interaction_draws[i, crossing] < layer_interaction[best_layer] / max(cos_inc, 0.1):
                out_interaction[i, 0] = 1.0
                out_interaction[i, 1] = x
                out_interaction[i, 2] = y
                out_interaction[i, 3] = z
                out_interaction[i, 4] = pt * np.cos(phi)
                out_interaction[i, 5] = pt * np.sin(phi)
                out_interaction[i, 6] = pz
                break
        out_count[i] = count


def propagate(geometry: DetectorGeometry, vertex: np.ndarray, momentum: np.ndarray,
              charge: np.ndarray, mass: np.ndarray, scatter_normals: np.ndarray,
              interaction_draws: np.ndarray | None = None, interaction_per_x0: float = 0.0,
              *, field: float = FIELD_TESLA, max_crossings: int = MAX_CROSSINGS,
              max_turn: float = MAX_TURN) -> PropagatedHits:  # fmt: skip
    """Propagate particles (vertex mm, momentum GeV, charge e, mass GeV) through ``geometry``.

    ``scatter_normals`` holds standard normal draws of shape (n, max_crossings, 2), one pair
    per layer crossing, and ``interaction_draws`` uniform draws of shape (n, max_crossings):
    the particle interacts in a layer when its draw is below ``interaction_per_x0`` times the
    layer's x/X0 along the path. The result depends only on the inputs (no hidden RNG state).
    """
    vertex = np.ascontiguousarray(vertex, dtype=np.float64)
    momentum = np.ascontiguousarray(momentum, dtype=np.float64)
    charge = np.ascontiguousarray(charge, dtype=np.float64)
    mass = np.ascontiguousarray(mass, dtype=np.float64)
    scatter_normals = np.ascontiguousarray(scatter_normals, dtype=np.float64)
    n = vertex.shape[0]
    if (
        vertex.shape != (n, 3)
        or momentum.shape != (n, 3)
        or charge.shape != (n,)
        or mass.shape != (n,)
    ):
        raise ValueError("vertex and momentum must be (n, 3); charge and mass (n,)")
    if scatter_normals.shape != (n, max_crossings, 2):
        raise ValueError(f"scatter_normals must have shape ({n}, {max_crossings}, 2)")
    if not (np.isfinite(vertex).all() and np.isfinite(momentum).all()):
        raise ValueError("vertex and momentum must be finite")
    if interaction_draws is None:
        interaction_draws = np.ones((n, max_crossings))
    interaction_draws = np.ascontiguousarray(interaction_draws, dtype=np.float64)
    if interaction_draws.shape != (n, max_crossings):
        raise ValueError(f"interaction_draws must have shape ({n}, {max_crossings})")
    layer_interaction = np.ascontiguousarray(geometry.layer_x0 * float(interaction_per_x0))
    out_interaction = np.zeros((n, 7))
    max_hits = 2 * max_crossings
    out_module = np.empty(n * max_hits, np.int64)
    out_position = np.empty((n * max_hits, 3))
    out_momentum = np.empty((n * max_hits, 3))
    out_count = np.zeros(n, np.int64)
    g = geometry
    _propagate_kernel(
        vertex, momentum, charge, mass, float(field), scatter_normals, interaction_draws,
        layer_interaction, g.center, g.axes, g.half_u_min, g.half_u_max, g.half_v,
        g.layer_kind, g.layer_position, g.layer_lo, g.layer_hi, g.layer_x0,
        g.grid_s_lo, g.grid_s_bins, g.grid_cell_start, g.cell_offsets, g.cell_modules,
        PHI_BINS, S_BIN_WIDTH, int(max_crossings), float(max_turn), int(max_hits),
        out_module, out_position, out_momentum, out_count, out_interaction,
    )  # fmt: skip
    keep = (np.arange(max_hits)[None, :] < out_count[:, None]).ravel()
    particle = np.repeat(np.arange(n, dtype=np.int64), out_count)
    return PropagatedHits(
        particle=particle,
        module=out_module[keep],
        position=out_position[keep],
        momentum=out_momentum[keep],
        interacted=out_interaction[:, 0] > 0,
        interaction=out_interaction[:, 1:].copy(),
    )
