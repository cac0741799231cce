"""Event generator: proton-proton vertices and their charged particles at the LHC.

One hard-scatter interaction plus Poisson(pileup) minimum-bias interactions, with vertices
spread like those of real TrackML events. Each interaction produces charged hadrons and a few
leptons with a Tsallis (Hagedorn) transverse-mass spectrum above pT 100 MeV and a nearly
flat pseudorapidity density within |eta| < 4, and neutral long-lived hadrons (K0S, Lambda)
that decay in flight into two charged particles from a displaced secondary vertex.
:func:`nuclear_secondaries` makes the charged products of hadrons that interact in the
material (an effective model, tuned to the share of displaced particles in TrackML events).
Everything is drawn from the numpy ``Generator`` it is given; nothing else is random.

Particle ids follow the TrackML layout: bits 52-63 the interaction (vertex) number, 36-51 the
particle number in it, then three 12-bit fields for secondaries (generation, decay vertex,
daughter), so 0 is never used (it means noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PT_MIN = 0.1  # GeV: the particle table of TrackML events starts at 100 MeV
PT_MAX = 200.0
ETA_MAX = 4.0
# Luminous region, Gaussian, as measured in the real full TrackML events 1001 and 1003: the
# vertices with >= 5 particles within 1 mm of the beam line have standard deviations of
# 0.013-0.016 mm in x and y and 5.36-5.39 mm in z (5.46-5.66 mm over their particles).
BEAM_SPOT_XY = 0.015  # mm
BEAM_SPOT_Z = 5.4  # mm
MAX_VERTICES = 4095  # 12 bits of the particle id
DETECTOR_R = 1100.0  # mm: decays further out leave nothing to see
DETECTOR_Z = 3100.0


@dataclass(frozen=True)
class Species:
    pdg: int  # of the positive-charge state (electrons/muons: of the negative lepton)
    mass: float  # GeV
    fraction: float  # of prompt charged particles


# Prompt charged composition (pp at 13-14 TeV, ALICE/CMS identified spectra, rounded).
SPECIES: tuple[Species, ...] = (
    Species(211, 0.13957, 0.830),
    Species(321, 0.493677, 0.100),
    Species(2212, 0.938272, 0.060),
    Species(11, 0.000511, 0.007),
    Species(13, 0.105658, 0.003),
)
POSITIVE_FRACTION = 0.52  # pp collisions carry a small positive charge excess


@dataclass(frozen=True)
class InteractionModel:
    """Multiplicity and spectrum of one kind of interaction."""

    mean_charged: float  # charged particles with pT > PT_MIN, |eta| < ETA_MAX
    nbd_k: float  # negative-binomial shape of the multiplicity (fluctuations)
    temperature: float  # GeV, Tsallis T
    power: float  # Tsallis n
    k0s_decays: float  # mean K0S -> pi+ pi- decays per interaction
    lambda_decays: float  # mean Lambda (bar) -> p pi decays


# Minimum-bias T and n: the best fit (two-sample KS) to the pT of the particles within 1 mm of the
# beam line in the real full events 1001 and 1003.
MINIMUM_BIAS = InteractionModel(mean_charged=36.0, nbd_k=1.8, temperature=0.145, power=6.0,
                                k0s_decays=2.2, lambda_decays=0.8)  # fmt: skip
HARD_SCATTER = InteractionModel(mean_charged=130.0, nbd_k=4.0, temperature=0.200, power=4.5,
                                k0s_decays=6.0, lambda_decays=2.0)  # fmt: skip
ETA_CURVATURE = 0.0  # dN/deta ~ 1 - c eta^2: real prompt particles are flat to |eta| = 4

K0S_MASS, K0S_CTAU = 0.497611, 26.84  # GeV, mm
LAMBDA_MASS, LAMBDA_CTAU = 1.115683, 78.9
PION_MASS, PROTON_MASS = 0.13957, 0.938272


def _sample_tsallis_pt(
    rng: np.random.Generator, n: int, mass: np.ndarray, model: InteractionModel
) -> np.ndarray:
    """pT from dN/dpT ~ pT (1 + (mT - m)/(n T))^-n above PT_MIN (inverse CDF on a grid)."""
    grid = np.geomspace(PT_MIN, PT_MAX, 4096)
    uniform = rng.random(n)
    out = np.empty(n)
    for m in np.unique(mass):
        sel = mass == m
        mt = np.sqrt(grid * grid + m * m)
        density = grid * (1.0 + (mt - m) / (model.power * model.temperature)) ** (-model.power)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
        out[sel] = np.interp(uniform[sel] * cdf[-1], cdf, grid)
    return out


def _sample_eta(rng: np.random.Generator, n: int) -> np.ndarray:
    """eta from a plateau 1 - c eta^2 on [-ETA_MAX, ETA_MAX] (inverse CDF of |eta|, random sign)."""
    grid = np.linspace(0.0, ETA_MAX, 2049)
    cdf = grid - ETA_CURVATURE * grid**3 / 3.0
    magnitude = np.interp(rng.random(n) * cdf[-1], cdf, grid)
    return np.where(rng.random(n) < 0.5, -magnitude, magnitude)


def _momentum(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)


def _two_body_decay(rng: np.random.Generator, parent_p: np.ndarray, parent_mass: float,
                    m1: float, m2: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Isotropic two-body decays boosted to the parent's momenta: daughter momenta (n, 3) each."""
    n = parent_p.shape[0]
    pstar = np.sqrt((parent_mass**2 - (m1 + m2) ** 2) * (parent_mass**2 - (m1 - m2) ** 2)) / (
        2 * parent_mass
    )
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    energy = np.sqrt(np.sum(parent_p**2, axis=1) + parent_mass**2)
    beta = parent_p / energy[:, None]
    b2 = np.sum(beta**2, axis=1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    daughters = []
    for mass, sign in ((m1, 1.0), (m2, -1.0)):
        p_rest = sign * pstar * direction
        e_rest = np.sqrt(pstar**2 + mass**2)
        bp = np.sum(beta * p_rest, axis=1)
        coeff = (
            np.where(b2 > 0, (gamma - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0) + gamma * e_rest
        )
        daughters.append(p_rest + coeff[:, None] * beta)
    return daughters[0], daughters[1]


def _particle_id(vertex: np.ndarray, number: np.ndarray, generation: np.ndarray,
                 decay: np.ndarray, daughter: np.ndarray) -> np.ndarray:  # fmt: skip
    v = vertex.astype(np.int64)
    return (v << 52) | (number.astype(np.int64) << 36) | (generation.astype(np.int64) << 24) \
        | (decay.astype(np.int64) << 12) | daughter.astype(np.int64)  # fmt: skip


def _multiplicity(rng: np.random.Generator, model: InteractionModel, n: int) -> np.ndarray:
    k = model.nbd_k
    return rng.negative_binomial(k, k / (k + model.mean_charged), size=n)


def generate_particles(
    rng: np.random.Generator, pileup: float, *, hard_scatter: bool = True
) -> pd.DataFrame:
    """All charged particles of one bunch crossing.

    Returns a frame with the TrackML particle columns except ``nhits`` (``particle_id,
    particle_type, vx, vy, vz, px, py, pz, q``) plus ``mass``; sorted by particle id.
    """
    if not np.isfinite(pileup) or pileup < 0:
        raise ValueError(f"pileup must be a finite number >= 0, not {pileup}")
    n_pileup = int(rng.poisson(pileup)) if pileup > 0 else 0
    n_vertices = n_pileup + (1 if hard_scatter else 0)
    if n_vertices > MAX_VERTICES:
        raise ValueError(
            f"{n_vertices} interactions exceed the {MAX_VERTICES} that particle ids can encode"
        )
    if n_vertices == 0:
        return _frame(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)),
                      np.zeros(0, np.int64), np.zeros(0))  # fmt: skip
    vertex_xyz = np.stack([rng.normal(0.0, BEAM_SPOT_XY, n_vertices), rng.normal(0.0, BEAM_SPOT_XY, n_vertices),
                           rng.normal(0.0, BEAM_SPOT_Z, n_vertices)], axis=1)  # fmt: skip
    models = [HARD_SCATTER] * (1 if hard_scatter else 0) + [MINIMUM_BIAS] * n_pileup
    is_hard = np.array([m is HARD_SCATTER for m in models])
    counts = np.where(
        is_hard,
        _multiplicity(rng, HARD_SCATTER, n_vertices),
        _multiplicity(rng, MINIMUM_BIAS, n_vertices),
    )

    # prompt particles
    owner = np.repeat(np.arange(n_vertices), counts)
    n = owner.size
    fractions = np.array([s.fraction for s in SPECIES])
    species = np.searchsorted(np.cumsum(fractions) / fractions.sum(), rng.random(n), side="right")
    species = np.minimum(species, len(SPECIES) - 1)
    masses = np.array([s.mass for s in SPECIES])[species]
    pdg = np.array([s.pdg for s in SPECIES])[species]
    charge = np.where(rng.random(n) < POSITIVE_FRACTION, 1, -1)
    lepton = np.abs(pdg) < 100
    particle_type = np.where(lepton, -charge * pdg, charge * pdg)  # e-, mu- have positive codes
    pt = np.empty(n)
    hard = is_hard[owner]
    pt[hard] = _sample_tsallis_pt(rng, int(hard.sum()), masses[hard], HARD_SCATTER)
    pt[~hard] = _sample_tsallis_pt(rng, int((~hard).sum()), masses[~hard], MINIMUM_BIAS)
    momentum = _momentum(pt, _sample_eta(rng, n), rng.uniform(-np.pi, np.pi, n))
    number = np.arange(n) - np.concatenate([[0], np.cumsum(counts)[:-1]])[owner] + 1

    prompt = dict(vertex=owner, number=number, generation=np.zeros(n, np.int64), decay=np.zeros(n, np.int64),
                  daughter=np.zeros(n, np.int64), xyz=vertex_xyz[owner], p=momentum, q=charge,
                  type=particle_type, mass=masses)  # fmt: skip
    parts = [prompt]
    decay_offset = counts.copy()  # decays are numbered after the prompt particles of each vertex
    for parent_mass, ctau, d_masses, d_types, attr in (
        (K0S_MASS, K0S_CTAU, (PION_MASS, PION_MASS), (211, -211), "k0s_decays"),
        (LAMBDA_MASS, LAMBDA_CTAU, (PROTON_MASS, PION_MASS), (2212, -211), "lambda_decays"),
    ):
        means = np.where(is_hard, getattr(HARD_SCATTER, attr), getattr(MINIMUM_BIAS, attr))
        n_decays = rng.poisson(means)
        decay_owner = np.repeat(np.arange(n_vertices), n_decays)
        m = decay_owner.size
        if m == 0:
            continue
        parent_pt = np.empty(m)
        dh = is_hard[decay_owner]
        parent_pt[dh] = _sample_tsallis_pt(
            rng, int(dh.sum()), np.full(int(dh.sum()), parent_mass), HARD_SCATTER
        )
        parent_pt[~dh] = _sample_tsallis_pt(
            rng, int((~dh).sum()), np.full(int((~dh).sum()), parent_mass), MINIMUM_BIAS
        )
        parent_p = _momentum(parent_pt, _sample_eta(rng, m), rng.uniform(-np.pi, np.pi, m))
        p_mag = np.linalg.norm(parent_p, axis=1)
        flight = rng.exponential(1.0, m) * ctau * p_mag / parent_mass
        decay_xyz = vertex_xyz[decay_owner] + parent_p / p_mag[:, None] * flight[:, None]
        p1, p2 = _two_body_decay(rng, parent_p, parent_mass, *d_masses)
        antiparticle = rng.random(m) < (0.5 if attr == "k0s_decays" else 0.45)
        sign = np.where(antiparticle, -1, 1)
        local_index = np.arange(m) - np.concatenate([[0], np.cumsum(n_decays)[:-1]])[decay_owner]
        decay_number = decay_offset[decay_owner] + local_index + 1
        decay_offset = decay_offset + n_decays
        for k, (pk, mk, tk) in enumerate(
            ((p1, d_masses[0], d_types[0]), (p2, d_masses[1], d_types[1]))
        ):
            parts.append(dict(vertex=decay_owner, number=decay_number, generation=np.ones(m, np.int64),
                              decay=np.ones(m, np.int64), daughter=np.full(m, k + 1, np.int64), xyz=decay_xyz,
                              p=pk, q=sign * np.sign(tk), type=sign * tk, mass=np.full(m, mk)))  # fmt: skip
    cat = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    pt_all = np.hypot(cat["p"][:, 0], cat["p"][:, 1])
    eta_all = np.arcsinh(cat["p"][:, 2] / np.maximum(pt_all, 1e-12))
    inside = (np.hypot(cat["xyz"][:, 0], cat["xyz"][:, 1]) < DETECTOR_R) & (
        np.abs(cat["xyz"][:, 2]) < DETECTOR_Z
    )
    keep = (pt_all >= PT_MIN) & (np.abs(eta_all) <= ETA_MAX) & inside
    if cat["number"].max(initial=0) >= 1 << 16:
        raise ValueError("an interaction has more particles than particle ids can encode")
    pid = _particle_id(
        cat["vertex"] + 1, cat["number"], cat["generation"], cat["decay"], cat["daughter"]
    )
    return _frame(
        pid[keep],
        cat["type"][keep],
        cat["xyz"][keep],
        cat["p"][keep],
        cat["q"][keep],
        cat["mass"][keep],
    )


def _frame(pid: np.ndarray, ptype: np.ndarray, xyz: np.ndarray, p: np.ndarray, q: np.ndarray,
           mass: np.ndarray) -> pd.DataFrame:  # fmt: skip
    frame = pd.DataFrame({
        "particle_id": pid.astype(np.int64), "particle_type": ptype.astype(np.int64),
        "vx": xyz[:, 0], "vy": xyz[:, 1], "vz": xyz[:, 2],
        "px": p[:, 0], "py": p[:, 1], "pz": p[:, 2], "q": q.astype(np.int64), "mass": mass,
    })  # fmt: skip
    return frame.sort_values("particle_id", kind="stable").reset_index(drop=True)


# Nuclear interactions in the material (effective model): the hadron ends and 1 + Poisson
# charged secondaries leave the interaction point in random directions (isotropic: in the real
# full events, particles produced more than 1 mm from the beam line have the |eta| density of
# isotropic directions, 40 % below 0.5) with a soft, exponential momentum spectrum.
NUCLEAR_PER_X0 = 1.0  # interaction probability per unit x/X0 crossed (supports included)
NUCLEAR_EXTRA_CHARGED = 1.2  # mean charged secondaries beyond the first
NUCLEAR_SPECIES = (
    Species(211, 0.13957, 0.75),
    Species(2212, 0.938272, 0.20),
    Species(321, 0.493677, 0.05),
)
NUCLEAR_P_MEAN = 0.2  # GeV, mean momentum of a secondary (at most its parent's)


def can_interact(particle_type: np.ndarray) -> np.ndarray:
    """Hadrons interact with nuclei; electrons and muons do not."""
    return np.abs(np.asarray(particle_type)) > 100


def nuclear_secondaries(rng: np.random.Generator, parent_id: np.ndarray, point: np.ndarray,
                        momentum: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """Charged secondaries of nuclear interactions at ``point`` of parents with ``momentum``.

    Ids keep the parent's vertex and particle number, with generation + 1, the decay field
    2 + the parent's daughter field and the daughter field numbering the secondaries.
    """
    m = parent_id.size
    counts = 1 + rng.poisson(NUCLEAR_EXTRA_CHARGED, m)
    owner = np.repeat(np.arange(m), counts)
    n = owner.size
    fractions = np.array([s.fraction for s in NUCLEAR_SPECIES])
    species = np.minimum(np.searchsorted(np.cumsum(fractions) / fractions.sum(), rng.random(n), side="right"),
                         len(NUCLEAR_SPECIES) - 1)  # fmt: skip
    mass = np.array([s.mass for s in NUCLEAR_SPECIES])[species]
    pdg = np.array([s.pdg for s in NUCLEAR_SPECIES])[species]
    charge = np.where(rng.random(n) < 0.6, 1, -1)  # knocked-out protons make the excess positive
    charge = np.where(pdg == 2212, 1, charge)
    p_parent = np.linalg.norm(momentum, axis=1)[owner]
    p = np.maximum(np.minimum(rng.exponential(NUCLEAR_P_MEAN, n), p_parent), 1e-3)
    cos_t = rng.uniform(-1.0, 1.0, n)
    azimuth = rng.uniform(-np.pi, np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    direction = np.stack([sin_t * np.cos(azimuth), sin_t * np.sin(azimuth), cos_t], axis=1)
    mom = direction * p[:, None]
    parent = np.asarray(parent_id, dtype=np.int64)[owner]
    generation = ((parent >> 24) & 0xFFF) + 1
    decay = 2 + (parent & 0xFFF)
    daughter = np.arange(n) - np.concatenate([[0], np.cumsum(counts)[:-1]])[owner] + 1
    pid = (parent & ~np.int64((1 << 36) - 1)) | (generation << 24) | (decay << 12) | daughter
    pt = np.hypot(mom[:, 0], mom[:, 1])
    eta = np.arcsinh(mom[:, 2] / np.maximum(pt, 1e-12))
    keep = (pt >= PT_MIN) & (np.abs(eta) <= ETA_MAX)
    return _frame(
        pid[keep], (charge * pdg)[keep], point[owner][keep], mom[keep], charge[keep], mass[keep]
    )
