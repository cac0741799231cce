"""``trackrec train-noise-filter``, ``filter-noise`` and ``report-noise-filter``.

Thin file wrappers around :mod:`trackrec.noise.stage`: each takes the ``noise_filter``
config section as JSON (``--config``), reads through :mod:`trackrec.io` and writes its
outputs atomically (all of them or none).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the noise-filter subcommands to ``trackrec``."""
    train = subparsers.add_parser(
        "train-noise-filter",
        help="train the noise-hit classifier and choose its working point",
        description="Train the noise_filter.model (gbdt or mlp) on the training events, choose "
        "the threshold on the validation events so that at most max_poi_loss of the hits of "
        "particles of interest (pT > 0.9 GeV, reconstructable) are removed, and write the "
        "model (.npz trees or .pt weights) with its provenance JSON beside it.",
    )
    train.add_argument("--train-hits", nargs="+", required=True, help="hits tables (Parquet)")
    train.add_argument("--train-particles", nargs="+", required=True,
                       help="particles tables, in the same order")  # fmt: skip
    train.add_argument("--val-hits", nargs="*", default=[],
                       help="validation hits tables (none: the working point comes from training)")
    train.add_argument("--val-particles", nargs="*", default=[])
    train.add_argument("--config", required=True, help="the noise_filter config section (JSON)")
    train.add_argument("--data", default="{}",
                       help="the data config section (JSON), recorded in the provenance")  # fmt: skip
    train.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    train.add_argument("--out", required=True, help="model file to write (.npz or .pt)")
    train.set_defaults(handler=run_train)

    filt = subparsers.add_parser(
        "filter-noise",
        help="remove noise hits from one event",
        description="Score every hit of one event with the noise model and write the hits "
        "kept (score at or below the model's threshold) with their noise_score, and the "
        "event's metrics (noise_auc, noise_removed_frac, good_hit_loss_pt0.9, "
        "good_hit_loss_all; null without truth) as flat JSON.",
    )
    filt.add_argument("--hits", required=True, help="hits table (Parquet)")
    filt.add_argument("--particles", help="particles table (Parquet), for the metrics")
    filt.add_argument("--model", help="trained model (gbdt: .npz, mlp: .pt)")
    filt.add_argument("--config", required=True, help="the noise_filter config section (JSON)")
    filt.add_argument("--out", required=True, help="filtered hits table to write (Parquet)")
    filt.add_argument("--metrics", required=True, help="metrics JSON to write")
    filt.add_argument("--histograms", required=True,
                      help="score histograms JSON to write (for the ROC curve)")  # fmt: skip
    filt.set_defaults(handler=run_filter)

    rep = subparsers.add_parser(
        "report-noise-filter",
        help="summarise the noise filter over a run's events (JSON + ROC plot)",
        description="Average the per-event noise-filter metrics, draw the ROC curve (noise "
        "removed against loss of particle-of-interest hits) with the working point, and "
        "write a summary JSON and a PNG.",
    )
    rep.add_argument("--metrics", nargs="+", required=True, help="per-event metrics JSON files")
    rep.add_argument("--histograms", nargs="*", default=[], help="per-event histogram files")
    rep.add_argument("--model", help="the model file (its provenance is summarised)")
    rep.add_argument("--config", required=True, help="the noise_filter config section (JSON)")
    rep.add_argument("--summary-json", required=True)
    rep.add_argument("--plot-roc", required=True)
    rep.set_defaults(handler=run_report)


def _section(args: argparse.Namespace) -> dict:
    from trackrec.noise.stage import read_section

    return read_section(args.config)


def run_train(args: argparse.Namespace) -> None:
    from trackrec.errors import TrackrecError
    from trackrec.noise.stage import train_noise_filter

    if len(args.train_hits) != len(args.train_particles) or len(args.val_hits) != len(
        args.val_particles
    ):
        raise TrackrecError("give one particles table per hits table")
    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as err:
        raise TrackrecError(f"--data is not valid JSON ({err})") from None
    train_noise_filter(
        train=list(zip(args.train_hits, args.train_particles)),
        val=list(zip(args.val_hits, args.val_particles)),
        out=args.out, section=_section(args), data=data, threads=args.threads,
    )  # fmt: skip


def _json_text(record: dict) -> str:
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(record), sort_keys=True, indent=1, allow_nan=False) + "\n"


def run_filter(args: argparse.Namespace) -> None:
    from trackrec.errors import TrackrecError
    from trackrec.io.atomic import atomic_outputs
    from trackrec.io.parquet import to_arrow
    from trackrec.noise.filter import LEARNED_MODELS
    from trackrec.noise.stage import filter_event, load_event, load_scorer

    section = _section(args)
    scorer = None
    if section["model"] in LEARNED_MODELS:
        if not args.model:
            raise TrackrecError(f"noise_filter.model {section['model']} needs --model")
        scorer = load_scorer(args.model, section)
    hits, particles = load_event(args.hits, args.particles)
    kept, metrics, hist = filter_event(hits, particles, section, scorer, args.hits)
    arrow = to_arrow(kept, "filtered", path=args.out)
    import pyarrow.parquet as pq

    with atomic_outputs([args.out, args.metrics, args.histograms]) as (t_out, t_m, t_h):
        pq.write_table(arrow, t_out)
        Path(t_m).write_text(_json_text(metrics))
        Path(t_h).write_text(_json_text(hist or {}))
    print(f"kept {metrics['n_kept']} of {metrics['n_hits']} hits")


def run_report(args: argparse.Namespace) -> None:
    from trackrec.noise.report import write_report

    write_report(metrics_files=args.metrics, histogram_files=args.histograms,
                 model=args.model, section=_section(args), summary_json=args.summary_json,
                 plot=args.plot_roc)  # fmt: skip
