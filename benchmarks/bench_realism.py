"""Simulated pileup-200 events beside the real TrackML events, figure by figure.

Usage: python benchmarks/bench_realism.py [--seeds 1 2 3] [--data ../shared/data]

Reads the two real full events (trackml_full: hits and particles) and the real sample
(trackml_sample: with truth and cells), simulates one pileup-200 event per seed with the
built-in detector, and prints Markdown tables: per-event figures, KS distances against each
real event with their 99 % limits, hit shares per volume, the noise share per volume and the
mean cells per hit per volume for particle and noise hits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from trackrec.io import load_event
from trackrec.simulate import build_detector, prepare_geometry, simulate_event
from trackrec.simulate.realism import (
    abs_eta,
    hit_cell_features,
    is_prompt,
    ks_limit,
    noise_share,
    prompt_vertices,
    transverse_momentum,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
FULL_EVENTS = ("event000001001", "event000001003")


def event_row(hits: pd.DataFrame, particles: pd.DataFrame) -> dict[str, str]:
    vertices = prompt_vertices(particles)
    pt = transverse_momentum(particles)
    with_hits = particles["nhits"] > 0
    return {
        "hits": f"{len(hits):,}",
        "particles": f"{len(particles):,}",
        "particles with hits": f"{int(with_hits.sum()):,}",
        "noise share": f"{100 * noise_share(hits, particles):.1f}%",
        "std vz, prompt particles (mm)": f"{particles['vz'][is_prompt(particles)].std():.2f}",
        "std vz, vertices with >= 5 (mm)": f"{vertices['vz'].std():.2f} ({len(vertices)})",
        "std vx, vy of those (um)": f"{1000 * vertices['vx'].std():.0f}, {1000 * vertices['vy'].std():.0f}",
        "median pT (GeV)": f"{np.median(pt):.3f}",
        "pT > 0.9 GeV and >= 3 hits": f"{int(((pt > 0.9) & (particles['nhits'] >= 3)).sum()):,}",
        "displaced (vxy >= 1 mm)": f"{100 * (~is_prompt(particles)).mean():.1f}%",
        "mean hits per particle with hits": f"{particles['nhits'][with_hits].mean():.2f}",
    }


def markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join([frame.index.name or ""] + list(map(str, frame.columns))) + " |"
    rule = "|" + "---|" * (len(frame.columns) + 1)
    rows = ["| " + " | ".join([str(i)] + [str(v) for v in row]) + " |" for i, row in frame.iterrows()]
    return "\n".join([header, rule, *rows])


def ks_table(real: dict[str, pd.DataFrame], simulated: dict[str, pd.DataFrame]) -> pd.DataFrame:
    figures = {
        "pT": transverse_momentum,
        "|eta|": abs_eta,
        "hits per particle (>0)": lambda p: p["nhits"][p["nhits"] > 0].to_numpy(),
    }
    names = list(real)
    rows = {}
    for label, fn in figures.items():
        a, b = fn(real[names[0]]), fn(real[names[1]])
        row = {f"{names[0]} vs {names[1]}": f"{ks_2samp(a, b).statistic:.3f} ({ks_limit(a.size, b.size):.3f})"}
        for sim_name, particles in simulated.items():
            values = fn(particles)
            for name in names:
                ref = fn(real[name])
                distance = ks_2samp(values, ref).statistic
                row[f"{sim_name} vs {name}"] = f"{distance:.3f} ({ks_limit(values.size, ref.size):.3f})"
        rows[label] = row
    return pd.DataFrame(rows).T.rename_axis("KS distance (99 % limit)")


def volume_table(features: dict[str, pd.DataFrame]) -> pd.DataFrame:
    columns = {}
    for name, hits in features.items():
        noise = hits[hits["noise"]]
        share = noise["volume_id"].value_counts(normalize=True)
        columns[f"{name} noise share"] = (100 * share).map("{:.1f}%".format)
        for kind, sel in (("particle", ~hits["noise"]), ("noise", hits["noise"])):
            mean = hits[sel].groupby("volume_id")["n_cells"].mean()
            columns[f"{name} cells/{kind} hit"] = mean.map("{:.2f}".format)
    return pd.DataFrame(columns).rename_axis("volume")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    real_hits, real_particles = {}, {}
    for name in FULL_EVENTS:
        prefix = args.data / "trackml_full" / name
        real_hits[name[-4:]] = pd.read_csv(f"{prefix}-hits.csv.gz")
        real_particles[name[-4:]] = pd.read_csv(f"{prefix}-particles.csv.gz")
    geometry = prepare_geometry(build_detector())
    sim_tables = {f"seed {s}": simulate_event(geometry, event_id=1000 + s, pileup=200, seed=s) for s in args.seeds}
    sim_hits = {k: t["hits"] for k, t in sim_tables.items()}
    sim_particles = {k: t["particles"] for k, t in sim_tables.items()}

    rows = {name: event_row(real_hits[name], real_particles[name]) for name in real_hits}
    rows.update({name: event_row(sim_hits[name], sim_particles[name]) for name in sim_hits})
    print(markdown(pd.DataFrame(rows).rename_axis("figure")), end="\n\n")
    print(markdown(ks_table(real_particles, sim_particles)), end="\n\n")

    shares = {name: h["volume_id"].value_counts(normalize=True) for name, h in {**real_hits, **sim_hits}.items()}
    share_frame = (100 * pd.DataFrame(shares)).map("{:.1f}%".format).rename_axis("hits per volume")
    print(markdown(share_frame), end="\n\n")

    hits, cells, _, truth = load_event(args.data / "trackml_sample" / "event000000001")
    features = {"sample": hit_cell_features(hits, cells, truth)}
    first = next(iter(sim_tables))
    tables = sim_tables[first]
    features[first] = hit_cell_features(tables["hits"], tables["cells"], tables["truth"])
    print(markdown(volume_table(features)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
