"""The TrackML score: hand-worked micro events, a slow reference loop, the real sample."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrec.errors import TrackrecError
from trackrec.metrics import score_event


def reference_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The TrackML rule spelled out track by track, with Python dicts."""
    particle_of = dict(zip(truth["hit_id"], truth["particle_id"]))
    weight_of = dict(zip(truth["hit_id"], truth["weight"]))
    particle_hits = Counter(truth["particle_id"])
    tracks: dict[object, list[int]] = defaultdict(list)
    for hit, track in zip(submission["hit_id"], submission["track_id"]):
        tracks[("submitted", track)].append(hit)
    submitted = set(submission["hit_id"])
    for hit in truth["hit_id"]:
        if hit not in submitted:
            tracks[("absent", hit)].append(hit)
    score = 0.0
    for hits in tracks.values():
        for particle, n in Counter(particle_of[h] for h in hits).items():
            if particle != 0 and 2 * n > len(hits) and 2 * n > particle_hits[particle]:
                score += sum(weight_of[h] for h in hits if particle_of[h] == particle)
    return score / sum(weight_of.values())


def micro_truth() -> pd.DataFrame:
    # p1: hits 1-4 (0.1 each), p2: hits 5-7 (0.1, 0.1, 0.2), noise: hits 8-9, p3: hit 10 (0.2).
    # Total weight 0.4 + 0.4 + 0.2 = 1.0.
    return pd.DataFrame(
        {
            "hit_id": np.arange(1, 11),
            "particle_id": [1, 1, 1, 1, 2, 2, 2, 0, 0, 3],
            "weight": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.0, 0.0, 0.2],
        }
    )


def test_micro_event_by_hand() -> None:
    submission = pd.DataFrame(
        {"hit_id": [1, 2, 3, 8, 4, 5, 6, 7, 9], "track_id": [10, 10, 10, 10, 20, 20, 20, 30, 30]}
    )
    # track 10 = {1,2,3,8}: p1 has 3/4 of the track and 3/4 of its hits -> 0.3
    # track 20 = {4,5,6}: p2 has 2/3 of the track and 2/3 of its hits  -> 0.2 (hits 5, 6)
    # track 30 = {7,9}: p2 and noise 1/2 each, not strictly more        -> 0
    # hit 10 absent: a track of its own, p3 1/1 and 1/1                   -> 0.2
    assert score_event(micro_truth(), submission) == pytest.approx(0.7)


def test_noise_counts_in_size_but_never_scores() -> None:
    truth = micro_truth()
    # {8,9,1}: noise 2/3 of the track, p1 1/3 -> nothing. {2,3,4}: p1 3/3, 3/4 of p1 -> 0.3.
    # Absent 5,6,7 are singletons: p2 1/3 each, not > 1/2 -> 0. Absent 10: p3 -> 0.2.
    submission = pd.DataFrame({"hit_id": [8, 9, 1, 2, 3, 4], "track_id": [1, 1, 1, 2, 2, 2]})
    assert score_event(truth, submission) == pytest.approx(0.5)
    # All noise in one track: noise holds 2/2 of the track and all noise hits, but weighs 0.
    noise_only = pd.DataFrame({"hit_id": [8, 9], "track_id": [5, 5]})
    assert score_event(truth, noise_only) == pytest.approx(0.2)  # only the absent p3 scores


def test_truth_scores_one_and_empty_submission_scores_singletons() -> None:
    truth = micro_truth()
    assert score_event(truth, truth.rename(columns={"particle_id": "track_id"})) == pytest.approx(
        1.0
    )
    # No submission at all: every hit is a singleton; only the 1-hit particle p3 scores.
    empty = pd.DataFrame(
        {"hit_id": pd.Series([], dtype=np.int64), "track_id": pd.Series([], dtype=np.int64)}
    )
    assert score_event(truth, empty) == pytest.approx(0.2)


def test_duplicate_hit_id_is_an_error_naming_it() -> None:
    submission = pd.DataFrame({"hit_id": [1, 2, 2, 3], "track_id": [1, 1, 2, 2]})
    with pytest.raises(TrackrecError, match="hit_id 2 more than once"):
        score_event(micro_truth(), submission)


def test_unknown_hit_id_is_an_error_naming_it() -> None:
    submission = pd.DataFrame({"hit_id": [1, 2, 99], "track_id": [1, 1, 1]})
    with pytest.raises(TrackrecError, match="hit_id 99 that is not in the truth"):
        score_event(micro_truth(), submission)


def test_missing_columns_are_errors() -> None:
    with pytest.raises(TrackrecError, match="track_id"):
        score_event(micro_truth(), pd.DataFrame({"hit_id": [1]}))
    with pytest.raises(TrackrecError, match="weight"):
        score_event(
            micro_truth().drop(columns="weight"), pd.DataFrame({"hit_id": [1], "track_id": [1]})
        )


@st.composite
def random_events(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_hits = draw(st.integers(1, 60))
    n_particles = draw(st.integers(1, 8))
    particle = np.array(
        draw(st.lists(st.integers(0, n_particles), min_size=n_hits, max_size=n_hits))
    )
    raw_weight = np.array(
        draw(st.lists(st.floats(0.01, 1.0), min_size=n_hits, max_size=n_hits)), dtype=np.float64
    )
    hit_ids = np.array(draw(st.permutations(range(1000, 1000 + 3 * n_hits)))[:n_hits])
    truth = pd.DataFrame(
        {
            "hit_id": hit_ids,
            "particle_id": particle,
            "weight": np.where(particle == 0, 0.0, raw_weight),
        }
    )
    submitted = np.array(draw(st.lists(st.booleans(), min_size=n_hits, max_size=n_hits)))
    n_submitted = int(submitted.sum())
    track_ids = draw(st.lists(st.integers(-3, 5), min_size=n_submitted, max_size=n_submitted))
    order = draw(st.permutations(range(n_submitted)))
    submission = pd.DataFrame(
        {"hit_id": hit_ids[submitted][order], "track_id": np.array(track_ids, dtype=np.int64)}
    )
    return truth, submission


@settings(max_examples=120, deadline=None)
@given(random_events())
def test_matches_reference_loop(event: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    truth, submission = event
    if truth["weight"].sum() == 0:
        assert np.isnan(score_event(truth, submission))
    else:
        assert score_event(truth, submission) == pytest.approx(
            reference_score(truth, submission), abs=1e-12
        )


def test_real_sample_truth_scores_one_and_singletons_zero(sample_prefix: Path) -> None:
    from trackrec.io import load_truth_file

    truth = load_truth_file(f"{sample_prefix}-truth.csv.gz")
    as_submitted = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": truth["particle_id"]})
    assert score_event(truth, as_submitted) == pytest.approx(1.0, abs=1e-9)
    singletons = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": np.arange(len(truth))})
    assert score_event(truth, singletons) == 0.0
    # A random half of the truth submission scores what the reference loop says.
    rng = np.random.default_rng(7)
    half = as_submitted.sample(frac=0.5, random_state=rng).copy()
    half["track_id"] = np.where(
        rng.random(len(half)) < 0.2, rng.integers(0, 50, len(half)), half["track_id"]
    )
    assert score_event(truth, half) == pytest.approx(reference_score(truth, half), abs=1e-12)
