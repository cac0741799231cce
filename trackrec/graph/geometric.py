"""Geometric graph construction: edges between hits on connected layers passing layer-pair cuts.

The construction of the Interaction Network tracking paper (DeZoort et al., Comput. Softw.
Big Sci. 5, 26 (2021), arXiv:2103.16701): a hit on layer A is joined to a hit on layer B when
(A, B) is a connected layer pair and the segment passes cuts on

* ``dphi`` = phi_B - phi_A (wrapped to [-pi, pi]) and the phi slope ``dphi / dr``, which
  bound the curvature, i.e. a minimum transverse momentum;
* ``z0`` = z_A - r_A * dz / dr, the segment's intersection with the beam line (primary
  vertices lie in a few hundred millimetres of z);
* ``deta`` = eta_B - eta_A, the difference of the hits' pseudorapidities.

Here the connected layer pairs and every cut are *derived from training events* rather than
set by hand: :func:`derive_cuts` takes the truth segments (consecutive hits, in order of
distance from the production vertex) of particles above a minimum pT, keeps the layer pairs
that carry them, and sets per-pair windows on each variable at the given quantiles (plus a
small relative margin). :func:`check_cuts` reports the fraction of those segments that pass,
which is stored with the cuts. A layer is ``volume_id * 100 + layer_id``.

:func:`build_edges` applies the cuts to one event: per layer pair, the outer layer's hits are
sorted by (eta bin, phi) and each inner hit's (deta, dphi) window is looked up with binary
searches; the candidates are then cut exactly on all variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trackrec.errors import TrackrecError
from trackrec.metrics.edges import truth_segments

CUT_VARIABLES = ("dphi", "phi_slope", "z0", "deta")
"""Variables cut on, per layer pair; each gets ``<name>_lo`` and ``<name>_hi`` arrays."""

HIT_COLUMNS = ("r", "phi", "z", "eta", "volume_id", "layer_id")


def layer_key(hits: pd.DataFrame) -> np.ndarray:
    """One integer per hit naming its layer: ``volume_id * 100 + layer_id``."""
    return hits["volume_id"].to_numpy(np.int64) * 100 + hits["layer_id"].to_numpy(np.int64)


def wrap_angle(angle: np.ndarray) -> np.ndarray:
    """Angles mapped to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2.0 * np.pi) - np.pi


def segment_variables(
    r: np.ndarray, phi: np.ndarray, z: np.ndarray, eta: np.ndarray, a: np.ndarray, b: np.ndarray
) -> dict[str, np.ndarray]:
    """The cut variables of segments from hits ``a`` to hits ``b`` (row positions)."""
    return endpoint_variables(r[a], phi[a], z[a], eta[a], r[b], phi[b], z[b], eta[b])


def endpoint_variables(
    r_a: np.ndarray, phi_a: np.ndarray, z_a: np.ndarray, eta_a: np.ndarray,
    r_b: np.ndarray, phi_b: np.ndarray, z_b: np.ndarray, eta_b: np.ndarray,
) -> dict[str, np.ndarray]:
    """The cut variables of segments given the coordinates of both ends."""
    dr = r_b - r_a
    dz = z_b - z_a
    dphi = wrap_angle(phi_b - phi_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(dr != 0, dphi / dr, np.sign(dphi) * np.inf)
        z0 = np.where(dr != 0, z_a - r_a * dz / dr, np.sign(dz) * np.inf)
    return {"dphi": dphi, "phi_slope": slope, "z0": z0, "deta": eta_b - eta_a}


def shifted_segment_variables(
    hits: pd.DataFrame, a: np.ndarray, b: np.ndarray, sigma_z: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Segment variables with each particle moved along the beam by a N(0, sigma_z) shift.

    Moving a whole particle along z is what a production vertex elsewhere in a longer
    luminous region does (to the precision the cuts need), so windows derived from shifted
    segments also hold events with a wider beam spot than the training events.
    """
    r, phi, z, eta = _hit_arrays(hits)
    if sigma_z <= 0:
        return segment_variables(r, phi, z, eta, a, b)
    _, owner = np.unique(hits["particle_id"].to_numpy()[a], return_inverse=True)
    shift = rng.normal(0.0, sigma_z, owner.max() + 1 if len(owner) else 0)[owner.ravel()]
    z_a, z_b = z[a] + shift, z[b] + shift
    return endpoint_variables(r[a], phi[a], z_a, np.arcsinh(z_a / r[a]),
                              r[b], phi[b], z_b, np.arcsinh(z_b / r[b]))


@dataclass(frozen=True)
class LayerPairCuts:
    """Connected layer pairs (inner ``layer_a`` -> outer ``layer_b``) and their windows.

    ``windows[name]`` is an ``(n_pairs, 2)`` array of ``[lo, hi]`` for each variable of
    :data:`CUT_VARIABLES`.
    """

    layer_a: np.ndarray
    layer_b: np.ndarray
    windows: dict[str, np.ndarray]
    pt_min: float

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"layer_a": self.layer_a, "layer_b": self.layer_b,
                  "pt_min": np.array(self.pt_min)}
        arrays.update({f"{name}_window": w for name, w in self.windows.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LayerPairCuts:
        missing = [k for k in ("layer_a", "layer_b", "pt_min",
                               *(f"{v}_window" for v in CUT_VARIABLES)) if k not in arrays]
        if missing:
            raise TrackrecError(f"layer-pair cuts lack array(s) {', '.join(missing)}")
        n = len(arrays["layer_a"])
        windows = {v: np.asarray(arrays[f"{v}_window"], dtype=np.float64) for v in CUT_VARIABLES}
        if len(arrays["layer_b"]) != n or any(w.shape != (n, 2) for w in windows.values()):
            raise TrackrecError("layer-pair cut arrays disagree in length")
        return cls(np.asarray(arrays["layer_a"], np.int64), np.asarray(arrays["layer_b"], np.int64),
                   windows, float(arrays["pt_min"]))

    @property
    def n_pairs(self) -> int:
        return len(self.layer_a)


def _check_hits(hits: pd.DataFrame, truth: bool = False) -> None:
    columns = list(HIT_COLUMNS) + (["particle_id", "x", "y"] if truth else [])
    missing = [c for c in columns if c not in hits.columns]
    if missing:
        raise TrackrecError(f"hits table lacks column(s) {', '.join(missing)}")


def training_segments(
    hits: pd.DataFrame, particles: pd.DataFrame, *, pt_min: float, max_abs_eta: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """Truth segments (row positions a -> b) of reconstructable particles above ``pt_min``.

    Segments inside one layer (overlapping modules) are dropped: the construction joins
    different layers only, and both hits of such a pair join the next layer anyway.
    """
    _check_hits(hits, truth=True)
    selected = (
        particles["reconstructable"].to_numpy(bool)
        & (particles["pt"].to_numpy(np.float64) > pt_min)
        & (np.abs(particles["eta"].to_numpy(np.float64)) < max_abs_eta)
    )
    a, b = truth_segments(hits, particles, selected)
    layer = layer_key(hits)
    keep = layer[a] != layer[b]
    return a[keep], b[keep]


def derive_cuts(
    events: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
    *,
    pt_min: float,
    quantile: float = 0.999,
    margin: float = 0.05,
    min_pair_fraction: float = 2e-4,
    max_abs_eta: float = 4.0,
    beam_spread_z: float = 0.0,
    seed: int = 0,
) -> LayerPairCuts:
    """Layer pairs and cut windows covering the truth segments of the training events.

    A layer pair is kept when it carries at least ``min_pair_fraction`` of all segments. Each
    window is ``[q_lo, q_hi]`` at quantiles ``(1 - quantile) / 2`` and ``(1 + quantile) / 2``
    of the pair's segments, widened by ``margin`` of its width on each side. With
    ``beam_spread_z`` > 0 (mm), each training particle is first moved along the beam by a
    Gaussian shift of that width (:func:`shifted_segment_variables`), so the cuts also hold
    events whose luminous region is longer than the training events'.
    """
    if not 0.5 < quantile <= 1.0:
        raise TrackrecError(f"quantile must lie in (0.5, 1], not {quantile}")
    if beam_spread_z < 0:
        raise TrackrecError(f"beam_spread_z must be >= 0, not {beam_spread_z}")
    rng = np.random.default_rng(seed)
    pairs, variables = [], []
    for hits, particles in events:
        a, b = training_segments(hits, particles, pt_min=pt_min, max_abs_eta=max_abs_eta)
        layer = layer_key(hits)
        pairs.append(np.stack([layer[a], layer[b]], axis=1))
        variables.append(shifted_segment_variables(hits, a, b, beam_spread_z, rng))
    if not pairs or sum(len(p) for p in pairs) == 0:
        raise TrackrecError(f"no truth segments of particles above pT {pt_min} GeV in the "
                            "training events")
    pair = np.concatenate(pairs)
    values = {v: np.concatenate([x[v] for x in variables]) for v in CUT_VARIABLES}
    unique, inverse, counts = np.unique(pair, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    kept = np.flatnonzero(counts >= max(1, min_pair_fraction * len(pair)))
    windows = {v: np.empty((len(kept), 2)) for v in CUT_VARIABLES}
    q = ((1.0 - quantile) / 2.0, (1.0 + quantile) / 2.0)
    order = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[order], np.arange(len(unique) + 1))
    for i, p in enumerate(kept):
        rows = order[starts[p]:starts[p + 1]]
        for v in CUT_VARIABLES:
            x = values[v][rows]
            x = x[np.isfinite(x)]
            lo, hi = np.quantile(x, q) if len(x) else (0.0, 0.0)
            pad = margin * (hi - lo)
            windows[v][i] = (lo - pad, hi + pad)
    return LayerPairCuts(unique[kept, 0], unique[kept, 1], windows, float(pt_min))


def _hit_arrays(hits: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(hits[c].to_numpy(np.float64) for c in ("r", "phi", "z", "eta"))


def passes(cuts: LayerPairCuts, pair_index: np.ndarray, variables: dict[str, np.ndarray]
           ) -> np.ndarray:
    """Whether each segment (of layer pair ``pair_index``) lies inside every window."""
    ok = np.ones(len(pair_index), dtype=bool)
    for v in CUT_VARIABLES:
        w = cuts.windows[v][pair_index]
        x = variables[v]
        ok &= (x >= w[:, 0]) & (x <= w[:, 1])
    return ok


def check_cuts(cuts: LayerPairCuts, hits: pd.DataFrame, particles: pd.DataFrame,
               *, max_abs_eta: float = 4.0) -> dict[str, float]:
    """Fraction of an event's truth segments (above the cuts' pT) that the cuts keep.

    ``segment_coverage``: segments on a connected layer pair that pass every window, over
    all segments between different layers.
    """
    a, b = training_segments(hits, particles, pt_min=cuts.pt_min, max_abs_eta=max_abs_eta)
    layer = layer_key(hits)
    index = _pair_index(cuts, layer[a], layer[b])
    on_pair = index >= 0
    ok = np.zeros(len(a), dtype=bool)
    variables = segment_variables(*_hit_arrays(hits), a[on_pair], b[on_pair])
    ok[on_pair] = passes(cuts, index[on_pair], variables)
    n = max(len(a), 1)
    return {"segment_coverage": float(ok.sum() / n),
            "segment_on_pairs": float(on_pair.sum() / n),
            "n_segments": float(len(a))}


def _pair_index(cuts: LayerPairCuts, la: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Index of each (la, lb) among the cuts' layer pairs; -1 when not connected."""
    big = np.int64(1_000_000)
    keys = cuts.layer_a * big + cuts.layer_b
    order = np.argsort(keys)
    query = la.astype(np.int64) * big + lb.astype(np.int64)
    pos = np.clip(np.searchsorted(keys[order], query), 0, len(keys) - 1)
    found = keys[order][pos] == query
    return np.where(found, order[pos], -1)


def _expand_ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, position) for every position in the half-open ranges [starts, stops)."""
    counts = np.maximum(stops - starts, 0)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(starts)), counts)
    offsets = np.cumsum(counts) - counts
    position = np.arange(total) - np.repeat(offsets - starts, counts)
    return owner, position


def _pair_candidates(
    phi: np.ndarray, eta: np.ndarray, inner: np.ndarray, outer: np.ndarray,
    dphi: tuple[float, float], deta: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Hit pairs (inner, outer) whose dphi and deta lie in the windows (a superset is fine)."""
    width_eta = max((deta[1] - deta[0]) / 2.0, 1e-3)
    dphi_lo, dphi_hi = max(dphi[0], -np.pi), min(dphi[1], np.pi)
    # outer hits, with copies shifted by 2 pi near the seam so windows never wrap
    phi_o, eta_o, idx_o = phi[outer], eta[outer], outer
    near_low = phi_o < -np.pi + max(dphi_hi, 0) + 1e-9
    near_high = phi_o > np.pi + min(dphi_lo, 0) - 1e-9
    phi_o = np.concatenate([phi_o, phi_o[near_low] + 2 * np.pi, phi_o[near_high] - 2 * np.pi])
    eta_o = np.concatenate([eta_o, eta_o[near_low], eta_o[near_high]])
    idx_o = np.concatenate([idx_o, idx_o[near_low], idx_o[near_high]])
    bin_o = np.floor(eta_o / width_eta).astype(np.int64)
    span = 16.0  # > the extended phi range (4 pi at most): bins never overlap in the key
    key = bin_o * span + phi_o
    order = np.argsort(key, kind="stable")
    key, idx_o = key[order], idx_o[order]

    phi_i, eta_i = phi[inner], eta[inner]
    first_bin = np.floor((eta_i + deta[0]) / width_eta).astype(np.int64)
    last_bin = np.floor((eta_i + deta[1]) / width_eta).astype(np.int64)
    owner, offset = _expand_ranges(np.zeros(len(inner), np.int64), last_bin - first_bin + 1)
    query_bin = first_bin[owner] + offset
    lo = np.searchsorted(key, query_bin * span + phi_i[owner] + dphi_lo, side="left")
    hi = np.searchsorted(key, query_bin * span + phi_i[owner] + dphi_hi, side="right")
    which, position = _expand_ranges(lo, hi)
    return inner[owner[which]], idx_o[position]


def build_edges(hits: pd.DataFrame, cuts: LayerPairCuts) -> tuple[np.ndarray, np.ndarray]:
    """Edges (row positions, inner -> outer) of the hits passing the layer-pair cuts."""
    _check_hits(hits)
    r, phi, z, eta = _hit_arrays(hits)
    layer = layer_key(hits)
    order = np.argsort(layer, kind="stable")
    layers, starts = np.unique(layer[order], return_index=True)
    stops = np.append(starts[1:], len(order))
    rows_of = {int(k): order[s:e] for k, s, e in zip(layers, starts, stops)}
    src, dst = [], []
    for i in range(cuts.n_pairs):
        inner = rows_of.get(int(cuts.layer_a[i]))
        outer = rows_of.get(int(cuts.layer_b[i]))
        if inner is None or outer is None:
            continue
        dphi_w = cuts.windows["dphi"][i]
        deta_w = cuts.windows["deta"][i]
        a, b = _pair_candidates(phi, eta, inner, outer, tuple(dphi_w), tuple(deta_w))
        if len(a) == 0:
            continue
        variables = segment_variables(r, phi, z, eta, a, b)
        ok = passes(cuts, np.full(len(a), i), variables)
        src.append(a[ok])
        dst.append(b[ok])
    if not src:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64)
