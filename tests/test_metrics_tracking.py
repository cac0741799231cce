"""Tracking metrics: a hand-worked micro event, properties, and the real sample's truth."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrec.errors import TrackrecError
from trackrec.metrics.tracking import (
    COUNT_KINDS,
    count_key,
    efficiency_counts,
    match_tracks,
    parse_count_key,
    track_metrics,
)


def sample_tables(prefix: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hits and particles frames of the real sample, with the columns the metrics read."""
    from trackrec.io import load_event

    hits, particles, truth = load_event(prefix, parts=("hits", "particles", "truth"))
    hits = hits.merge(
        truth[["hit_id", "particle_id", "weight"]], on="hit_id", validate="one_to_one"
    )
    layers = hits[hits["particle_id"] != 0].drop_duplicates(
        ["particle_id", "volume_id", "layer_id"]
    )
    n_layers = layers.groupby("particle_id").size()
    particles = particles.copy()
    particles["pt"] = np.hypot(particles["px"], particles["py"])
    particles["eta"] = np.arcsinh(particles["pz"] / particles["pt"])
    particles["reconstructable"] = particles["particle_id"].map(n_layers).fillna(0).to_numpy() >= 3
    return hits, particles


def micro_event() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """22 hits, 5 particles, 4 noise hits and 6 tracks (one of them short)."""
    particle_of_hit = (
        [1] * 4  # hits 1-4: p1, pt 2.0, eta 0.5
        + [2] * 6  # hits 5-10: p2, pt 1.0, eta -1.0
        + [3] * 3  # hits 11-13: p3, pt 0.6, eta 2.0
        + [4] * 3  # hits 14-16: p4, pt 5.0, eta 4.5 (outside |eta| < 4)
        + [5] * 2  # hits 17-18: p5, pt 3.0, not reconstructable
        + [0] * 4  # hits 19-22: noise
    )
    weight_of_particle = {0: 0.0, 1: 0.1, 2: 0.05, 3: 0.1, 4: 0.1, 5: 0.05}
    hits = pd.DataFrame(
        {
            "hit_id": np.arange(1, 23),
            "particle_id": particle_of_hit,
            "weight": [weight_of_particle[p] for p in particle_of_hit],
        }
    )
    particles = pd.DataFrame(
        {
            "particle_id": [1, 2, 3, 4, 5],
            "pt": [2.0, 1.0, 0.6, 5.0, 3.0],
            "eta": [0.5, -1.0, 2.0, 4.5, 0.0],
            "reconstructable": [True, True, True, True, False],
        }
    )
    track_hits = {
        "T1": [1, 2, 3, 4],  # p1 perfect
        "T2": [5, 6, 7, 8, 19],  # p2 4/5 of the track (LHC), 4/6 of p2 (DM), not perfect
        "T3": [9, 10, 20, 21],  # p2 2/4: no majority > 50%: fake, not LHC
        "T4": [11, 12, 13],  # p3 perfect
        "T5": [14, 15, 16],  # p4 perfect, but p4 is never of interest
        "T6": [17, 18],  # 2 hits: not a track (p5 would be perfect otherwise)
    }  # hit 22 (noise) is in no track
    code = {name: 100 + i for i, name in enumerate(track_hits)}
    tracks = pd.DataFrame(
        [(h, code[name]) for name, hs in track_hits.items() for h in hs],
        columns=["hit_id", "track_id"],
    )
    return hits, particles, tracks


def test_micro_event_metrics_by_hand() -> None:
    hits, particles, tracks = micro_event()
    m = track_metrics(hits, particles, tracks)
    # Total weight: p1 0.4 + p2 0.3 + p3 0.3 + p4 0.3 + p5 0.1 = 1.4. Scoring tracks as given:
    # T1 0.4, T2 4 x 0.05 = 0.2, T4 0.3, T5 0.3, T6 0.1 (short tracks do score officially).
    assert m["trackml_score"] == pytest.approx(1.3 / 1.4)
    assert (m["n_tracks"], m["n_hits"], m["n_noise_hits"]) == (5, 22, 4)  # T6 dropped

    # Particles of interest (reconstructable, |eta| < 4, pt >= t): p1, p2, p3 at 0 and 0.5;
    # p1, p2 at 0.9; p1 at 1.5. DM matched: p1 (T1), p2 (T2), p3 (T4); perfect: p1, p3.
    expected = {
        #        n  perfect  dm   lhc  fake
        "0": (3, 2 / 3, 1.0, 1.0, 0.0),
        "0.5": (3, 2 / 3, 1.0, 1.0, 0.0),
        "0.9": (2, 1 / 2, 1.0, 1.0, 0.0),
        "1.5": (1, 1.0, 1.0, 1.0, 0.0),
    }
    # Selected tracks (majority particle of interest, not noise-majority): T1, T2, T4 at 0 and
    # 0.5, T1 and T2 at 0.9, T1 at 1.5. T3 (2 noise hits, 2 of p2) is noise-majority and T5's
    # p4 is never of interest: neither is a fake or a good track at any threshold. All
    # selected tracks are DM matched and > 75% pure (T2: 4 of 5 hits).
    for t, (n, perfect, dm, lhc, fake) in expected.items():
        assert m[f"n_particles_pt{t}"] == n
        assert m[f"eff_perfect_pt{t}"] == pytest.approx(perfect)
        assert m[f"eff_dm_pt{t}"] == pytest.approx(dm)
        assert m[f"eff_lhc_pt{t}"] == pytest.approx(lhc)
        assert m[f"fake_rate_pt{t}"] == pytest.approx(fake)
        assert m[f"duplicate_rate_pt{t}"] == 0.0
    # Without threshold T3 is the one track of five not DM matched.
    assert m["fake_rate_all"] == pytest.approx(1 / 5)
    assert len(m) == 5 + 7 * 4


def test_a_particle_split_in_two_clean_tracks_is_a_duplicate() -> None:
    # p1 has 8 hits: track A holds 5 (DM matched), track B the other 3 (majority matched only,
    # since 3 of 8 is not more than half of p1). p2's 4 hits form track C.
    hits = pd.DataFrame(
        {"hit_id": np.arange(1, 13), "particle_id": [1] * 8 + [2] * 4, "weight": [1.0] * 12}
    )
    particles = pd.DataFrame(
        {"particle_id": [1, 2], "pt": [1.0, 2.0], "eta": [0.0, 0.0], "reconstructable": [True] * 2}
    )
    tracks = pd.DataFrame({"hit_id": np.arange(1, 13), "track_id": [1] * 5 + [2] * 3 + [3] * 4})
    m = track_metrics(hits, particles, tracks, pt_thresholds=(0.0, 1.5))
    # t=0: majority-matched tracks A, B, C of particles p1, p1, p2 -> (3 - 2) / 3
    assert m["duplicate_rate_pt0"] == pytest.approx(1 / 3)
    # t=1.5: only p2 is of interest -> C alone, no duplicate
    assert m["duplicate_rate_pt1.5"] == 0.0
    # B is not DM matched: a fake, over A, C and B -> 1/3; both particles found (DM)
    assert m["fake_rate_pt0"] == pytest.approx(1 / 3)
    assert m["eff_dm_pt0"] == 1.0


def test_min_track_hits_and_thresholds_change_the_selection() -> None:
    hits, particles, tracks = micro_event()
    # With min_track_hits=4 only T1, T2 and T3 remain: p3 is lost, T4/T5 are no tracks.
    m = track_metrics(hits, particles, tracks, min_track_hits=4, pt_thresholds=(0.0, 10.0))
    assert m["n_tracks"] == 3
    assert m["eff_dm_pt0"] == pytest.approx(2 / 3)  # p1, p2 of p1, p2, p3
    assert m["eff_perfect_pt0"] == pytest.approx(1 / 3)  # p1
    # No particle above 10 GeV: efficiencies undefined, not zero, and no track is selected,
    # so the fake rate and LHC efficiency are undefined too.
    assert math.isnan(m["eff_dm_pt10"]) and math.isnan(m["eff_perfect_pt10"])
    assert m["n_particles_pt10"] == 0
    assert math.isnan(m["fake_rate_pt10"]) and math.isnan(m["eff_lhc_pt10"])
    # T3 is the one unmatched track of T1, T2, T3.
    assert m["fake_rate_all"] == pytest.approx(1 / 3)
    assert math.isnan(m["duplicate_rate_pt10"])


def test_majority_particle_ignores_noise() -> None:
    hits, _, tracks = micro_event()
    matching = match_tracks(hits, tracks)
    by_track = dict(zip(matching.track_id, zip(matching.majority_particle, matching.majority_hits)))
    # T3 = {9, 10, 20, 21} has as many noise hits as p2 hits; its majority particle is p2.
    assert by_track[102] == (2, 2)
    assert 105 not in by_track  # T6 is short


def test_tracks_naming_unknown_or_repeated_hits_are_errors() -> None:
    hits, particles, tracks = micro_event()
    with pytest.raises(TrackrecError, match="hit_id 99 that is not in the hits table"):
        track_metrics(
            hits, particles, pd.concat([tracks, pd.DataFrame({"hit_id": [99], "track_id": [1]})])
        )
    with pytest.raises(TrackrecError, match="hit_id 1 more than once"):
        track_metrics(
            hits, particles, pd.concat([tracks, pd.DataFrame({"hit_id": [1], "track_id": [1]})])
        )
    with pytest.raises(TrackrecError, match="metrics need truth"):
        track_metrics(hits.drop(columns="particle_id"), particles, tracks)


def test_efficiency_counts_by_hand() -> None:
    hits, particles, tracks = micro_event()
    counts = efficiency_counts(hits, particles, tracks)
    nonzero = {k: v for k, v in counts.items() if v}
    # pT bins (reconstructable, |eta| < 4): p3 0.6 in [0.5, 0.7), p2 1.0 in [0.9, 1.2),
    # p1 2.0 in [2, 3); all three DM matched, p1 and p3 perfect.
    # eta bins (reconstructable, pt > 0.9): p1 0.5 in [0.5, 1), p2 -1.0 in [-1, -0.5);
    # p4 (eta 4.5) is outside every bin, p5 is not reconstructable.
    assert nonzero == {
        "count_pt_0.5_0.7_particles": 1, "count_pt_0.5_0.7_dm": 1, "count_pt_0.5_0.7_perfect": 1,
        "count_pt_0.9_1.2_particles": 1, "count_pt_0.9_1.2_dm": 1,
        "count_pt_2_3_particles": 1, "count_pt_2_3_dm": 1, "count_pt_2_3_perfect": 1,
        "count_eta_0.5_1_particles": 1, "count_eta_0.5_1_dm": 1, "count_eta_0.5_1_perfect": 1,
        "count_eta_-1_-0.5_particles": 1, "count_eta_-1_-0.5_dm": 1,
    } | {
        # Tracks by their majority particle's bin: T4 (p3), T2 (p2), T1 (p1) in the pT bins,
        # T1 and T2 in the eta bins; T3 is noise-majority and T5's p4 is outside |eta| < 4.
        # Each is one majority-matched track of one particle, and none is a fake.
        f"count_{bin_}_{kind}": 1
        for bin_ in ("pt_0.5_0.7", "pt_0.9_1.2", "pt_2_3", "eta_0.5_1", "eta_-1_-0.5")
        for kind in ("tracks", "majority_tracks", "majority_particles")
    }  # fmt: skip
    # 11 pT bins and 16 eta bins, seven kinds each.
    assert len(counts) == 7 * (11 + 16)
    assert "count_pt_10_inf_particles" in counts and "count_eta_-4_-3.5_dm" in counts


def test_parse_count_key_round_trips() -> None:
    assert parse_count_key("count_pt_10_inf_perfect") == ("pt", 10.0, math.inf, "perfect")
    assert parse_count_key("count_eta_-0.5_0_particles") == ("eta", -0.5, 0.0, "particles")
    assert parse_count_key("eff_dm_pt0.9") is None
    assert parse_count_key("count_pt_a_b_dm") is None
    hits, particles, tracks = micro_event()
    for key in efficiency_counts(hits, particles, tracks):
        variable, lo, hi, kind = parse_count_key(key)
        assert count_key(variable, lo, hi, kind) == key and kind in COUNT_KINDS


def reference_metrics(
    hits: pd.DataFrame, particles: pd.DataFrame, tracks: pd.DataFrame, t: float, min_hits: int
) -> dict[str, float]:
    """The definitions spelled out track by track, with Python sets and dicts."""
    particle_of = dict(zip(hits["hit_id"], hits["particle_id"]))
    n_hits_of = Counter(hits["particle_id"])
    groups: dict[int, list[int]] = defaultdict(list)
    for hit, track in zip(tracks["hit_id"], tracks["track_id"]):
        groups[track].append(hit)
    interest = {
        row.particle_id
        for row in particles.itertuples()
        if row.reconstructable and abs(row.eta) < 4.0 and row.pt >= t
    }
    dm_found, perfect_found, majority_of_interest = set(), set(), []
    n_selected = n_selected_fake = n_selected_lhc = n_tracks = n_unmatched = 0
    for hs in groups.values():
        if len(hs) < min_hits:
            continue
        n_tracks += 1
        all_counts = Counter(particle_of[h] for h in hs)
        counts = Counter({p: c for p, c in all_counts.items() if p != 0})
        best = min(counts, key=lambda p: (-counts[p], p)) if counts else None
        n = counts[best] if counts else 0
        dm = best is not None and 2 * n > len(hs) and 2 * n > n_hits_of[best]
        # selected: the literature's majority "particle" (noise 0 wins ties) is of interest
        selected = best in interest and all_counts[0] < n
        if best is not None and 2 * n > len(hs) and best in interest:
            majority_of_interest.append(best)
        if dm:
            dm_found.add(best)
        else:
            n_unmatched += 1
        if best is not None and n == len(hs) == n_hits_of[best]:
            perfect_found.add(best)
        if selected:
            n_selected += 1
            n_selected_fake += not dm
            n_selected_lhc += 4 * n > 3 * len(hs)

    def ratio(a: float, b: float) -> float:
        return a / b if b else math.nan

    return {
        "eff_dm": ratio(len(dm_found & interest), len(interest)),
        "eff_perfect": ratio(len(perfect_found & interest), len(interest)),
        "eff_lhc": ratio(n_selected_lhc, n_selected),
        "fake_rate": ratio(n_selected_fake, n_selected),
        "duplicate_rate": ratio(
            len(majority_of_interest) - len(set(majority_of_interest)), len(majority_of_interest)
        ),
        "n_particles": float(len(interest)),
        "fake_rate_all": ratio(n_unmatched, n_tracks),
    }


@st.composite
def random_events(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n_hits = draw(st.integers(1, 50))
    n_particles = draw(st.integers(1, 6))
    ids = np.arange(1, n_particles + 1) * 1000
    particle = draw(st.lists(st.sampled_from([0, *ids.tolist()]), min_size=n_hits, max_size=n_hits))
    hits = pd.DataFrame({"hit_id": np.arange(n_hits) + 1, "particle_id": particle, "weight": 1.0})
    particles = pd.DataFrame(
        {
            "particle_id": ids,
            "pt": draw(
                st.lists(
                    st.sampled_from([0.3, 0.7, 1.0, 2.0]),
                    min_size=n_particles,
                    max_size=n_particles,
                )
            ),
            "eta": draw(
                st.lists(
                    st.sampled_from([0.0, -2.0, 3.9, 4.2]),
                    min_size=n_particles,
                    max_size=n_particles,
                )
            ),
            "reconstructable": draw(
                st.lists(st.booleans(), min_size=n_particles, max_size=n_particles)
            ),
        }
    )
    assigned = np.array(draw(st.lists(st.booleans(), min_size=n_hits, max_size=n_hits)))
    n_assigned = int(assigned.sum())
    track_ids = draw(st.lists(st.integers(0, 6), min_size=n_assigned, max_size=n_assigned))
    tracks = pd.DataFrame({"hit_id": hits["hit_id"][assigned].to_numpy(), "track_id": track_ids})
    return hits, particles, tracks


@settings(max_examples=100, deadline=None)
@given(random_events(), st.integers(1, 4))
def test_matches_reference_definitions(event: tuple, min_hits: int) -> None:
    hits, particles, tracks = event
    metrics = track_metrics(
        hits, particles, tracks, min_track_hits=min_hits, pt_thresholds=(0.0, 0.5, 0.7, 0.9, 1.5)
    )
    for t in (0.0, 0.5, 0.7, 0.9, 1.5):  # 0.7: particles exactly at the threshold
        reference = reference_metrics(hits, particles, tracks, t, min_hits)
        assert metrics["fake_rate_all"] == pytest.approx(
            reference.pop("fake_rate_all"), nan_ok=True
        )
        for name, value in reference.items():
            assert metrics[f"{name}_pt{t:g}"] == pytest.approx(value, nan_ok=True), (name, t)
    # The pT bins cover [0, inf): their track counts add up to the threshold-0 rates.
    counts = efficiency_counts(hits, particles, tracks, min_track_hits=min_hits)
    total = Counter()
    for key, value in counts.items():
        variable, _, _, kind = parse_count_key(key)
        total[kind] += value if variable == "pt" else 0
    reference = reference_metrics(hits, particles, tracks, 0.0, min_hits)
    fake = total["fake_tracks"] / total["tracks"] if total["tracks"] else math.nan
    duplicate = (
        1 - total["majority_particles"] / total["majority_tracks"]
        if total["majority_tracks"]
        else math.nan
    )
    assert fake == pytest.approx(reference["fake_rate"], nan_ok=True)
    assert duplicate == pytest.approx(reference["duplicate_rate"], nan_ok=True)


def test_invariant_under_relabelling_and_order() -> None:
    hits, particles, tracks = micro_event()
    base = track_metrics(hits, particles, tracks)
    relabelled = tracks.assign(track_id=tracks["track_id"] * 7 - 1000).sample(
        frac=1.0, random_state=3
    )
    other = track_metrics(hits, particles, relabelled)
    assert other.keys() == base.keys()
    for key, value in base.items():
        assert other[key] == pytest.approx(value, nan_ok=True)


def test_real_sample_truth_tracks_are_perfect(sample_prefix: Path) -> None:
    hits, particles = sample_tables(sample_prefix)
    # The truth as tracks: one track per particle, noise hits left unassigned.
    tracks = hits.loc[hits["particle_id"] != 0, ["hit_id", "particle_id"]].rename(
        columns={"particle_id": "track_id"}
    )
    m = track_metrics(hits, particles, tracks)
    assert m["trackml_score"] == pytest.approx(1.0, abs=1e-6)
    assert m["n_noise_hits"] == (hits["particle_id"] == 0).sum() > 0
    for t in ("0", "0.5", "0.9", "1.5"):
        assert m[f"n_particles_pt{t}"] > 0
        assert (
            m[f"eff_perfect_pt{t}"] == 1.0
            and m[f"eff_dm_pt{t}"] == 1.0
            and m[f"eff_lhc_pt{t}"] == 1.0
        )
        assert m[f"fake_rate_pt{t}"] == 0.0 and m[f"duplicate_rate_pt{t}"] == 0.0
    counts = efficiency_counts(hits, particles, tracks)
    by_bin: dict[tuple, dict[str, float]] = defaultdict(dict)
    for key, value in counts.items():
        variable, lo, hi, kind = parse_count_key(key)
        by_bin[variable, lo, hi][kind] = value
    # Truth tracks: every particle in a bin is found, perfectly, by one track, never a fake.
    for c in by_bin.values():
        assert c["particles"] == c["dm"] == c["perfect"] == c["tracks"] == c["majority_tracks"]
        assert c["majority_particles"] == c["particles"] and c["fake_tracks"] == 0
    in_eta = particles["reconstructable"] & (particles["eta"].abs() < 4)
    assert sum(c["particles"] for (v, _, _), c in by_bin.items() if v == "pt") == in_eta.sum()


def test_real_sample_singletons_find_nothing(sample_prefix: Path) -> None:
    hits, particles = sample_tables(sample_prefix)
    singletons = pd.DataFrame({"hit_id": hits["hit_id"], "track_id": np.arange(len(hits))})
    m = track_metrics(hits, particles, singletons)
    assert m["trackml_score"] == 0.0 and m["n_tracks"] == 0
    assert m["eff_dm_pt0.9"] == 0.0 and math.isnan(m["fake_rate_pt0.9"])
