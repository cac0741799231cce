"""TrackML hit weights (the official scoring rules of the challenge).

Per hit: a pT weight of its particle (0 below 0.05 GeV, 0.2 up to 0.5 GeV, rising linearly
to 1 at 3 GeV, 1 above) times an order weight. A particle's hits are
ranked by |z - vz| (distance along the beam from its production vertex); the profile
10, 8, 6, 5, 3, 3, 3, 5, 6 is interpolated linearly over ranks 0..nhits-1 and normalised to
sum to 1 over the particle. Particles with fewer than 4 hits weigh 0; particles with more
than 20 hits use the 20-hit profile and their hits ranked 20 or later weigh 0. Noise weighs
0, and all weights are normalised to sum to 1 over the event.
"""

from __future__ import annotations

import numpy as np

ORDER_PROFILE = np.array([10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0])
MIN_HITS = 4
MAX_RANKED = 20
PT_ZERO = 0.05
PT_LOW, PT_HIGH = 0.5, 3.0
PT_LOW_WEIGHT = 0.2


def pt_weight(pt: np.ndarray) -> np.ndarray:
    """0 below 0.05 GeV, 0.2 up to 0.5 GeV, linear to 1 at 3 GeV, 1 above."""
    pt = np.asarray(pt, dtype=np.float64)
    rising = PT_LOW_WEIGHT + (1.0 - PT_LOW_WEIGHT) * (pt - PT_LOW) / (PT_HIGH - PT_LOW)
    return np.where(
        pt < PT_ZERO, 0.0, np.where(pt <= PT_LOW, PT_LOW_WEIGHT, np.minimum(rising, 1.0))
    )


def order_profile(nhits: int) -> np.ndarray:
    """Normalised order weights of the ranks 0..nhits-1 of a particle with ``nhits`` hits."""
    if nhits < MIN_HITS:
        return np.zeros(nhits)
    n = min(nhits, MAX_RANKED)
    x = np.arange(n) * (ORDER_PROFILE.size - 1) / (n - 1)
    w = np.interp(x, np.arange(ORDER_PROFILE.size), ORDER_PROFILE)
    return np.concatenate([w / w.sum(), np.zeros(nhits - n)])


def hit_weights(
    particle_id: np.ndarray, z: np.ndarray, vz: np.ndarray, pt: np.ndarray
) -> np.ndarray:
    """Weights of hits given, per hit, its particle id (0 = noise), z, and its particle's vz, pT."""
    particle_id = np.asarray(particle_id, dtype=np.int64)
    n = particle_id.size
    z, vz, pt = (np.asarray(a, dtype=np.float64) for a in (z, vz, pt))
    if not (z.shape == vz.shape == pt.shape == (n,)):
        raise ValueError("particle_id, z, vz and pt must be 1-d arrays of one length")
    weights = np.zeros(n)
    true = np.flatnonzero(particle_id != 0)
    if true.size == 0:
        return weights
    distance = np.abs(z[true] - vz[true])
    order = true[np.lexsort((distance, particle_id[true]))]
    pid_sorted = particle_id[order]
    starts = np.flatnonzero(np.concatenate([[True], pid_sorted[1:] != pid_sorted[:-1]]))
    counts = np.diff(np.concatenate([starts, [order.size]]))
    rank = np.arange(order.size) - np.repeat(starts, counts)
    nhits = np.repeat(counts, counts)
    profiles = {int(c): order_profile(int(c)) for c in np.unique(counts)}
    order_w = np.empty(order.size)
    for c, prof in profiles.items():
        sel = nhits == c
        order_w[sel] = prof[rank[sel]]
    weights[order] = order_w * pt_weight(pt[order])
    total = weights.sum()
    return weights / total if total > 0 else weights
