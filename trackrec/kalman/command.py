"""``trackrec fit-tracks`` and ``trackrec fit-summary``: the Kalman fit as file-to-file stages."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def _add_dataclass_options(parser: argparse.ArgumentParser, cls: type) -> None:
    defaults = cls()
    for field in dataclasses.fields(cls):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=type(getattr(defaults, field.name)),
            default=getattr(defaults, field.name),
            help=f"{field.metadata['help']} (default: %(default)s)",
        )


def _dataclass_from_args(cls: type, args: argparse.Namespace):
    from trackrec.errors import TrackrecError

    params = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
    try:
        params.validate()
    except ValueError as err:
        raise TrackrecError(str(err)) from None
    return params


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fit-tracks``, ``fit-summary`` and ``track-ckf`` to ``trackrec``."""
    from trackrec.kalman.ckf import CkfParams
    from trackrec.kalman.fit import FitParams

    ckf = subparsers.add_parser(
        "track-ckf",
        help="find tracks with the combinatorial Kalman filter (ckf method)",
        description="Find the tracks of one event with the CKF (pixel triplet seeds, Kalman "
        "propagation with branching, shared-hit resolution) and write a TrackML submission "
        "table (hit_id, track_id) as Parquet. The hits table needs the module geometry.",
    )
    ckf.add_argument("--hits", required=True, help="hits table with module geometry (Parquet)")
    ckf.add_argument("--detectors", help="detectors.csv[.gz]: layer surfaces (default: from hits)")
    ckf.add_argument("--out", required=True, help="tracks table to write (Parquet)")
    ckf.add_argument("--threads", type=int, default=1, help="threads to use (default: 1)")
    _add_dataclass_options(ckf, CkfParams)
    ckf.set_defaults(handler=run_track_ckf)

    fit = subparsers.add_parser(
        "fit-tracks",
        help="Kalman-fit the tracks of one event (perigee parameters, errors, chi2)",
        description="Fit every track with at least --min-hits hits of a tracks table with the "
        "Kalman filter and smoother, and write the fitted table (Parquet). With --particles "
        "(and truth in the hits table), each track's majority particle's true parameters are "
        "written beside the fitted ones. With --detectors, the material of layers crossed "
        "without a hit is included.",
    )
    fit.add_argument("--hits", required=True, help="hits table with module geometry (Parquet)")
    fit.add_argument("--tracks", required=True, help="tracks table (hit_id, track_id; Parquet)")
    fit.add_argument("--particles", help="particles table (Parquet), for the true parameters")
    fit.add_argument("--detectors", help="detectors.csv[.gz]: material of layers without hits")
    fit.add_argument("--out", required=True, help="fitted table to write (Parquet)")
    _add_dataclass_options(fit, FitParams)
    fit.set_defaults(handler=run_fit_tracks)

    summary = subparsers.add_parser(
        "fit-summary",
        help="fit resolutions, pulls and charge misidentification of fitted tracks",
        description="Summarise fitted tables (fitted/<method>/<event>.parquet; the method is "
        "the name of each file's folder) into a JSON file and plots of the resolutions vs "
        "pT and vs eta.",
    )
    summary.add_argument("--fitted", nargs="+", required=True, help="fitted tables (Parquet)")
    summary.add_argument("--summary-json", required=True, help="summary JSON to write")
    summary.add_argument("--plot-pt", required=True, help="resolution vs pT plot (PNG)")
    summary.add_argument("--plot-eta", required=True, help="resolution vs eta plot (PNG)")
    summary.set_defaults(handler=run_fit_summary)


def run_fit_tracks(args: argparse.Namespace) -> None:
    import numpy as np

    from trackrec.errors import InputError, TrackrecError
    from trackrec.io import load_detector, read_table, write_table
    from trackrec.kalman.fit import FitParams, MaterialLayers, fitted_frame

    params = _dataclass_from_args(FitParams, args)
    hits = read_table(args.hits, "hits")
    tracks = read_table(args.tracks, "tracks")
    unknown = ~np.isin(tracks["hit_id"].to_numpy(), hits["hit_id"].to_numpy())
    if unknown.any():
        raise InputError(args.tracks, f"{int(unknown.sum())} hit ids are not in {args.hits}")
    if tracks["hit_id"].duplicated().any():
        raise InputError(args.tracks, "a hit is assigned to more than one track")
    particles = read_table(args.particles, "particles") if args.particles else None
    material = None
    if args.detectors:
        try:
            material = MaterialLayers.from_detector(load_detector(args.detectors),
                                                    params.radiation_lengths_per_mm)  # fmt: skip
        except TrackrecError as err:
            raise InputError(args.detectors, str(err)) from None
    try:
        frame = fitted_frame(hits, tracks, particles, params, material)
    except TrackrecError as err:
        raise InputError(args.hits, str(err)) from None
    write_table(frame, args.out, "fitted")


def run_track_ckf(args: argparse.Namespace) -> None:
    import pandas as pd

    from trackrec.errors import InputError, TrackrecError
    from trackrec.io import load_detector, read_table, write_table
    from trackrec.kalman.ckf import CkfParams, find_tracks
    from trackrec.kalman.fit import MaterialLayers

    params = _dataclass_from_args(CkfParams, args)
    if args.threads < 1:
        raise TrackrecError(f"--threads must be at least 1, not {args.threads}")
    hits = read_table(args.hits, "hits")
    material = None
    if args.detectors:
        try:
            material = MaterialLayers.from_detector(load_detector(args.detectors))
        except TrackrecError as err:
            raise InputError(args.detectors, str(err)) from None
    try:
        track_id = find_tracks(hits, params, material=material, threads=args.threads)
    except TrackrecError as err:
        raise InputError(args.hits, str(err)) from None
    write_table(pd.DataFrame({"hit_id": hits["hit_id"].to_numpy(), "track_id": track_id}),
                args.out, "tracks")  # fmt: skip


def run_fit_summary(args: argparse.Namespace) -> None:
    import pandas as pd

    from trackrec.io import atomic_output, read_table
    from trackrec.kalman.summary import fit_summary, plot_resolution

    by_method: dict[str, list[pd.DataFrame]] = {}
    for path in args.fitted:
        by_method.setdefault(Path(path).parent.name, []).append(read_table(path, "fitted"))
    frames = {m: pd.concat(parts, ignore_index=True) for m, parts in by_method.items()}
    summary = fit_summary(frames)
    text = json.dumps(summary, indent=1, allow_nan=False) + "\n"
    plot_resolution(summary, "pt", args.plot_pt)
    plot_resolution(summary, "eta", args.plot_eta)
    with atomic_output(args.summary_json) as tmp:
        tmp.write_text(text)
