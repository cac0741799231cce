"""One simulated event: particles -> propagation -> digitisation -> TrackML tables.

:func:`simulate_event` is a pure function of (detector, event id, pileup, seed): its random
numbers come from ``numpy.random.SeedSequence([seed, event_id])`` alone, so an event is the
same whether it is simulated alone or as part of a larger run.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from trackrec.errors import TrackrecError
from trackrec.simulate import digitize, noise, physics
from trackrec.simulate.geometry import DetectorGeometry, cached_geometry
from trackrec.simulate.propagate import MAX_CROSSINGS, PropagatedHits, propagate
from trackrec.simulate.weights import hit_weights

# Particles produced below 150 MeV of pT are listed but leave no hits, as in TrackML events:
# in the real sample 96% of the prompt ones (22 of 23) and 79% of the secondaries have none.
PT_MIN_HITS = 0.15
HIT_COLUMNS = ["hit_id", "x", "y", "z", "volume_id", "layer_id", "module_id"]
CELL_COLUMNS = ["hit_id", "ch0", "ch1", "value"]
PARTICLE_COLUMNS = [
    "particle_id",
    "particle_type",
    "vx",
    "vy",
    "vz",
    "px",
    "py",
    "pz",
    "q",
    "nhits",
]
TRUTH_COLUMNS = ["hit_id", "particle_id", "tx", "ty", "tz", "tpx", "tpy", "tpz", "weight"]


def event_rng(seed: int, event_id: int) -> np.random.Generator:
    """The random generator of one event, independent of every other event."""
    if seed < 0 or event_id < 0:
        raise TrackrecError(
            f"seed and event id must be >= 0 (got seed {seed}, event id {event_id})"
        )
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(event_id)])))


def _propagate_particles(rng: np.random.Generator, geometry: DetectorGeometry, particles: pd.DataFrame,
                         interactions: bool) -> PropagatedHits:  # fmt: skip
    n = len(particles)
    normals = rng.standard_normal((n, MAX_CROSSINGS, 2))
    draws = rng.random((n, MAX_CROSSINGS))
    if not interactions:
        draws[:] = 1.0
    else:
        draws[~physics.can_interact(particles["particle_type"].to_numpy())] = 1.0
    propagated = propagate(
        geometry, particles[["vx", "vy", "vz"]].to_numpy(), particles[["px", "py", "pz"]].to_numpy(),
        particles["q"].to_numpy(np.float64), particles["mass"].to_numpy(), normals, draws,
        physics.NUCLEAR_PER_X0 if interactions else 0.0,
    )  # fmt: skip
    tracked = np.hypot(particles["px"].to_numpy(), particles["py"].to_numpy()) >= PT_MIN_HITS
    return _only_tracked(propagated, tracked)


def _only_tracked(propagated: PropagatedHits, tracked: np.ndarray) -> PropagatedHits:
    """Drop the crossings (and interactions) of particles that leave no hits."""
    keep = tracked[propagated.particle]
    return dataclasses.replace(
        propagated,
        particle=propagated.particle[keep],
        module=propagated.module[keep],
        position=propagated.position[keep],
        momentum=propagated.momentum[keep],
        interacted=propagated.interacted & tracked,
    )


def simulate_event(detector: pd.DataFrame | DetectorGeometry, *, event_id: int, pileup: float,
                   seed: int) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Simulate one event; returns the TrackML tables ``hits``, ``cells``, ``particles``, ``truth``.

    ``detector`` is a detectors.csv frame (e.g. :func:`trackrec.simulate.build_detector`),
    prepared once per process for each distinct content, or a geometry already prepared from
    one with :func:`prepare_geometry`.
    """
    geometry = detector if isinstance(detector, DetectorGeometry) else cached_geometry(detector)
    try:
        pileup = float(pileup)
    except (TypeError, ValueError):
        raise TrackrecError(f"pileup must be a number, not {pileup!r}") from None
    if not np.isfinite(pileup) or pileup < 0:
        raise TrackrecError(f"pileup must be a finite number >= 0, not {pileup}")
    rng = event_rng(seed, event_id)
    try:
        primaries = physics.generate_particles(rng, pileup)
    except ValueError as err:
        raise TrackrecError(str(err)) from None
    first = _propagate_particles(rng, geometry, primaries, interactions=True)
    parents = np.flatnonzero(first.interacted)
    secondaries = physics.nuclear_secondaries(
        rng, primaries["particle_id"].to_numpy()[parents], first.interaction[parents, :3],
        first.interaction[parents, 3:],
    )  # fmt: skip
    second = _propagate_particles(rng, geometry, secondaries, interactions=False)
    particles = pd.concat([primaries, secondaries], ignore_index=True)
    hit_particle = np.concatenate([first.particle, second.particle + len(primaries)])
    module = np.concatenate([first.module, second.module])
    true_pos = np.concatenate([first.position, second.position])
    true_mom = np.concatenate([first.momentum, second.momentum])
    return _digitize(rng, geometry, particles, hit_particle, module, true_pos, true_mom)


def _digitize(rng: np.random.Generator, geometry: DetectorGeometry, particles: pd.DataFrame,
              hit_particle: np.ndarray, module: np.ndarray, true_pos: np.ndarray,
              true_mom: np.ndarray) -> dict[str, pd.DataFrame]:  # fmt: skip
    direction = true_mom / np.maximum(np.linalg.norm(true_mom, axis=1), 1e-300)[:, None]
    local_pos, local_dir = digitize.to_local(geometry, module, true_pos, direction)
    local_pos[:, 2] = 0.0
    seen = digitize.registers(geometry, module, local_dir)
    hit_particle, module, true_pos, true_mom = hit_particle[seen], module[seen], true_pos[seen], true_mom[seen]
    local_pos, local_dir = local_pos[seen], local_dir[seen]
    n_true = module.size
    noise_share = noise.NOISE_FRACTION / (1.0 - noise.NOISE_FRACTION)
    n_noise = int(rng.poisson(noise_share * n_true)) if n_true else 0
    noise_module, noise_pos, noise_dir = noise.noise_hits(rng, geometry, n_noise)
    all_module = np.concatenate([module, noise_module])
    all_local = np.concatenate([local_pos, noise_pos])
    all_dir = np.concatenate([local_dir, noise_dir])
    mu, mv = digitize.smear(rng, geometry, all_module, all_local[:, 0], all_local[:, 1])
    measured = digitize.to_global(geometry, all_module, mu, mv)
    cells = digitize.make_cells(rng, geometry, all_module, all_local, all_dir)

    # TrackML order: by module (volume, layer, module), hits shuffled within a module
    order = np.lexsort((rng.random(all_module.size), all_module))
    hit_id_of = np.empty(all_module.size, np.int64)
    hit_id_of[order] = np.arange(1, all_module.size + 1)
    det = geometry.detector
    vol = det["volume_id"].to_numpy(np.int64)
    lay = det["layer_id"].to_numpy(np.int64)
    mod = det["module_id"].to_numpy(np.int64)
    hits = pd.DataFrame({
        "hit_id": hit_id_of[order], "x": measured[order, 0], "y": measured[order, 1],
        "z": measured[order, 2], "volume_id": vol[all_module[order]],
        "layer_id": lay[all_module[order]], "module_id": mod[all_module[order]],
    })  # fmt: skip

    pids = particles["particle_id"].to_numpy(np.int64)
    pt = np.hypot(particles["px"].to_numpy(), particles["py"].to_numpy())
    hit_pid = np.concatenate([pids[hit_particle], np.zeros(n_noise, np.int64)])
    true_all = np.concatenate([true_pos, measured[n_true:]])
    mom_all = np.concatenate([true_mom, np.zeros((n_noise, 3))])
    vz = np.concatenate([particles["vz"].to_numpy()[hit_particle], np.zeros(n_noise)])
    hit_pt = np.concatenate([pt[hit_particle], np.zeros(n_noise)])
    weight = hit_weights(hit_pid, true_all[:, 2], vz, hit_pt)
    truth = pd.DataFrame({
        "hit_id": hit_id_of[order], "particle_id": hit_pid[order],
        "tx": true_all[order, 0], "ty": true_all[order, 1], "tz": true_all[order, 2],
        "tpx": mom_all[order, 0], "tpy": mom_all[order, 1], "tpz": mom_all[order, 2],
        "weight": weight[order],
    })  # fmt: skip

    cell_order = np.lexsort((cells.ch1, cells.ch0, hit_id_of[cells.hit]))
    cell_frame = pd.DataFrame({
        "hit_id": hit_id_of[cells.hit][cell_order], "ch0": cells.ch0[cell_order],
        "ch1": cells.ch1[cell_order], "value": cells.value[cell_order],
    })  # fmt: skip

    nhits = np.bincount(hit_particle, minlength=len(particles)).astype(np.int64)
    out_particles = particles.assign(nhits=nhits)[PARTICLE_COLUMNS]
    out_particles = out_particles.sort_values("particle_id", kind="stable").reset_index(drop=True)
    return {"hits": hits, "cells": cell_frame, "particles": out_particles, "truth": truth}
