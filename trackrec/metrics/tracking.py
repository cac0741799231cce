"""Per-event tracking metrics: efficiencies, fake and duplicate rates, per-bin counts.

The threshold keys follow the learned-clustering literature: gnn_tracking's
``cluster_metrics`` (the object-condensation and GNN tracking papers quote its
``double_majority``, ``perfect``, ``lhc`` and ``fake_double_majority``), checked against that
project's published hand-made cases in ``tests/test_metrics_literature.py``. Where we differ
from it, the difference is named below. Terms used throughout:

* a **track** is a group of hits sharing a ``track_id`` in the tracks table, with at least
  ``min_track_hits`` hits (the literature's ``predicted_count_thld``); smaller groups are
  dropped before every track metric and their hits count as unassigned (the official
  ``trackml_score`` alone scores the tracks as given, so it equals ``trackrec score`` on the
  same file). ``trackrec evaluate`` makes every hit left out of the tracks file a track of
  its own, which ``min_track_hits >= 2`` drops; the literature ignores such hits (label -1);
* a **particle's hits** are all its hits in the hits table (the whole event), whatever the
  tracks cover;
* a track's **majority particle** is the non-noise particle with the most hits in the track
  (ties: the smallest ``particle_id``, as the literature's ordering also gives); a track of
  noise only has none. A track is **noise-majority** when its noise hits are at least as many
  as its majority particle's: the literature takes noise (``particle_id`` 0, the smallest id)
  as such a track's majority "particle", so it never belongs to a particle of interest;
* a track is **double-majority (DM) matched** to its majority particle when more than 50% of
  the track's hits are from the particle and more than 50% of the particle's hits are in the
  track; **perfectly matched** when the track holds all of the particle's hits and nothing
  else (exact; the literature asks for more than 99% purity, which differs only for tracks of
  more than 100 hits); **LHC matched** when strictly more than 75% of the track's hits are
  from the particle; **majority matched** when more than 50% are;
* the **particles of interest** at threshold ``t`` are the rows of the particles table that
  are ``reconstructable`` (>= 3 hits on distinct layers), have ``|eta| < max_abs_eta`` and
  ``pt >= t`` (GeV; ``>=`` as in the literature, so a particle exactly at the threshold is of
  interest);
* the **selected tracks** at ``t`` are the tracks whose majority particle is a particle of
  interest at ``t`` and which are not noise-majority. The literature's fake rate and LHC
  efficiency are fractions of these: a track of a particle below the threshold, of a
  non-reconstructable particle or of noise is neither a fake nor a good track at ``t``.

Ratios with an empty denominator are NaN (written to JSON as ``null``): "no particles of
interest" is a different statement from "none of them was found".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trackrec.metrics.score import (
    require_columns,
    require_unique,
    score_event,
    submission_positions,
    track_particle_pairs,
)

DEFAULT_PT_THRESHOLDS = (0.0, 0.5, 0.9, 1.5)
PT_BIN_EDGES = (0.0, 0.3, 0.5, 0.7, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, math.inf)
ETA_BIN_EDGES = tuple(np.round(np.arange(-4.0, 4.0 + 0.25, 0.5), 6).tolist())
ETA_BINS_MIN_PT = 0.9
#: Per-bin count kinds: particles (and those DM / perfectly matched), selected tracks (and
#: those not DM matched), majority-matched tracks and their distinct particles.
PARTICLE_COUNT_KINDS = ("particles", "dm", "perfect")
TRACK_COUNT_KINDS = ("tracks", "fake_tracks", "majority_tracks", "majority_particles")
COUNT_KINDS = PARTICLE_COUNT_KINDS + TRACK_COUNT_KINDS

HITS_TRUTH_COLUMNS = ("hit_id", "particle_id")
PARTICLE_COLUMNS = ("particle_id", "pt", "eta", "reconstructable")


@dataclass(frozen=True)
class TrackMatching:
    """Each kept track's size and majority particle, with the matching flags.

    All arrays have one entry per track (tracks of at least ``min_track_hits`` hits).
    ``majority_particle`` is 0 for a track of noise only; ``noise_hits`` counts the track's
    noise hits.
    """

    track_id: np.ndarray
    size: np.ndarray
    majority_particle: np.ndarray
    majority_hits: np.ndarray
    majority_particle_size: np.ndarray
    noise_hits: np.ndarray

    @property
    def double_majority(self) -> np.ndarray:
        return (
            (self.majority_particle != 0)
            & (2 * self.majority_hits > self.size)
            & (2 * self.majority_hits > self.majority_particle_size)
        )

    @property
    def majority(self) -> np.ndarray:
        return (self.majority_particle != 0) & (2 * self.majority_hits > self.size)

    @property
    def perfect(self) -> np.ndarray:
        return (
            (self.majority_particle != 0)
            & (self.majority_hits == self.size)
            & (self.majority_hits == self.majority_particle_size)
        )

    @property
    def lhc(self) -> np.ndarray:
        """Strictly more than 75% of the track's hits from its majority particle."""
        return (self.majority_particle != 0) & (4 * self.majority_hits > 3 * self.size)

    @property
    def noise_majority(self) -> np.ndarray:
        """At least as many noise hits as majority-particle hits (noise only included)."""
        return (self.majority_particle == 0) | (self.noise_hits >= self.majority_hits)


def check_hits(hits: pd.DataFrame, *, need_weight: bool = True) -> None:
    """Raise :class:`TrackrecError` unless ``hits`` has unique ids and the truth columns."""
    columns = HITS_TRUTH_COLUMNS + (("weight",) if need_weight else ())
    require_columns(hits, columns, "hits table", " (metrics need truth)")
    require_unique(hits, "hit_id", "hits table")


def check_particles(particles: pd.DataFrame) -> None:
    """Raise :class:`TrackrecError` unless ``particles`` has unique ids and kinematics."""
    require_columns(particles, PARTICLE_COLUMNS, "particles table")
    require_unique(particles, "particle_id", "particles table")


def match_tracks(
    hits: pd.DataFrame, tracks: pd.DataFrame, *, min_track_hits: int = 3
) -> TrackMatching:
    """Find each track's majority particle and the counts that the matching criteria need.

    ``tracks`` (hit_id, track_id) must name each hit at most once and only hits of ``hits``.
    """
    positions = submission_positions(
        hits["hit_id"], tracks, name="tracks table", truth_name="hits table"
    )
    track_codes, track_ids = pd.factorize(tracks["track_id"].to_numpy(), sort=True)
    kept = np.bincount(track_codes, minlength=len(track_ids))[track_codes] >= min_track_hits
    kept_codes, track_ids = pd.factorize(track_ids[track_codes[kept]], sort=True)
    track = np.full(len(hits), -1, dtype=np.int64)
    track[positions[kept]] = kept_codes
    pairs = track_particle_pairs(track, hits["particle_id"].to_numpy())

    n_tracks = len(track_ids)
    size = np.bincount(track[track >= 0], minlength=n_tracks)
    majority_particle = np.zeros(n_tracks, dtype=np.int64)
    majority_hits = np.zeros(n_tracks, dtype=np.int64)
    majority_particle_size = np.zeros(n_tracks, dtype=np.int64)
    real = pairs.particle_id != 0
    ptrack, ppid, pshared, psize = (
        pairs.track[real],
        pairs.particle_id[real],
        pairs.n_shared[real],
        pairs.particle_size[real],
    )
    # Sort by track, then most shared hits first, then smallest particle id; keep the first.
    order = np.lexsort((ppid, -pshared, ptrack))
    first = order[np.r_[True, ptrack[order][1:] != ptrack[order][:-1]]] if len(order) else order
    majority_particle[ptrack[first]] = ppid[first]
    majority_hits[ptrack[first]] = pshared[first]
    majority_particle_size[ptrack[first]] = psize[first]
    noise = ~real
    noise_hits = np.zeros(n_tracks, dtype=np.int64)
    noise_hits[pairs.track[noise]] = pairs.n_shared[noise]
    return TrackMatching(
        track_id=np.asarray(track_ids),
        size=size,
        majority_particle=majority_particle,
        majority_hits=majority_hits,
        majority_particle_size=majority_particle_size,
        noise_hits=noise_hits,
    )


def _of_interest(particles: pd.DataFrame, pt_min: float, max_abs_eta: float) -> np.ndarray:
    return (
        particles["reconstructable"].to_numpy(dtype=bool)
        & (np.abs(particles["eta"].to_numpy(dtype=np.float64)) < max_abs_eta)
        & (particles["pt"].to_numpy(dtype=np.float64) >= pt_min)
    )


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator > 0 else math.nan


def particle_match_flags(
    particles: pd.DataFrame, matching: TrackMatching
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``particles``: (matched by a DM track, matched by a perfect track)."""
    ids = particles["particle_id"].to_numpy()
    dm = np.isin(ids, matching.majority_particle[matching.double_majority])
    perfect = np.isin(ids, matching.majority_particle[matching.perfect])
    return dm, perfect


def majority_rows(particles: pd.DataFrame, matching: TrackMatching) -> np.ndarray:
    """Per track: the row of ``particles`` of its majority particle; -1 for none.

    Noise-majority tracks get -1 too, so they never belong to a selection of particles.
    """
    rows = pd.Index(particles["particle_id"].to_numpy()).get_indexer(matching.majority_particle)
    return np.where(matching.noise_majority, -1, rows)


def _select(particle_mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per track: whether its majority particle's row is in ``particle_mask`` (row -1: no)."""
    return np.append(particle_mask, False)[rows]


def track_metrics(
    hits: pd.DataFrame,
    particles: pd.DataFrame,
    tracks: pd.DataFrame,
    *,
    pt_thresholds: Sequence[float] = DEFAULT_PT_THRESHOLDS,
    max_abs_eta: float = 4.0,
    min_track_hits: int = 3,
) -> dict[str, float]:
    """Flat per-event tracking metrics with stable keys (see the module docstring for terms).

    For each threshold ``t`` in ``pt_thresholds`` (key suffix ``pt{t:g}``, e.g. ``pt0.9``):

    ``n_particles_pt{t}``
        number of particles of interest (literature: ``n_particles``).
    ``n_tracks_pt{t}``
        number of selected tracks (literature: ``n_cleaned_clusters``), the denominator of
        ``eff_lhc_pt{t}`` and ``fake_rate_pt{t}``.
    ``eff_perfect_pt{t}``
        fraction of particles of interest perfectly matched by some track (literature:
        ``perfect``, with exact instead of > 99% purity).
    ``eff_dm_pt{t}``
        fraction of particles of interest DM-matched by some track (literature:
        ``double_majority``).
    ``eff_lhc_pt{t}``
        fraction of the selected tracks that are LHC matched (literature: ``lhc``). A
        purity of the selected tracks, not a particle efficiency, despite the name.
    ``fake_rate_pt{t}``
        fraction of the selected tracks that are not DM matched (literature:
        ``fake_double_majority``). Falls as ``t`` rises when high-pT tracks are cleaner.
    ``duplicate_rate_pt{t}``
        ``(n_tracks - n_particles) / n_tracks`` over the tracks **majority matched** (more
        than 50% of the track's hits from one particle, no condition on the particle's share)
        to particles of interest: the fraction of such tracks that are extra copies of a
        particle already found, e.g. a particle split into two clean pieces. (With
        double-majority matching each particle could match only one of a set of disjoint
        tracks, so that rate would be 0 by construction.) Not in the literature's set.

    Without a threshold: ``fake_rate_all`` (tracks not DM matched over all tracks, whatever
    their majority particle: tracks of low-pT, non-reconstructable or no particle and of
    noise count as fakes; what trackrec 0.1.0 called ``fake_rate_pt{t}`` was close to
    this, and rose with ``t``), ``trackml_score`` (official score of the tracks as given, short tracks included),
    ``n_tracks`` (tracks with at least ``min_track_hits`` hits), ``n_hits`` and
    ``n_noise_hits`` (rows of ``hits`` and those with ``particle_id == 0``).
    Empty denominators give NaN. Raises :class:`~trackrec.errors.TrackrecError` for a
    tracks table naming a hit twice or a hit not in ``hits``, or missing columns.
    """
    check_hits(hits)
    check_particles(particles)
    submission = tracks[["hit_id", "track_id"]]
    matching = match_tracks(hits, submission, min_track_hits=min_track_hits)
    dm_track = matching.double_majority
    metrics: dict[str, float] = {
        "trackml_score": score_event(hits[["hit_id", "particle_id", "weight"]], submission),
        "n_tracks": float(len(matching.track_id)),
        "n_hits": float(len(hits)),
        "n_noise_hits": float((hits["particle_id"].to_numpy() == 0).sum()),
        "fake_rate_all": _ratio((~dm_track).sum(), len(dm_track)),
    }
    dm_particle, perfect_particle = particle_match_flags(particles, matching)
    rows = majority_rows(particles, matching)
    for threshold in pt_thresholds:
        suffix = f"pt{threshold:g}"
        interest = _of_interest(particles, threshold, max_abs_eta)
        selected = _select(interest, rows)
        n_particles = int(interest.sum())
        n_selected = int(selected.sum())
        majority_tracks = matching.majority & selected
        n_majority_tracks = int(majority_tracks.sum())
        n_majority_particles = len(np.unique(matching.majority_particle[majority_tracks]))
        metrics.update(
            {
                f"n_particles_{suffix}": float(n_particles),
                f"n_tracks_{suffix}": float(n_selected),
                f"eff_perfect_{suffix}": _ratio((perfect_particle & interest).sum(), n_particles),
                f"eff_dm_{suffix}": _ratio((dm_particle & interest).sum(), n_particles),
                f"eff_lhc_{suffix}": _ratio((matching.lhc & selected).sum(), n_selected),
                f"fake_rate_{suffix}": _ratio((~dm_track & selected).sum(), n_selected),
                f"duplicate_rate_{suffix}": _ratio(
                    n_majority_tracks - n_majority_particles, n_majority_tracks
                ),
            }
        )
    return metrics


def count_key(variable: str, lo: float, hi: float, kind: str) -> str:
    """The key ``count_{variable}_{lo:g}_{hi:g}_{kind}`` (infinity written ``inf``)."""
    return f"count_{variable}_{lo:g}_{hi:g}_{kind}"


def parse_count_key(key: str) -> tuple[str, float, float, str] | None:
    """``(variable, lo, hi, kind)`` from a :func:`count_key` key; None for any other key.

    >>> parse_count_key("count_eta_-4_-3.5_dm")
    ('eta', -4.0, -3.5, 'dm')
    >>> parse_count_key("count_pt_10_inf_fake_tracks")
    ('pt', 10.0, inf, 'fake_tracks')
    """
    parts = key.split("_", 4)
    if len(parts) != 5 or parts[0] != "count" or parts[4] not in COUNT_KINDS:
        return None
    try:
        lo, hi = float(parts[2]), float(parts[3])
    except ValueError:
        return None
    return parts[1], lo, hi, parts[4]


def _bin_index(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Bin of each value in ``edges`` ([lo, hi) bins); -1 outside every bin."""
    edges_array = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(edges_array, values, side="right") - 1
    return np.where((index >= 0) & (index < len(edges_array) - 1), index, -1)


def _binned_counts(
    bin_index: np.ndarray, edges: Sequence[float], flags: dict[str, np.ndarray], variable: str
) -> dict[str, float]:
    n_bins = len(edges) - 1
    counts: dict[str, float] = {}
    for kind, mask in flags.items():
        per_bin = np.bincount(bin_index[(bin_index >= 0) & mask], minlength=n_bins)
        for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
            counts[count_key(variable, lo, hi, kind)] = float(per_bin[i])
    return counts


def _distinct_per_bin(
    bin_index: np.ndarray, particle: np.ndarray, mask: np.ndarray, n_bins: int
) -> np.ndarray:
    """Number of distinct ``particle`` values among the masked entries of each bin."""
    keep = mask & (bin_index >= 0)
    pairs = np.unique(np.stack([bin_index[keep], particle[keep]]), axis=1)
    return np.bincount(pairs[0], minlength=n_bins)


def _track_counts(
    matching: TrackMatching,
    rows: np.ndarray,
    particle_bin: np.ndarray,
    particle_mask: np.ndarray,
    edges: Sequence[float],
    variable: str,
) -> dict[str, float]:
    """Counts of the tracks whose majority particle is in ``particle_mask``, binned by it."""
    selected = _select(particle_mask, rows)
    track_bin = np.where(selected, np.append(particle_bin, -1)[rows], -1)
    majority = selected & matching.majority
    counts = _binned_counts(
        track_bin,
        edges,
        {
            "tracks": selected,
            "fake_tracks": selected & ~matching.double_majority,
            "majority_tracks": majority,
        },
        variable,
    )
    distinct = _distinct_per_bin(track_bin, matching.majority_particle, majority, len(edges) - 1)
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        counts[count_key(variable, lo, hi, "majority_particles")] = float(distinct[i])
    return counts


def efficiency_counts(
    hits: pd.DataFrame,
    particles: pd.DataFrame,
    tracks: pd.DataFrame,
    *,
    max_abs_eta: float = 4.0,
    min_track_hits: int = 3,
    pt_edges: Sequence[float] = PT_BIN_EDGES,
    eta_edges: Sequence[float] = ETA_BIN_EDGES,
    eta_min_pt: float = ETA_BINS_MIN_PT,
) -> dict[str, float]:
    """Counts for efficiency, fake-rate and duplicate-rate plots vs pT and eta, summable over
    events.

    pT bins (``pt_edges``, [lo, hi)) hold the reconstructable particles with
    ``|eta| < max_abs_eta``; eta bins (``eta_edges``) hold the reconstructable particles with
    ``pt >= eta_min_pt``. For every bin seven keys (see :func:`count_key`):

    * ``..._particles`` (particles in the bin), ``..._dm`` (of those, DM matched by a track),
      ``..._perfect`` (perfectly matched): efficiency = summed ``dm`` or ``perfect`` over
      summed ``particles``;
    * ``..._tracks``: tracks whose majority particle is in the bin (and not noise-majority,
      as for ``fake_rate_pt{t}``), ``..._fake_tracks``: of those, not DM matched; fake rate =
      summed ``fake_tracks`` over summed ``tracks`` (the literature's fake rate per bin);
    * ``..._majority_tracks``: tracks majority matched to a particle in the bin,
      ``..._majority_particles``: how many distinct particles those are; duplicate rate =
      1 - summed ``majority_particles`` over summed ``majority_tracks``.

    :func:`parse_count_key` recovers the bin and kind from a key.
    """
    check_hits(hits, need_weight=False)
    check_particles(particles)
    matching = match_tracks(hits, tracks[["hit_id", "track_id"]], min_track_hits=min_track_hits)
    dm, perfect = particle_match_flags(particles, matching)
    rows = majority_rows(particles, matching)
    reconstructable = particles["reconstructable"].to_numpy(dtype=bool)
    pt = particles["pt"].to_numpy(dtype=np.float64)
    eta = particles["eta"].to_numpy(dtype=np.float64)

    counts: dict[str, float] = {}
    for variable, values, edges, mask in (
        ("pt", pt, pt_edges, reconstructable & (np.abs(eta) < max_abs_eta)),
        ("eta", eta, eta_edges, reconstructable & (pt >= eta_min_pt)),
    ):
        particle_bin = _bin_index(values, edges)
        counts.update(
            _binned_counts(
                particle_bin,
                edges,
                {"particles": mask, "dm": mask & dm, "perfect": mask & perfect},
                variable,
            )
        )
        counts.update(_track_counts(matching, rows, particle_bin, mask, edges, variable))
    return counts
