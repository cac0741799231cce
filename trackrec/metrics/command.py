"""``trackrec score`` and ``trackrec evaluate``: thin file wrappers around the metrics.

Both read through :mod:`trackrec.io`, check the inputs against each other (turning a
problem into a one-line :class:`~trackrec.errors.InputError` that names the file), and call
the pure functions of :mod:`trackrec.metrics`. ``evaluate`` writes its JSON atomically.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path

from trackrec import __version__
from trackrec.errors import InputError, TrackrecError
from trackrec.io.submission_command import add_event_option
from trackrec.metrics.score import (
    add_missing_hits,
    check_submission,
    check_truth,
    score_event,
)
from trackrec.metrics.tracking import (
    DEFAULT_PT_THRESHOLDS,
    check_hits,
    check_particles,
    efficiency_counts,
    track_metrics,
)
from trackrec.options import integer, real


def _blame(path: str | Path, check: Callable[[], None]) -> None:
    """Run ``check``; re-raise its TrackrecError as an InputError naming ``path``."""
    try:
        check()
    except InputError:
        raise
    except TrackrecError as err:
        raise InputError(path, str(err)) from None


def metrics_json(
    metrics: Mapping[str, float], config: Mapping[str, object] | None = None
) -> str:
    """Flat JSON with sorted keys; NaN and infinities become ``null`` (JSON has neither).

    With ``config`` (the settings used), two string keys say what made the numbers:
    ``trackrec_version`` and ``trackrec_config`` (the settings as a JSON string, so that a
    reader of the numeric keys can skip every string value).
    """
    clean: dict[str, object] = {}
    for key, value in metrics.items():
        number = float(value)
        clean[key] = number if math.isfinite(number) else None
    if config is not None:
        clean["trackrec_version"] = __version__
        clean["trackrec_config"] = json.dumps(config, sort_keys=True)
    return json.dumps(clean, sort_keys=True, indent=1, allow_nan=False) + "\n"


def run_score(args: argparse.Namespace) -> int:
    from trackrec.io import load_submission_file, load_truth_file

    truth = load_truth_file(args.truth)
    _blame(args.truth, lambda: check_truth(truth))
    submission = load_submission_file(args.submission, event_id=args.event)
    _blame(
        args.submission,
        lambda: check_submission(truth, submission, truth_name=f"truth file {args.truth}"),
    )
    print(repr(score_event(truth, submission)))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from trackrec.io import atomic_output, load_submission_file, read_table

    hits = read_table(args.hits, "hits")
    if "particle_id" not in hits.columns or "weight" not in hits.columns:
        raise InputError(
            args.hits, "hits table has no truth columns (particle_id, weight); metrics need truth"
        )
    _blame(args.hits, lambda: check_hits(hits))
    particles = read_table(args.particles, "particles")
    _blame(args.particles, lambda: check_particles(particles))
    if particles.empty and (hits["particle_id"].to_numpy() != 0).any():
        raise InputError(
            args.particles, "particles table is empty (a test event?); metrics need truth"
        )
    tracks = load_submission_file(args.tracks, event_id=args.event)
    _blame(
        args.tracks,
        lambda: check_submission(
            hits, tracks, name="tracks table", truth_name=f"hits table {args.hits}"
        ),
    )
    tracks = add_missing_hits(hits["hit_id"].to_numpy(), tracks)
    options = {"max_abs_eta": args.max_abs_eta, "min_track_hits": args.min_track_hits}
    metrics = track_metrics(hits, particles, tracks, pt_thresholds=args.pt_thresholds, **options)
    metrics.update(efficiency_counts(hits, particles, tracks, **options))
    text = metrics_json(metrics, config={"metrics": {"pt_thresholds": args.pt_thresholds, **options}})
    with atomic_output(args.out) as tmp:
        tmp.write_text(text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``score`` and ``evaluate`` to trackrec."""
    score = subparsers.add_parser(
        "score",
        help="official TrackML score of a submission",
        description="Print the official TrackML score (a number in [0, 1]) of a submission "
        "against a truth file. Hits missing from the submission count as tracks of their own.",
    )
    score.add_argument("--truth", required=True, metavar="TRUTH", help="truth file (csv or csv.gz)")
    score.add_argument(
        "--submission",
        required=True,
        metavar="SUB",
        help="submission: hit_id, track_id (csv, csv.gz or parquet)",
    )
    add_event_option(score)
    score.set_defaults(handler=run_score)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="per-event tracking metrics as flat JSON",
        description="Compute the per-event tracking metrics (TrackML score, efficiencies, fake and "
        "duplicate rates, efficiency counts per pT and eta bin) and write them as flat JSON with "
        "sorted keys; undefined ratios are null.",
    )
    evaluate.add_argument(
        "--hits", required=True, metavar="HITS.parquet", help="hits table with truth"
    )
    evaluate.add_argument(
        "--particles", required=True, metavar="PARTICLES.parquet", help="particles table"
    )
    evaluate.add_argument(
        "--tracks",
        required=True,
        metavar="TRACKS",
        help="tracks: a trackrec tracks table, or a submission by any tool (hit_id, track_id "
        "[, event_id]; csv, csv.gz or parquet); hits it leaves out are tracks of their own",
    )
    add_event_option(evaluate)
    evaluate.add_argument("--out", required=True, metavar="METRICS.json", help="output JSON file")
    evaluate.add_argument(
        "--pt-thresholds",
        type=real(minimum=0),
        nargs="+",
        default=list(DEFAULT_PT_THRESHOLDS),
        metavar="PT",
        help="pT thresholds in GeV for the particles of interest (default: %(default)s)",
    )
    evaluate.add_argument(
        "--max-abs-eta",
        type=real(exclusive_minimum=0),
        default=4.0,
        help="|eta| cut for particles of interest (default: 4)",
    )
    evaluate.add_argument(
        "--min-track-hits",
        type=integer(minimum=1),
        default=3,
        help="smaller tracks are dropped (default: 3)",
    )
    evaluate.set_defaults(handler=run_evaluate)
