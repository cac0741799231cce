"""Kalman baseline speed on simulated pileup-200 events: fit throughput and CKF time per event.

Fit: every particle with at least 3 hits is a truth track; the fit kernel runs on all tracks
of the event in one call (numba, one thread), timed after a warm-up call, best of
``--repeats``; printed as tracks per second per core, for 1 and 2 filter-smoother passes.
CKF (``--ckf``): ``find_tracks`` on the whole event with the configured threads, seconds per
event (after a warm-up on the first event), and its efficiency and fake rate.

    python benchmarks/bench_kalman.py --events 2 --pileup 200 [--ckf] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd


def simulated_event(event_id: int, pileup: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from trackrec.io import build_hits_table, build_particles_table
    from trackrec.simulate import build_detector, simulate_event

    detector = build_detector()
    ev = simulate_event(detector, event_id=event_id, pileup=pileup, seed=seed)
    hits = build_hits_table(ev["hits"], ev["cells"], ev["truth"], ev["particles"], detector)
    return hits, build_particles_table(ev["particles"], ev["truth"], ev["hits"])


def bench_fit(hits: pd.DataFrame, repeats: int) -> None:
    from trackrec.kalman.fit import FitParams, MaterialLayers, fit_arrays, flight_order, hit_arrays
    from trackrec.simulate import build_detector

    real = hits[hits["particle_id"] != 0]
    codes, _ = pd.factorize(real["particle_id"], sort=True)
    counts = np.bincount(codes)
    keep = counts[codes] >= 3
    real, codes = real[keep], pd.factorize(real["particle_id"][keep], sort=True)[0]
    arrays = hit_arrays(real)
    order = flight_order(arrays["position"], codes)
    arrays = {k: v[order] for k, v in arrays.items()}
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    n_tracks = offsets.size - 1
    material = MaterialLayers.from_detector(build_detector())
    for passes in (1, 2):
        params = FitParams(passes=passes)
        fit_arrays(offsets, **arrays, params=params, material=material)  # compile / warm up
        best, best_cpu = np.inf, np.inf
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.thread_time()
            result = fit_arrays(offsets, **arrays, params=params, material=material)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.thread_time() - start_cpu)
        print(f"fit passes={passes}: {n_tracks} tracks, {offsets[-1]} hits, wall {best * 1e3:.1f} ms "
              f"-> {n_tracks / best:,.0f} tracks/s; thread CPU {best_cpu * 1e3:.1f} ms -> "
              f"{n_tracks / best_cpu:,.0f} tracks/s/core (failed: {int((~result.ok).sum())})")  # fmt: skip


def bench_ckf(events: list[tuple[pd.DataFrame, pd.DataFrame]], threads: int) -> None:
    from trackrec.kalman.ckf import CkfParams, find_tracks
    from trackrec.metrics.tracking import match_tracks, particle_match_flags, track_metrics

    params = CkfParams()
    find_tracks(events[0][0], params, threads=threads)  # compile / warm up
    for hits, particles in events:
        start, start_cpu = time.perf_counter(), time.process_time()
        track_id = find_tracks(hits, params, threads=threads)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        tracks = pd.DataFrame({"hit_id": hits["hit_id"].to_numpy(), "track_id": track_id})
        m = track_metrics(hits, particles, tracks, pt_thresholds=[0.9])
        dm, _ = particle_match_flags(particles, match_tracks(hits, tracks))
        interest = (particles["reconstructable"] & (particles["pt"] > 0.9)
                    & (particles["eta"].abs() < 4)).to_numpy()  # fmt: skip
        primary = interest & (particles["vr"] < 1.0).to_numpy()
        print(f"ckf: {len(hits)} hits, {elapsed:.2f} s/event ({threads} threads, {cpu:.2f} s CPU); "
              f"primaries (vertex within 1 mm of the beam line) eff_dm {dm[primary].mean():.4f} "
              f"({int(primary.sum())}), displaced {dm[interest & ~primary].mean():.4f} "
              f"({int((interest & ~primary).sum())}); "
              f"eff_dm_pt0.9 {m['eff_dm_pt0.9']:.4f}, fake_rate_pt0.9 {m['fake_rate_pt0.9']:.4f}, "
              f"duplicate_rate_pt0.9 {m['duplicate_rate_pt0.9']:.4f}, "
              f"trackml_score {m['trackml_score']:.4f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1)
    parser.add_argument("--pileup", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ckf", action="store_true", help="also time the CKF track finder")
    parser.add_argument("--no-fit", action="store_true", help="skip the fit benchmark")
    parser.add_argument("--threads", type=int, default=2, help="CKF threads")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    events = []
    for i in range(args.events):
        start = time.perf_counter()
        events.append(simulated_event(1000 + i, args.pileup, args.seed))
        print(f"simulated event {1000 + i}: {len(events[-1][0])} hits "
              f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    if not args.no_fit:
        for hits, _ in events:
            bench_fit(hits, args.repeats)
    if args.ckf:
        bench_ckf(events, args.threads)


if __name__ == "__main__":
    main()
