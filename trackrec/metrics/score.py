"""The official TrackML event score, computed exactly and without a per-hit Python loop.

A reconstructed track scores when strictly more than half of its hits belong to one particle
and strictly more than half of that particle's hits are in the track (the "double majority").
Its score is the summed weight of that particle's hits inside the track; the event score is
the sum over scoring tracks divided by the event's total weight, so the truth itself scores 1.

Conventions, identical to the reference implementation in ``trackml-library``:

* noise hits (``particle_id == 0``) count toward a track's size but weigh nothing, and the
  noise "particle" never scores;
* hits absent from the submission are tracks of their own (one hit each);
* a particle's hit count is the number of its hits in the truth, not in the submission.

Unlike the reference, a ``hit_id`` given twice in the submission, or one that is not in the
truth, is an error (:class:`~trackrec.errors.TrackrecError` naming the id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trackrec.errors import TrackrecError

TRUTH_COLUMNS = ("hit_id", "particle_id", "weight")
SUBMISSION_COLUMNS = ("hit_id", "track_id")


@dataclass(frozen=True)
class TrackParticlePairs:
    """Hit counts for every (track, particle) pair present in an event's assignment.

    One entry per distinct pair; ``track`` is a dense track index (``0..n_tracks-1``) and
    ``particle_id`` the truth id (0 = noise). ``track_size`` and ``particle_size`` are the
    track's hit count and the particle's hit count in the whole truth, repeated per pair.
    """

    track: np.ndarray
    particle_id: np.ndarray
    n_shared: np.ndarray
    shared_weight: np.ndarray
    track_size: np.ndarray
    particle_size: np.ndarray


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str, why: str = "") -> None:
    """Raise :class:`TrackrecError` naming the ``columns`` that ``frame`` (called ``what``) lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TrackrecError(f"{what} lacks column(s) {', '.join(missing)}{why}")


def require_unique(frame: pd.DataFrame, column: str, what: str) -> None:
    """Raise :class:`TrackrecError` naming the first value of ``column`` given twice."""
    values = frame[column]
    if not pd.Index(values.to_numpy()).is_unique:
        first = values[values.duplicated()].iloc[0]
        raise TrackrecError(f"{what} has {column} {first} more than once")


def check_truth(truth: pd.DataFrame) -> None:
    """Raise :class:`TrackrecError` unless ``truth`` has unique hit ids, particle ids, weights."""
    require_columns(truth, TRUTH_COLUMNS, "truth")
    if truth["hit_id"].isna().any() or truth["particle_id"].isna().any():
        raise TrackrecError("truth has empty hit_id or particle_id values")
    require_unique(truth, "hit_id", "truth")


def submission_positions(
    truth_hit_ids: pd.Index | pd.Series | np.ndarray,
    submission: pd.DataFrame,
    *,
    name: str = "submission",
    truth_name: str = "truth",
) -> np.ndarray:
    """Row position in the truth of each submission row, checking the submission on the way.

    Raises :class:`TrackrecError` unless every submitted hit is a truth hit given once; the
    message names the first offending ``hit_id`` and how many there are, calling the tables
    ``name`` and ``truth_name``.
    """
    require_columns(submission, SUBMISSION_COLUMNS, name)
    if submission["hit_id"].isna().any() or submission["track_id"].isna().any():
        raise TrackrecError(f"{name} has empty hit_id or track_id values")
    truth_index = (
        truth_hit_ids
        if isinstance(truth_hit_ids, pd.Index)
        else pd.Index(np.asarray(truth_hit_ids))
    )
    if not truth_index.is_unique:
        raise TrackrecError(f"{truth_name} has repeated hit_ids")
    hit_ids = submission["hit_id"].to_numpy()
    positions = truth_index.get_indexer(hit_ids)
    unknown = positions < 0
    if unknown.any():
        raise TrackrecError(
            f"{name} has hit_id {hit_ids[unknown][0]} that is not in the {truth_name}"
            + (f" ({int(unknown.sum())} unknown hit_ids)" if unknown.sum() > 1 else "")
        )
    # Known ids map to distinct positions, so a repeated position is a repeated hit_id.
    times_given = np.bincount(positions, minlength=len(truth_index))
    if (times_given > 1).any():
        repeated = truth_index.to_numpy()[times_given > 1]
        first = hit_ids[np.isin(hit_ids, repeated)][0]
        raise TrackrecError(
            f"{name} gives hit_id {first} more than once"
            + (f" ({len(repeated)} hit_ids are given more than once)" if len(repeated) > 1 else "")
        )
    return positions


def check_submission(
    truth: pd.DataFrame,
    submission: pd.DataFrame,
    *,
    name: str = "submission",
    truth_name: str = "truth",
) -> None:
    """Raise :class:`TrackrecError` unless every submitted hit is a truth hit given once.

    See :func:`submission_positions` for the messages.
    """
    submission_positions(truth["hit_id"], submission, name=name, truth_name=truth_name)


def assign_tracks(n_truth_hits: int, positions: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
    """Dense track index (``0..n_tracks-1``) for each truth hit, in truth order.

    ``positions`` (from :func:`submission_positions`) and ``track_ids`` describe the submitted
    hits. Hits absent from the submission each get an index of their own, after the
    submitted tracks.
    """
    track_codes, uniques = pd.factorize(np.asarray(track_ids))
    track = np.full(n_truth_hits, -1, dtype=np.int64)
    track[positions] = track_codes
    absent = np.flatnonzero(track < 0)
    track[absent] = len(uniques) + np.arange(len(absent), dtype=np.int64)
    return track


def add_missing_hits(hit_ids: np.ndarray, submission: pd.DataFrame) -> pd.DataFrame:
    """``submission`` plus a one-hit track for every hit of ``hit_ids`` it leaves out.

    The official score treats absent hits this way; making the tracks explicit gives every
    metric the same reading (with ``min_track_hits`` 1 they count as tracks). New track ids
    follow the largest one given.
    """
    absent = np.setdiff1d(np.asarray(hit_ids), submission["hit_id"].to_numpy())
    if len(absent) == 0:
        return submission
    first = int(submission["track_id"].max()) + 1 if len(submission) else 0
    singles = pd.DataFrame(
        {"hit_id": absent, "track_id": first + np.arange(len(absent), dtype=np.int64)}
    )
    return pd.concat([submission[["hit_id", "track_id"]], singles], ignore_index=True)


def track_particle_pairs(
    track: np.ndarray, particle_id: np.ndarray, weight: np.ndarray | None = None
) -> TrackParticlePairs:
    """Group hits by (dense track index, particle id) and count them, vectorised.

    ``track``, ``particle_id`` and ``weight`` are per-hit arrays of equal length over all the
    hits whose particles should be counted (the particle sizes come from these same hits, so
    pass every truth hit, with a negative track index for hits in no track).
    Pairs with a negative track index are left out of the result, but their hits still count
    toward the particle's size.
    """
    track = np.asarray(track, dtype=np.int64)
    particle_codes, particle_uniques = pd.factorize(np.asarray(particle_id))
    particle_sizes = np.bincount(particle_codes, minlength=len(particle_uniques))
    weights = np.zeros(len(track)) if weight is None else np.asarray(weight, dtype=np.float64)

    in_track = track >= 0
    track_in = track[in_track]
    codes_in = particle_codes[in_track].astype(np.int64)
    n_tracks = int(track_in.max()) + 1 if len(track_in) else 0
    track_sizes = np.bincount(track_in, minlength=n_tracks)

    # One integer key per (track, particle) pair; both factors are < len(hits), so no overflow.
    # Hash-based factorize groups them in O(n), several times faster than sorting.
    pair_key = track_in * len(particle_uniques) + codes_in
    pair_of_hit, unique_keys = pd.factorize(pair_key)
    n_shared = np.bincount(pair_of_hit, minlength=len(unique_keys))
    shared_weight = np.bincount(pair_of_hit, weights=weights[in_track], minlength=len(unique_keys))
    pair_track = unique_keys // max(len(particle_uniques), 1)
    pair_particle_code = unique_keys % max(len(particle_uniques), 1)
    return TrackParticlePairs(
        track=pair_track,
        particle_id=np.asarray(particle_uniques)[pair_particle_code],
        n_shared=n_shared,
        shared_weight=shared_weight,
        track_size=track_sizes[pair_track],
        particle_size=particle_sizes[pair_particle_code],
    )


def double_majority(pairs: TrackParticlePairs) -> np.ndarray:
    """Mask of the pairs where a non-noise particle holds >50% of the track and vice versa."""
    return (
        (pairs.particle_id != 0)
        & (2 * pairs.n_shared > pairs.track_size)
        & (2 * pairs.n_shared > pairs.particle_size)
    )


def score_event(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The official TrackML score of ``submission`` (hit_id, track_id) against ``truth``.

    ``truth`` has one row per hit with ``hit_id``, ``particle_id`` (0 = noise) and ``weight``.
    Returns the summed weight of the double-majority matched (track, particle) pairs over the
    total truth weight, a number in [0, 1]; NaN when the truth weighs nothing at all.
    Raises :class:`~trackrec.errors.TrackrecError` for a hit_id given twice or not in truth.
    """
    check_truth(truth)
    positions = submission_positions(truth["hit_id"], submission)
    weight = truth["weight"].to_numpy(dtype=np.float64)
    total_weight = float(weight.sum())
    if total_weight <= 0.0:
        return float("nan")
    track = assign_tracks(len(truth), positions, submission["track_id"].to_numpy())
    pairs = track_particle_pairs(track, truth["particle_id"].to_numpy(), weight)
    good = double_majority(pairs)
    return float(pairs.shared_weight[good].sum() / total_weight)
