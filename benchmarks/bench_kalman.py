"""Kalman baseline speed on simulated pileup-200 events: fit throughput and CKF time per event.

Fit: every particle with at least 3 hits is a truth track; the fit kernel runs on all tracks
of the event in one call (numba, one thread), timed after a warm-up call, best of
``--repeats``; printed as tracks per second per core, for 1 and 2 filter-smoother passes.
CKF (``--ckf``): ``find_tracks`` on the whole event with the configured threads, seconds per
event (after a warm-up on the first event), and its efficiency and fake rate.

    python benchmarks/bench_kalman.py --events 2 --pileup 200 [--pulls] [--ckf] [--threads 2]
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


def trackml_event(prefix: str, detectors: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A real TrackML event with truth: hits and particles tables, and its detector frame."""
    from trackrec.io import build_hits_table, build_particles_table, load_detector, load_event

    hits, cells, truth, particles = load_event(prefix, ["hits", "cells", "truth", "particles"])
    detector = load_detector(detectors)
    table = build_hits_table(hits, cells, truth, particles, detector)
    return table, build_particles_table(particles, truth, hits), detector


def print_field(hits: pd.DataFrame) -> None:
    """The field along each particle's path from its true momentum at consecutive hits:
    B = -(turn of the momentum's azimuth) / (transverse distance) * pT / (0.0003 q),
    in bins of |z| (pT > 0.5 GeV, hits at least 20 mm apart)."""
    real = hits[(hits["particle_id"] != 0) & (hits["tpt"] > 0.5)].copy()
    real["r"] = np.hypot(real["x"], real["y"])
    real = real.sort_values(["particle_id", "r"])
    same = real["particle_id"].to_numpy()[1:] == real["particle_id"].to_numpy()[:-1]
    x, y, z = (real[c].to_numpy(np.float64) for c in ("x", "y", "z"))
    phi = np.arctan2(real["tpy"].to_numpy(np.float64), real["tpx"].to_numpy(np.float64))
    pt, q = real["tpt"].to_numpy(np.float64), real["q"].to_numpy(np.float64)
    step = np.hypot(np.diff(x), np.diff(y))
    turn = (np.diff(phi) + np.pi) % (2 * np.pi) - np.pi
    keep = same & (step > 20.0)
    field = -turn[keep] / step[keep] * pt[:-1][keep] / (0.0003 * q[:-1][keep])
    mid_z = np.abs(0.5 * (z[1:] + z[:-1]))[keep]
    print("field from the truth momenta, T (median, 25%-75%) by |z| of the hit pair:")
    for lo in range(0, 3000, 500):
        sel = (mid_z >= lo) & (mid_z < lo + 500)
        if sel.sum() >= 10:
            a, b, c = np.percentile(field[sel], [25, 50, 75])
            print(f"  |z| {lo}-{lo + 500} mm: {b:.2f} ({a:.2f}-{c:.2f}), {int(sel.sum())} pairs")


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


def bench_ckf(events: list[tuple[pd.DataFrame, pd.DataFrame]], threads: int,
              detector: pd.DataFrame | None = None) -> None:  # fmt: skip
    from trackrec.kalman.ckf import CkfParams, find_tracks
    from trackrec.kalman.fit import MaterialLayers
    from trackrec.metrics.tracking import match_tracks, particle_match_flags, track_metrics
    from trackrec.simulate import build_detector

    params = CkfParams()
    material = MaterialLayers.from_detector(build_detector() if detector is None else detector)
    find_tracks(events[0][0], params, material=material, threads=threads)  # compile / warm up
    for hits, particles in events:
        start, start_cpu = time.perf_counter(), time.process_time()
        track_id = find_tracks(hits, params, material=material, threads=threads)
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


def print_pulls(events: list[tuple[pd.DataFrame, pd.DataFrame]],
                detector: pd.DataFrame | None = None) -> None:  # fmt: skip
    """Pull table of truth tracks (every particle's hits) fitted with the default settings."""
    from trackrec.kalman.fit import PARAMETERS, MaterialLayers, fitted_frame
    from trackrec.kalman.summary import method_summary, residual_frame
    from trackrec.metrics.resolution import pruned_rms, quantile_width
    from trackrec.simulate import build_detector

    material = MaterialLayers.from_detector(build_detector() if detector is None else detector)
    frames = []
    for hits, particles in events:
        real = hits[hits["particle_id"] != 0]
        tracks = pd.DataFrame({"hit_id": real["hit_id"], "track_id": real["particle_id"]})
        frame = fitted_frame(hits, tracks, particles, material=material)
        info = particles.set_index("particle_id").reindex(frame["particle_id"])
        frames.append(frame.assign(pion=(info["particle_type"].abs() == 211).to_numpy(),
                                   vr=info["vr"].to_numpy()))  # fmt: skip
    fitted = pd.concat(frames, ignore_index=True)
    samples = {
        "primary pions, pT > 0.5 GeV": fitted["pion"] & (fitted["vr"] < 1) & (fitted["true_pt"] > 0.5),
        "all particles, pT > 0.5 GeV": fitted["true_pt"] > 0.5,
        "all particles": fitted["true_pt"] > 0,
    }  # fmt: skip
    for label, chosen in samples.items():
        res = residual_frame(fitted[chosen.to_numpy()])
        print(f"pulls, {label} ({len(res)} tracks): parameter, mean, pruned RMS, 68% quantile")
        for name in PARAMETERS:
            mean, rms, _ = pruned_rms(res[f"pull_{name}"])
            print(f"  {name:6s} {mean:+.3f} {rms:.3f} {quantile_width(res[f'pull_{name}']):.3f}")
    summary = method_summary(fitted)
    print(f"charge misidentification {summary['charge_misid_rate']:.4f}; fit failures "
          f"{summary['fit_failure_rate']:.4f}; relative pT resolution (pruned RMS / quantile):")
    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:+.4f}"

    for row in summary["rel_pt_vs_pt"]:
        print(f"  pT {row['lo']:g}-{row['hi']:g} GeV: {number(row['rms'])} / "
              f"{number(row['quantile_width'])} ({row['n']:.0f} tracks)")
    print("relative pT residual vs eta (pT > 0.9 GeV): pruned mean / pruned RMS")
    for row in summary["rel_pt_vs_eta"]:
        if row["n"]:
            print(f"  eta {row['lo']:g}..{row['hi']:g}: {number(row['mean'])} / "
                  f"{number(row['rms'])} ({row['n']:.0f} tracks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1)
    parser.add_argument("--pileup", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ckf", action="store_true", help="also time the CKF track finder")
    parser.add_argument("--no-fit", action="store_true", help="skip the fit benchmark")
    parser.add_argument("--threads", type=int, default=2, help="CKF threads")
    parser.add_argument("--pulls", action="store_true", help="print the fit's pull table")
    parser.add_argument("--trackml", metavar="PREFIX",
                        help="use this real TrackML event (with truth) instead of simulated ones")
    parser.add_argument("--detectors", help="its detectors.csv[.gz] (with --trackml)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    events, detector = [], None
    if args.trackml:
        hits, particles, detector = trackml_event(args.trackml, args.detectors)
        events.append((hits, particles))
        print(f"TrackML event {args.trackml}: {len(hits)} hits")
    for i in range(0 if args.trackml else args.events):
        start = time.perf_counter()
        events.append(simulated_event(1000 + i, args.pileup, args.seed))
        print(f"simulated event {1000 + i}: {len(events[-1][0])} hits "
              f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    if not args.no_fit:
        for hits, _ in events:
            bench_fit(hits, args.repeats)
    if args.trackml:
        print_field(events[0][0])
    if args.pulls:
        print_pulls(events, detector)
    if args.ckf:
        bench_ckf(events, args.threads, detector)


if __name__ == "__main__":
    main()
