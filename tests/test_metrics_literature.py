"""Our threshold metrics against the learned-clustering literature's own published cases.

gnn_tracking (github.com/gnn-tracking/gnn_tracking, ``tests/test_cluster_metrics.py``) checks
its ``tracking_metrics`` on hand-made events; the inputs and expected values of those cases
are written here as our own tests, translated to our tables:

* their truth labels are particle ids with 0 an ordinary particle; ours reserve 0 for noise,
  so every id is shifted by one;
* their per-hit ``pts``, ``etas`` and ``reconstructable`` become one particles-table row per
  particle (the cases give every particle the same values on all its hits);
* their predicted label -1 (DBSCAN noise) is a hit in no track; ``predicted_count_thld`` is
  our ``min_track_hits``;
* their default ``pt_thld=-1`` with all pT 0 keeps every particle; we cut ``pt >= t`` as they
  do, so threshold 0 with pT 0 keeps them too (our CLI refuses negative thresholds).

Key names: ``n_particles`` -> ``n_particles_pt{t}``, ``n_cleaned_clusters`` ->
``n_tracks_pt{t}``, ``perfect`` -> ``eff_perfect_pt{t}``, ``double_majority`` ->
``eff_dm_pt{t}``, ``lhc`` -> ``eff_lhc_pt{t}``, ``fake_double_majority`` -> ``fake_rate_pt{t}``.
Their hand-made cases state no fake rate; the fake rates given here are ours, worked out by
hand from the definition (selected tracks not DM matched over selected tracks).

A slow reference of the literature's definitions (hit by hit, noise a "particle" like any
other, as in their code) is then compared with ours on random events with noise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrec.metrics.tracking import track_metrics

KEYS = {
    "n_particles": "n_particles",
    "n_cleaned_clusters": "n_tracks",
    "perfect": "eff_perfect",
    "double_majority": "eff_dm",
    "lhc": "eff_lhc",
    "fake_double_majority": "fake_rate",
}
NAN = math.nan


def literature_tables(
    truth: Sequence[int],
    predicted: Sequence[int],
    pts: Sequence[float] | None = None,
    reconstructable: Sequence[bool] | None = None,
    etas: Sequence[float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Hits, particles and tracks tables of a case given hit by hit, the literature's way."""
    n = len(truth)
    truth_array = np.asarray(truth, dtype=np.int64)
    per_hit = pd.DataFrame(
        {
            "particle_id": truth_array + 1,
            "pt": np.zeros(n) if pts is None else np.asarray(pts, dtype=float),
            "eta": np.zeros(n) if etas is None else np.asarray(etas, dtype=float),
            "reconstructable": np.ones(n, bool) if reconstructable is None else reconstructable,
        }
    )
    particles = per_hit.drop_duplicates().sort_values("particle_id", ignore_index=True)
    assert particles["particle_id"].is_unique, "a case gives one particle two pT/eta values"
    hits = pd.DataFrame(
        {"hit_id": np.arange(1, n + 1), "particle_id": truth_array + 1, "weight": 1.0}
    )
    labels = np.asarray(predicted, dtype=np.int64)
    tracks = pd.DataFrame({"hit_id": hits["hit_id"][labels >= 0], "track_id": labels[labels >= 0]})
    return hits, particles, tracks


def ours(
    truth: Sequence[int],
    predicted: Sequence[int],
    *,
    pt_thld: float = 0.0,
    predicted_count_thld: int = 1,
    max_eta: float = 4.0,
    **per_hit: Sequence,
) -> dict[str, float]:
    """Our metrics of a literature case, under the literature's key names."""
    hits, particles, tracks = literature_tables(truth, predicted, **per_hit)
    metrics = track_metrics(
        hits,
        particles,
        tracks,
        pt_thresholds=(pt_thld,),
        max_abs_eta=max_eta,
        min_track_hits=predicted_count_thld,
    )
    return {name: metrics[f"{key}_pt{pt_thld:g}"] for name, key in KEYS.items()}


# Cases 0-13 of gnn_tracking's test_cluster_metrics: (inputs, published expectations,
# our hand-worked fake rate).
CASES = {
    "0 empty event": (
        dict(truth=[], predicted=[]),
        dict(n_particles=0, n_cleaned_clusters=0, perfect=NAN, lhc=NAN, double_majority=NAN),
        NAN,
    ),
    "1 all hits unclustered": (
        dict(truth=[1, 2], predicted=[-1, -1]),
        dict(n_particles=2, n_cleaned_clusters=0, perfect=0, lhc=NAN, double_majority=0),
        NAN,
    ),
    "2 below the threshold": (
        dict(truth=[0], predicted=[0], pt_thld=1.0),
        dict(n_particles=0, n_cleaned_clusters=0, perfect=NAN, lhc=NAN, double_majority=NAN),
        NAN,
    ),
    "3 one-hit particle": (
        dict(truth=[0], predicted=[1]),
        dict(n_particles=1, n_cleaned_clusters=1, perfect=1, lhc=1, double_majority=1),
        0.0,
    ),
    "4 one hit of four": (
        dict(truth=[0, 0, 0, 0], predicted=[1, -1, -1, -1]),
        dict(n_particles=1, n_cleaned_clusters=1, perfect=0, lhc=1, double_majority=0),
        1.0,
    ),
    "5 label 0 is a cluster": (
        dict(truth=[0], predicted=[0]),
        dict(n_particles=1, n_cleaned_clusters=1, perfect=1, lhc=1, double_majority=1),
        0.0,
    ),
    "6 labels swapped": (
        dict(truth=[0, 1], predicted=[1, 0]),
        dict(n_particles=2, n_cleaned_clusters=2, perfect=1, lhc=1, double_majority=1),
        0.0,
    ),
    "7 particle split in halves": (
        dict(truth=[0, 0], predicted=[1, 0]),
        dict(n_particles=1, n_cleaned_clusters=2, perfect=0, lhc=1, double_majority=0),
        1.0,  # half of the particle is not more than half: neither half is DM
    ),
    "8 two particles merged": (
        dict(truth=[1, 0], predicted=[0, 0]),
        dict(n_particles=2, n_cleaned_clusters=1, perfect=0, lhc=0, double_majority=0),
        1.0,
    ),
    "9 one stray hit": (
        dict(truth=[0, 0, 0, 0, 1], predicted=[0, 0, 0, 0, 0]),
        dict(n_particles=2, n_cleaned_clusters=1, perfect=0, lhc=1, double_majority=1 / 2),
        0.0,
    ),
    "10 split 4 + 1": (
        dict(truth=[0, 0, 0, 0, 0], predicted=[0, 0, 0, 0, 1]),
        dict(n_particles=1, n_cleaned_clusters=2, perfect=0, lhc=1, double_majority=1),
        1 / 2,
    ),
    "11 mixed event": (
        dict(
            truth=[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 5, 0, 1, 1, 2, 0, 1, 2, 3, 4, 4, 5],
            predicted=[0] * 6 + [1] * 6 + [2] * 4 + [3] * 4 + [4] * 2 + [5],
        ),
        dict(n_particles=6, n_cleaned_clusters=6, perfect=1 / 6, lhc=4 / 6, double_majority=3 / 6),
        3 / 6,  # clusters 2, 3 (a four-way tie, won by particle 0) and 5 are not DM
    ),
    "12 mixed event, pT threshold": (
        dict(
            truth=[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 5, 0, 1, 1, 2, 0, 1, 2, 3, 4, 4, 5],
            pts=[0] * 6 + [1] * 6 + [0, 1, 1, 1] + [0, 1, 1, 1] + [0, 0] + [1],
            predicted=[0] * 6 + [1] * 6 + [2] * 4 + [3] * 4 + [4] * 2 + [5],
            pt_thld=0.5,
        ),
        dict(n_particles=4, n_cleaned_clusters=3, perfect=0 / 4, lhc=2 / 3, double_majority=1 / 4),
        2 / 3,  # selected clusters 1, 2, 5; only 1 is DM
    ),
    "13 mixed event, pT threshold and reconstructability": (
        dict(
            truth=[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 5, 0, 1, 1, 2, 0, 1, 1, 3, 4, 4, 5],
            pts=[0] * 6 + [1] * 6 + [0, 1, 1, 1] + [0, 1, 1, 1] + [0, 0] + [1],
            reconstructable=[True] * 6
            + [False] * 5
            + [True]
            + [True, False, False, True] * 2
            + [True] * 3,
            predicted=[0] * 6 + [1] * 6 + [2] * 4 + [3] * 4 + [4] * 2 + [5],
            pt_thld=0.5,
        ),
        dict(n_particles=3, n_cleaned_clusters=1, perfect=0, lhc=1, double_majority=0),
        1.0,  # cluster 5 alone is selected, and holds one of particle 5's two hits
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_published_hand_made_cases(name: str) -> None:
    inputs, published, fake_rate = CASES[name]
    expected = published | {"fake_double_majority": fake_rate}
    assert ours(**inputs) == pytest.approx(expected, nan_ok=True)


def published_random_event(reverse_ids: bool) -> dict[str, np.ndarray]:
    """gnn_tracking's test_fix_cluster_metrics event: 50 hits of 20 particles drawn with
    numpy's default_rng(0), each hit's cluster its particle plus 0-3."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 20, size=50)
    predicted = truth + rng.integers(0, 4, size=50)
    pts = rng.uniform(0, 3, size=50)[truth]
    reconstructable = rng.choice([True, False], size=20)[truth]
    return {
        "truth": 19 - truth if reverse_ids else truth,
        "predicted": predicted,
        "pts": pts,
        "reconstructable": reconstructable,
    }


# Published expectations (clusters of >= 3 hits): no perfect and no LHC-matched cluster.
PUBLISHED_RANDOM = {
    0.0: dict(n_particles=10, n_cleaned_clusters=4, double_majority=0.1, fake_double_majority=0.75),
    0.5: dict(
        n_particles=8, n_cleaned_clusters=4, double_majority=0.125, fake_double_majority=0.75
    ),
    0.9: dict(
        n_particles=6, n_cleaned_clusters=3, double_majority=1 / 6, fake_double_majority=2 / 3
    ),
}


@pytest.mark.parametrize("threshold", list(PUBLISHED_RANDOM))
def test_published_random_event(threshold: float) -> None:
    """Where we disagree: ties for a cluster's majority particle.

    Two of the event's clusters tie: cluster 14 holds one hit each of particles 11-14 and
    cluster 20 two hits each of particles 17 and 18. We give a tie to the smallest id (11,
    not reconstructable; 17, reconstructable with pT 2.83), as their hand-made case 12 says
    theirs does ("0 is taken as most popular PID"). Their published expectation for this
    event needs the largest id to win both ties (14, pT 0.896, and 18, not reconstructable):
    their implementation takes whichever label pandas' ``value_counts`` lists first among
    equal counts, which is not fixed, and their own test is marked as failing on GitHub's
    machines (gnn_tracking issue #349). At 0 and 0.5 GeV the two tie rules select the same
    number of clusters and we agree with every published value; at 0.9 GeV ours selects
    cluster 20 (4 clusters, fake rate 3/4) where theirs selected 3 (2/3). Reversing the
    particle ids, so that our smallest-id rule makes their choices, gives every published
    value at every threshold.
    """
    expected = PUBLISHED_RANDOM[threshold] | {"perfect": 0.0, "lhc": 0.0}
    options = {"pt_thld": threshold, "predicted_count_thld": 3}
    assert ours(**published_random_event(reverse_ids=True), **options) == pytest.approx(expected)
    got = ours(**published_random_event(reverse_ids=False), **options)
    if threshold == 0.9:
        expected |= {"n_cleaned_clusters": 4, "fake_double_majority": 3 / 4}
    assert got == pytest.approx(expected)


def literature_reference(
    truth: np.ndarray,
    predicted: np.ndarray,
    pts: np.ndarray,
    reconstructable: np.ndarray,
    etas: np.ndarray,
    pt_thld: float,
    min_hits: int,
    max_eta: float = 4.0,
) -> dict[str, float]:
    """The literature's definitions, hit by hit with Counters, noise (id 0) a label like any.

    A cluster's majority label is its most common truth label, the smallest on ties; its
    pT, eta and reconstructability are those of that label (noise: pT 0, not reconstructable).
    """
    hits_of = Counter(truth.tolist())
    props = {int(p): (pts[i], etas[i], reconstructable[i]) for i, p in enumerate(truth)}

    def of_interest(label: int) -> bool:
        pt, eta, reco = props[label]
        return bool(reco) and abs(eta) < max_eta and pt >= pt_thld

    n_particles = sum(1 for label in hits_of if of_interest(label))
    clusters: dict[int, list[int]] = {}
    for label, cluster in zip(truth.tolist(), predicted.tolist()):
        if cluster >= 0:
            clusters.setdefault(cluster, []).append(label)
    n_clusters = n_dm = n_perfect = n_lhc = 0
    for members in clusters.values():
        if len(members) < min_hits:
            continue
        counts = Counter(members)
        majority = min(counts, key=lambda label: (-counts[label], label))
        if not of_interest(majority):
            continue
        shared = counts[majority]
        n_clusters += 1
        n_dm += 2 * shared > len(members) and 2 * shared > hits_of[majority]
        n_perfect += shared == hits_of[majority] and shared > 0.99 * len(members)
        n_lhc += 4 * shared > 3 * len(members)

    def ratio(a: int, b: int) -> float:
        return a / b if b else math.nan

    return {
        "n_particles": n_particles,
        "n_cleaned_clusters": n_clusters,
        "perfect": ratio(n_perfect, n_particles),
        "double_majority": ratio(n_dm, n_particles),
        "lhc": ratio(n_lhc, n_clusters),
        "fake_double_majority": ratio(n_clusters - n_dm, n_clusters),
    }


@st.composite
def noisy_events(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Random events with noise (label 0 here), ties, thresholds hit exactly and short tracks."""
    n_hits = draw(st.integers(0, 40))
    n_particles = draw(st.integers(1, 6))
    props = {
        p: (
            draw(st.sampled_from([0.4, 0.9, 1.5, 3.0])),
            draw(st.sampled_from([0.0, -1.0, 3.9, 4.0])),
            draw(st.booleans()),
        )
        for p in range(1, n_particles + 1)
    }
    props[0] = (0.0, 0.0, False)  # noise, as the literature's inputs carry it
    truth = np.array(draw(st.lists(st.integers(0, n_particles), min_size=n_hits, max_size=n_hits)))
    predicted = np.array(draw(st.lists(st.integers(-1, 5), min_size=n_hits, max_size=n_hits)))
    return {
        "truth": truth.astype(np.int64),
        "predicted": predicted.astype(np.int64),
        "pts": np.array([props[p][0] for p in truth], float),
        "etas": np.array([props[p][1] for p in truth], float),
        "reconstructable": np.array([props[p][2] for p in truth], bool),
    }


@settings(max_examples=150, deadline=None)
@given(noisy_events(), st.sampled_from([0.0, 0.9, 1.5]), st.integers(1, 3))
def test_matches_the_literature_reference_with_noise(
    event: dict[str, np.ndarray], pt_thld: float, min_hits: int
) -> None:
    expected = literature_reference(**event, pt_thld=pt_thld, min_hits=min_hits)
    # Our tables: label 0 is noise (particle_id 0), particles 1..n keep their ids.
    truth, predicted = event["truth"], event["predicted"]
    real = truth != 0
    particles = pd.DataFrame(
        {
            "particle_id": truth[real],
            "pt": event["pts"][real],
            "eta": event["etas"][real],
            "reconstructable": event["reconstructable"][real],
        }
    ).drop_duplicates(ignore_index=True)
    hits = pd.DataFrame(
        {"hit_id": np.arange(1, len(truth) + 1), "particle_id": truth, "weight": 1.0}
    )
    tracks = pd.DataFrame(
        {"hit_id": hits["hit_id"][predicted >= 0], "track_id": predicted[predicted >= 0]}
    )
    metrics = track_metrics(
        hits, particles, tracks, pt_thresholds=(pt_thld,), min_track_hits=min_hits
    )
    got = {name: metrics[f"{key}_pt{pt_thld:g}"] for name, key in KEYS.items()}
    assert got == pytest.approx(expected, nan_ok=True)
