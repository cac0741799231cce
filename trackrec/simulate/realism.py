"""Figures that compare simulated events with real TrackML events (tests and benchmarks).

Pure functions of TrackML tables: particle kinematics, prompt vertices, per-hit cell features,
and the two-sample Kolmogorov-Smirnov critical value used as a limit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KS_C99 = 1.628  # c(alpha) of the two-sample KS test at alpha = 0.01
PROMPT_MM = 1.0  # particles produced within this distance of the beam line count as prompt
VERTEX_MIN_PARTICLES = 5  # vertices with fewer prompt particles are mostly decays


def ks_limit(n: int, m: int) -> float:
    """99 % critical value of the two-sample KS distance for samples of sizes n and m."""
    return KS_C99 * float(np.sqrt((n + m) / (n * m)))


def transverse_momentum(particles: pd.DataFrame) -> np.ndarray:
    return np.hypot(particles["px"].to_numpy(float), particles["py"].to_numpy(float))


def abs_eta(particles: pd.DataFrame) -> np.ndarray:
    pt = transverse_momentum(particles)
    return np.abs(np.arcsinh(particles["pz"].to_numpy(float) / pt))


def is_prompt(particles: pd.DataFrame) -> np.ndarray:
    return np.hypot(particles["vx"].to_numpy(float), particles["vy"].to_numpy(float)) < PROMPT_MM


def prompt_vertices(particles: pd.DataFrame) -> pd.DataFrame:
    """Positions (vx, vy, vz) shared by at least VERTEX_MIN_PARTICLES prompt particles, with n."""
    prompt = particles[is_prompt(particles)]
    counts = prompt.groupby(["vx", "vy", "vz"]).size().rename("n").reset_index()
    return counts[counts["n"] >= VERTEX_MIN_PARTICLES].reset_index(drop=True)


def noise_share(hits: pd.DataFrame, particles: pd.DataFrame) -> float:
    """Share of hits not counted in any particle's nhits (works without truth)."""
    return 1.0 - float(particles["nhits"].sum()) / len(hits)


def hit_cell_features(hits: pd.DataFrame, cells: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per hit: volume_id, n_cells, charge (sum of cell values) and noise (particle_id 0)."""
    per_hit = cells.groupby("hit_id").agg(n_cells=("value", "size"), charge=("value", "sum"))
    frame = hits[["hit_id", "volume_id"]].merge(truth[["hit_id", "particle_id"]], on="hit_id")
    frame = frame.join(per_hit, on="hit_id")
    return frame.assign(noise=frame["particle_id"] == 0)
