"""``trackrec import-tracks``: tracks made by another program, as a trackrec tracks table.

An outside tracker (ACTS, a TrackML challenge solution, one's own) writes a submission in the
challenge's format: ``hit_id, track_id`` per event, or one file for many events with an
``event_id`` column, as CSV, CSV.gz or Parquet. This command takes one event of it, checks it
against that event's hits table (every hit id known and given once) and writes it unchanged
as ``tracks/<method>/<event>.parquet``, so the workflow scores and reports it exactly like the
tracks of a built-in method. Hits the submission leaves out stay out: the metrics count them
as tracks of their own, as the official score does.

Also home of the ``--event`` option that ``score`` and ``evaluate`` share for such files.
"""

from __future__ import annotations

import argparse

from trackrec.errors import InputError, TrackrecError


def event_number_option(text: str) -> int:
    """``1000`` or ``event000001000`` -> 1000 (an argparse type)."""
    from trackrec.plan import event_number

    try:
        return event_number(text)
    except TrackrecError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_event_option(parser: argparse.ArgumentParser) -> None:
    """``--event``/``--event-id``: the event to read from a multi-event (challenge) submission."""
    parser.add_argument(
        "--event",
        "--event-id",
        dest="event",
        type=event_number_option,
        metavar="EVENT",
        help="event to take from a submission with an event_id column (1000 or "
        "event000001000); needed when it holds several events",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-tracks`` to trackrec."""
    parser = subparsers.add_parser(
        "import-tracks",
        help="check another tracker's submission against an event and store it as a tracks table",
        description="Read one event of a TrackML submission written by any tool (hit_id, "
        "track_id [, event_id]; csv, csv.gz or parquet), check that every hit id is a hit of "
        "the event given once, and write it as a trackrec tracks table (atomically).",
    )
    parser.add_argument(
        "--submission", required=True, metavar="SUB", help="the other tracker's submission"
    )
    add_event_option(parser)
    parser.add_argument(
        "--hits", required=True, metavar="HITS.parquet", help="hits table of the event"
    )
    parser.add_argument(
        "--out", required=True, metavar="TRACKS.parquet", help="tracks table to write"
    )
    parser.set_defaults(handler=run_import_tracks)


def run_import_tracks(args: argparse.Namespace) -> int:
    from trackrec.io.parquet import read_table, write_table
    from trackrec.io.trackml import load_submission_file
    from trackrec.metrics.score import check_submission

    tracks = load_submission_file(args.submission, event_id=args.event)
    hits = read_table(args.hits, "hits", columns=["hit_id"])
    try:
        check_submission(hits, tracks, truth_name=f"hits table {args.hits}")
    except TrackrecError as err:
        raise InputError(args.submission, str(err)) from None
    write_table(
        tracks, args.out, "tracks", config={"submission": str(args.submission), "event": args.event}
    )
    return 0
