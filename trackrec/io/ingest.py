"""Build the ``hits`` and ``particles`` tables of one event from its TrackML frames.

Pure, vectorised functions (index look-ups, ``np.bincount`` and ``ufunc.at``, no per-hit
Python loop) over the DataFrames of :func:`trackrec.io.load_event`; the ``ingest`` command
(:mod:`trackrec.io.command`) reads the files and writes the results. Column meanings and
types are in :mod:`trackrec.io.schema`.

Conventions:

- derived quantities are computed in float64 and stored as float32;
- ``eta = asinh(z / r)`` (of the hit position) and ``asinh(pz / pt)`` (of a momentum): ±inf
  on the beam axis, NaN for a zero vector;
- a noise hit (``particle_id == 0``) has weight 0, ``q`` 0, ``nhits`` 0, and NaN for
  ``tpx, tpy, tpz, tpt, teta, vr, vz, pt`` (its truth momentum in TrackML files is filler);
  a non-noise hit whose particle is missing from the particles file gets the same
  particle-level defaults;
- a hit without cells has ``n_cells`` 0, ``charge`` 0, ``extent_u`` and ``extent_v`` 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trackrec.io.schema import HITS, PARTICLES

_MODULE_KEY = ("volume_id", "layer_id", "module_id")
_ROTATION = tuple(f"rot_{g}{axis}" for g in "xyz" for axis in "uvw")


def _lookup(keys: np.ndarray, table_keys: np.ndarray) -> np.ndarray:
    """Row of each key in ``table_keys`` (unique), -1 where absent."""
    return pd.Index(table_keys).get_indexer(keys)


def _eta(longitudinal: np.ndarray, transverse: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.arcsinh(longitudinal / transverse)


def _as_f64(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].to_numpy(dtype=np.float64)


def module_keys(volume: np.ndarray, layer: np.ndarray, module: np.ndarray) -> np.ndarray:
    """One int64 per (volume_id, layer_id, module_id), for joins (each id below 2**20)."""
    return (volume.astype(np.int64) << 42) | (layer.astype(np.int64) << 21) | module.astype(
        np.int64)


def missing_modules(hits: pd.DataFrame, detectors: pd.DataFrame) -> pd.DataFrame:
    """The distinct (volume_id, layer_id, module_id) of ``hits`` absent from ``detectors``."""
    keys = module_keys(*(hits[c].to_numpy() for c in _MODULE_KEY))
    known = module_keys(*(detectors[c].to_numpy() for c in _MODULE_KEY))
    absent = ~np.isin(keys, known)
    return hits.loc[absent, list(_MODULE_KEY)].drop_duplicates().reset_index(drop=True)


def cell_features(hit_ids: np.ndarray, cells: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-hit ``n_cells``, ``charge``, ``extent_u``, ``extent_v`` (aligned with ``hit_ids``).

    The extents are max − min + 1 of the cells' ``ch0`` (u) and ``ch1`` (v) channels: the
    cluster's span in cells, gaps included.
    """
    n = len(hit_ids)
    row = _lookup(cells["hit_id"].to_numpy(), hit_ids)
    if (row < 0).any():
        raise ValueError("cells refer to hit_ids that are not in the hits")
    n_cells = np.bincount(row, minlength=n)
    charge = np.bincount(row, weights=cells["value"].to_numpy(dtype=np.float64), minlength=n)
    out = {"n_cells": n_cells.astype(np.int32), "charge": charge.astype(np.float32)}
    for channel, name in (("ch0", "extent_u"), ("ch1", "extent_v")):
        values = cells[channel].to_numpy(dtype=np.int64)
        lo = np.full(n, np.iinfo(np.int64).max)
        hi = np.full(n, np.iinfo(np.int64).min)
        np.minimum.at(lo, row, values)
        np.maximum.at(hi, row, values)
        out[name] = np.where(n_cells > 0, hi - lo + 1, 0).astype(np.int32)
    return out


def geometry_features(hits: pd.DataFrame, detectors: pd.DataFrame) -> dict[str, np.ndarray]:
    """The rotation, pitches and thickness of each hit's module (from detectors.csv)."""
    keys = module_keys(*(hits[c].to_numpy() for c in _MODULE_KEY))
    table = module_keys(*(detectors[c].to_numpy() for c in _MODULE_KEY))
    row = _lookup(keys, table)
    if (row < 0).any():
        raise ValueError("hits on modules that are not in the detector description")
    out = {name: detectors[name].to_numpy()[row].astype(np.float32) for name in _ROTATION}
    out["pitch_u"] = detectors["pitch_u"].to_numpy()[row].astype(np.float32)
    out["pitch_v"] = detectors["pitch_v"].to_numpy()[row].astype(np.float32)
    out["thickness"] = detectors["module_t"].to_numpy()[row].astype(np.float32)
    return out


def truth_features(hit_ids: np.ndarray, truth: pd.DataFrame,
                   particles: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-hit truth columns of the hits table (see the module docstring for noise)."""
    row = _lookup(hit_ids, truth["hit_id"].to_numpy())
    if (row < 0).any() or len(truth) != len(hit_ids):
        raise ValueError("truth does not match the hits (different hit_id sets)")
    truth = truth.iloc[row]
    particle_id = truth["particle_id"].to_numpy(dtype=np.int64)
    noise = particle_id == 0
    tpx, tpy, tpz = (np.where(noise, np.nan, _as_f64(truth, c)) for c in ("tpx", "tpy", "tpz"))
    tpt = np.hypot(tpx, tpy)
    weight = np.where(noise, 0.0, _as_f64(truth, "weight"))

    prow = _lookup(particle_id, particles["particle_id"].to_numpy())
    prow[noise] = -1
    has = prow >= 0
    take = np.where(has, prow, 0)

    def from_particles(values: np.ndarray, fill: float) -> np.ndarray:
        if len(values) == 0:
            return np.full(len(hit_ids), fill)
        return np.where(has, values[take], fill)

    px, py = (_as_f64(particles, c) for c in ("px", "py"))
    vx, vy = (_as_f64(particles, c) for c in ("vx", "vy"))
    return {
        "particle_id": particle_id,
        "weight": weight.astype(np.float32),
        "tpx": tpx.astype(np.float32),
        "tpy": tpy.astype(np.float32),
        "tpz": tpz.astype(np.float32),
        "tpt": tpt.astype(np.float32),
        "teta": _eta(tpz, tpt).astype(np.float32),
        "q": from_particles(particles["q"].to_numpy(), 0).astype(np.int8),
        "nhits": from_particles(particles["nhits"].to_numpy(), 0).astype(np.int32),
        "vr": from_particles(np.hypot(vx, vy), np.nan).astype(np.float32),
        "vz": from_particles(_as_f64(particles, "vz"), np.nan).astype(np.float32),
        "pt": from_particles(np.hypot(px, py), np.nan).astype(np.float32),
        "noise": noise,
    }


def build_hits_table(hits: pd.DataFrame, cells: pd.DataFrame | None = None,
                     truth: pd.DataFrame | None = None, particles: pd.DataFrame | None = None,
                     detectors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``hits`` table: one row per hit, in the order of ``hits``.

    Cell features come with ``cells``, module geometry with ``detectors``, truth columns with
    ``truth`` (which then needs ``particles`` too). Raises ValueError when the frames do not
    fit together (the reader's checks normally catch that first, naming the file).
    """
    if truth is not None and particles is None:
        raise ValueError("truth columns need the particles too")
    hit_ids = hits["hit_id"].to_numpy(dtype=np.int64)
    x, y, z = (_as_f64(hits, c) for c in ("x", "y", "z"))
    r = np.hypot(x, y)
    columns: dict[str, np.ndarray] = {
        "hit_id": hit_ids,
        "x": x.astype(np.float32),
        "y": y.astype(np.float32),
        "z": z.astype(np.float32),
        "r": r.astype(np.float32),
        "phi": np.arctan2(y, x).astype(np.float32),
        "eta": _eta(z, r).astype(np.float32),
        "volume_id": hits["volume_id"].to_numpy().astype(np.int16),
        "layer_id": hits["layer_id"].to_numpy().astype(np.int16),
        "module_id": hits["module_id"].to_numpy().astype(np.int32),
    }
    if cells is not None:
        columns.update(cell_features(hit_ids, cells))
    if detectors is not None:
        columns.update(geometry_features(hits, detectors))
    if truth is not None:
        columns.update(truth_features(hit_ids, truth, particles))
    order = [name for name in HITS.names if name in columns]
    return pd.DataFrame({name: columns[name] for name in order})


def distinct_layers(truth: pd.DataFrame, hits: pd.DataFrame) -> pd.Series:
    """Per particle_id (non-noise), the number of distinct (volume_id, layer_id) it hits."""
    row = _lookup(truth["hit_id"].to_numpy(), hits["hit_id"].to_numpy())
    if (row < 0).any():
        raise ValueError("truth refers to hit_ids that are not in the hits")
    pairs = pd.DataFrame({
        "particle_id": truth["particle_id"].to_numpy(dtype=np.int64),
        "volume_id": hits["volume_id"].to_numpy()[row],
        "layer_id": hits["layer_id"].to_numpy()[row],
    })
    pairs = pairs[pairs["particle_id"] != 0].drop_duplicates()
    return pairs.groupby("particle_id", sort=False).size()


def build_particles_table(particles: pd.DataFrame, truth: pd.DataFrame,
                          hits: pd.DataFrame) -> pd.DataFrame:
    """The ``particles`` table: the particles file plus ``pt``, ``eta``, ``vr``,
    ``n_layers`` and ``reconstructable`` (hits on at least 3 distinct (volume, layer) pairs).
    """
    px, py, pz = (_as_f64(particles, c) for c in ("px", "py", "pz"))
    vx, vy = (_as_f64(particles, c) for c in ("vx", "vy"))
    pt = np.hypot(px, py)
    layers = distinct_layers(truth, hits)
    n_layers = layers.reindex(particles["particle_id"].to_numpy(), fill_value=0).to_numpy()
    columns: dict[str, np.ndarray] = {
        name: particles[name].to_numpy() for name in particles.columns if name in PARTICLES.names
    }
    columns.update({
        "q": particles["q"].to_numpy().astype(np.int8),
        "nhits": particles["nhits"].to_numpy().astype(np.int32),
        "pt": pt.astype(np.float32),
        "eta": _eta(pz, pt).astype(np.float32),
        "vr": np.hypot(vx, vy).astype(np.float32),
        "n_layers": n_layers.astype(np.int32),
        "reconstructable": n_layers >= 3,
    })
    order = [name for name in PARTICLES.names if name in columns]
    return pd.DataFrame({name: columns[name] for name in order})


def empty_table(table_columns: list[str], dtypes: dict[str, np.dtype]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame({name: np.empty(0, dtype=dtypes[name]) for name in table_columns})


def empty_particles_table() -> pd.DataFrame:
    """The particles table of a test event: no rows, the required columns."""
    required = PARTICLES.required_names
    return empty_table(required, {c.name: c.numpy_dtype for c in PARTICLES.columns})
