"""``trackrec track-dbscan``: the DBSCAN baseline track finder as a file-to-file stage."""

from __future__ import annotations

import argparse
import dataclasses

import pandas as pd

from trackrec.options import integer
from trackrec.tracking.dbscan import DbscanParams, dbscan_track_ids


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the track-building subcommands to ``trackrec``."""
    parser = subparsers.add_parser(
        "track-dbscan",
        help="find tracks with DBSCAN on helix-unrolled hit coordinates",
        description="Cluster the hits of one event into tracks (dbscan_baseline method) and "
        "write a TrackML submission table (hit_id, track_id) as Parquet.",
    )
    parser.add_argument(
        "--hits", required=True, help="hits table (Parquet, from `trackrec ingest`)"
    )
    parser.add_argument("--out", required=True, help="tracks table to write (Parquet)")
    defaults = DbscanParams()
    for field in dataclasses.fields(DbscanParams):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=field.metadata["type"],
            default=getattr(defaults, field.name),
            help=f"{field.metadata['help']} (default: %(default)s)",
        )
    parser.add_argument(
        "--threads",
        type=integer(minimum=1),
        default=1,
        help="threads clustering the curvature scan in parallel; the tracks do not depend "
        "on it (default: %(default)s)",
    )
    parser.set_defaults(handler=run_dbscan)


def run_dbscan(args: argparse.Namespace) -> None:
    from trackrec.errors import TrackrecError
    from trackrec.io.parquet import read_table, write_table

    params = DbscanParams(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(DbscanParams)}
    )
    try:
        params.validate()
    except ValueError as err:
        raise TrackrecError(str(err)) from None
    hits = read_table(args.hits, "hits", columns=["hit_id", "x", "y", "z"])
    track_ids = dbscan_track_ids(
        hits["x"].to_numpy(), hits["y"].to_numpy(), hits["z"].to_numpy(), params,
        threads=args.threads,
    )
    write_table(
        pd.DataFrame({"hit_id": hits["hit_id"].to_numpy(), "track_id": track_ids}),
        args.out,
        "tracks",
        config={"tracking": {"dbscan_baseline": dataclasses.asdict(params)}},
    )
