"""Benchmark the TrackML score and the per-event metrics on a full-size event.

A full-size event (~120,000 hits) is made in memory by tiling the real sample (5% of an
event) ``--tiles`` times with fresh hit and particle ids. The submission is the truth with
``--mangle`` of the hits moved to random tracks and as many left out. Prints:

* ``score_event`` (vectorised) against two per-hit Python loops, a plain dict-based one and
  one in the style of the reference ``trackml-library`` (sort, then ``itertuples``), and
  checks that all three give the same score;
* ``track_metrics`` + ``efficiency_counts`` on the same event;
* ``edge_metrics`` on a graph of the truth segments plus ``--false-per-hit`` random edges.

    python benchmarks/bench_score.py [--tiles 22] [--mangle 0.1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from trackrec.io import build_hits_table, build_particles_table, load_event
from trackrec.metrics import efficiency_counts, score_event, track_metrics
from trackrec.metrics.edges import edge_metrics, truth_segments

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "trackml_sample"


def tiled_tables(sample: Path, tiles: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hits and particles tables of ``tiles`` copies of the sample event, ids kept unique."""
    hits, particles, truth = load_event(sample / "event000000001", ("hits", "particles", "truth"))
    hit_step = int(hits["hit_id"].max()) + 1
    # Real particle ids are ~1e17: renumber them 1..n per copy instead of shifting.
    rank = pd.Series(np.arange(1, len(particles) + 1), index=particles["particle_id"])
    pid_step = len(particles) + 1
    truth_rank = rank.reindex(truth["particle_id"].to_numpy()).fillna(0).to_numpy(dtype=np.int64)
    hit_frames, particle_frames, truth_frames = [], [], []
    for k in range(tiles):
        truth_pid = np.where(truth["particle_id"].to_numpy() == 0, 0, truth_rank + k * pid_step)
        hit_frames.append(hits.assign(hit_id=hits["hit_id"] + k * hit_step))
        particle_frames.append(particles.assign(particle_id=rank.to_numpy() + k * pid_step))
        truth_frames.append(
            truth.assign(hit_id=truth["hit_id"] + k * hit_step, particle_id=truth_pid)
        )
    hits, particles, truth = (
        pd.concat(f, ignore_index=True) for f in (hit_frames, particle_frames, truth_frames)
    )
    return build_hits_table(hits, None, truth, particles), build_particles_table(
        particles, truth, hits
    )


def per_hit_loop_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The score with a Python loop over hits (the bookkeeping of the reference library)."""
    track_of = dict(zip(submission["hit_id"].tolist(), submission["track_id"].tolist()))
    particle_size: dict[int, int] = defaultdict(int)
    track_size: dict[object, int] = defaultdict(int)
    shared: dict[tuple[object, int], int] = defaultdict(int)
    shared_weight: dict[tuple[object, int], float] = defaultdict(float)
    total = 0.0
    for hit, particle, weight in zip(
        truth["hit_id"].tolist(), truth["particle_id"].tolist(), truth["weight"].tolist()
    ):
        track = track_of.get(hit, ("absent", hit))
        particle_size[particle] += 1
        track_size[track] += 1
        shared[(track, particle)] += 1
        shared_weight[(track, particle)] += weight
        total += weight
    score = 0.0
    for (track, particle), n in shared.items():
        if particle != 0 and 2 * n > track_size[track] and 2 * n > particle_size[particle]:
            score += shared_weight[(track, particle)]
    return score / total


def sorted_loop_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The score as the reference ``trackml-library`` computes it: merge, sort by (track,
    particle), then one ``itertuples`` pass keeping running counts per track and particle."""
    truth = truth.astype({"weight": np.float64})
    particle_size = truth["particle_id"].value_counts(sort=False)
    total = truth["weight"].sum()
    event = truth.merge(submission, on="hit_id", how="left")
    # Absent hits: tracks of their own, numbered after every submitted track id.
    absent = event["track_id"].isna()
    next_id = (submission["track_id"].max() + 1) if len(submission) else 0
    event.loc[absent, "track_id"] = next_id + np.arange(absent.sum())
    event = event.sort_values(["track_id", "particle_id"])
    score = 0.0

    def close(n_track: int, best: tuple[int, int, float]) -> float:
        particle, n, weight = best
        good = particle != 0 and 2 * n > n_track and 2 * n > particle_size[particle]
        return weight if good else 0.0

    track, n_track, current, best = None, 0, (0, 0, 0.0), (0, 0, 0.0)
    for hit in event.itertuples(index=False):
        if hit.track_id != track:
            if track is not None:
                best = current if current[1] > best[1] else best
                score += close(n_track, best)
            track, n_track, current, best = hit.track_id, 0, (hit.particle_id, 0, 0.0), (0, 0, 0.0)
        n_track += 1
        if hit.particle_id != current[0]:
            best = current if current[1] > best[1] else best
            current = (hit.particle_id, 0, 0.0)
        current = (current[0], current[1] + 1, current[2] + hit.weight)
    if track is not None:
        best = current if current[1] > best[1] else best
        score += close(n_track, best)
    return score / total


def best_of(repeat: int, call: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--tiles", type=int, default=22)
    parser.add_argument("--mangle", type=float, default=0.1)
    parser.add_argument("--false-per-hit", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (args.sample / "event000000001-hits.csv.gz").exists():
        print(f"sample event not found in {args.sample}", file=sys.stderr)
        return 1

    rng = np.random.default_rng(0)
    hits, particles = tiled_tables(args.sample, args.tiles)
    truth = hits[["hit_id", "particle_id", "weight"]]
    submission = pd.DataFrame({"hit_id": hits["hit_id"], "track_id": hits["particle_id"]})
    moved = rng.random(len(submission)) < args.mangle
    submission.loc[moved, "track_id"] = rng.integers(0, 20_000, moved.sum())
    submission = submission[rng.random(len(submission)) >= args.mangle].sample(
        frac=1.0, random_state=1
    )
    print(
        f"event: {len(hits):,} hits, {len(particles):,} particles; submission: {len(submission):,} hits, "
        f"{submission['track_id'].nunique():,} tracks; CPU cores: {os.cpu_count()}"
    )

    fast, fast_score = best_of(args.repeat, lambda: score_event(truth, submission))
    slow, slow_score = best_of(1, lambda: per_hit_loop_score(truth, submission))
    ref, ref_score = best_of(1, lambda: sorted_loop_score(truth, submission))
    assert abs(fast_score - slow_score) < 1e-9 and abs(fast_score - ref_score) < 1e-9, (
        fast_score,
        slow_score,
        ref_score,
    )
    print(f"score_event (vectorised):   {fast * 1e3:8.1f} ms   score {fast_score:.6f}")
    print(
        f"per-hit dict loop:          {slow * 1e3:8.1f} ms   score {slow_score:.6f}   ({slow / fast:.1f}x slower)"
    )
    print(
        f"sorted itertuples loop:     {ref * 1e3:8.1f} ms   score {ref_score:.6f}   ({ref / fast:.1f}x slower)"
    )

    tracks = submission
    took, _ = best_of(args.repeat, lambda: track_metrics(hits, particles, tracks))
    print(f"track_metrics:              {took * 1e3:8.1f} ms")
    took, _ = best_of(args.repeat, lambda: efficiency_counts(hits, particles, tracks))
    print(f"efficiency_counts:          {took * 1e3:8.1f} ms")

    first, second = truth_segments(hits, particles, np.ones(len(particles), dtype=bool))
    n_false = int(args.false_per_hit * len(hits))
    src = np.concatenate([first, rng.integers(0, len(hits), n_false)])
    dst = np.concatenate([second, rng.integers(0, len(hits), n_false)])
    scores = np.concatenate([rng.beta(5, 1, len(first)), rng.beta(1, 5, n_false)])
    took, result = best_of(args.repeat, lambda: edge_metrics(src, dst, scores, hits, particles))
    print(
        f"edge_metrics ({len(src):,} edges): {took * 1e3:8.1f} ms   "
        f"segment50 {result['segment50']:.3f}, n_edges_segment50_95 {result['n_edges_segment50_95']:,.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
