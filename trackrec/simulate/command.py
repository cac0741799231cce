"""``trackrec simulate`` and ``trackrec simulate-detector``: TrackML-format events offline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from trackrec.errors import InputError, TrackrecError
from trackrec.options import integer, real

MAX_EVENT_ID = 999_999_999  # nine digits in the TrackML file names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this family's subcommands to trackrec."""
    sim = subparsers.add_parser(
        "simulate",
        help="simulate TrackML-format events (hits, cells, particles, truth)",
        description="Simulate events at the given pileup and write DIR/event%09d-{hits,cells,"
        "particles,truth}.csv.gz and DIR/detectors.csv.gz in the TrackML formats.",
    )
    sim.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    sim.add_argument(
        "--events",
        type=integer(minimum=1),
        default=1,
        metavar="N",
        help="number of events (default 1)",
    )
    sim.add_argument(
        "--pileup",
        type=real(minimum=0),
        default=200.0,
        metavar="MU",
        help="mean number of pileup interactions (default 200; 0 = hard scatter only)",
    )
    sim.add_argument(
        "--seed", type=integer(minimum=0), default=0, metavar="S", help="random seed (default 0)"
    )
    sim.add_argument(
        "--first-event-id",
        type=integer(minimum=0, maximum=MAX_EVENT_ID),
        default=1000,
        metavar="K",
        help="id of the first event (default 1000, like TrackML's train_1)",
    )
    sim.add_argument(
        "--detectors",
        type=Path,
        metavar="FILE",
        help="detectors.csv[.gz] to use instead of the built-in parametric detector",
    )
    sim.add_argument(
        "--geometry",
        type=Path,
        metavar="GEOMETRY.npz",
        help="the --detectors file already prepared (by simulate-detector --geometry): "
        "loaded instead of reading and preparing the detector again",
    )
    sim.set_defaults(handler=run_simulate)

    det = subparsers.add_parser(
        "simulate-detector",
        help="write the built-in parametric detector as detectors.csv[.gz]",
        description="Write the parametric TrackML-like detector in the detectors.csv format.",
    )
    det.add_argument(
        "--out", required=True, type=Path, metavar="PATH", help="PATH.csv or PATH.csv.gz"
    )
    det.add_argument(
        "--geometry",
        type=Path,
        metavar="GEOMETRY.npz",
        help="also write the detector prepared for propagation, for simulate --geometry",
    )
    det.set_defaults(handler=run_simulate_detector)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.events < 1:
        raise TrackrecError(f"--events must be at least 1, not {args.events}")
    if not (args.pileup >= 0 and args.pileup < float("inf")):
        raise TrackrecError(f"--pileup must be a finite number >= 0, not {args.pileup}")
    if args.seed < 0:
        raise TrackrecError(f"--seed must be >= 0, not {args.seed}")
    if args.first_event_id < 0 or args.first_event_id + args.events - 1 > MAX_EVENT_ID:
        raise TrackrecError(f"event ids must lie in 0..{MAX_EVENT_ID}")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(args.out, "exists and is not a folder")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def run_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trackrec.simulate.detector import build_detector
    from trackrec.simulate.event import simulate_event
    from trackrec.simulate.geometry import prepare_geometry
    from trackrec.simulate.writer import copy_file, csv_bytes, write_event, write_table

    _check_arguments(args)
    detector_out = args.out / "detectors.csv.gz"
    if args.detectors is not None:
        if not args.detectors.is_file():
            raise InputError(args.detectors, "no such file")
        if args.geometry is not None:
            geometry = _prepared_geometry(args.geometry, args.detectors)
        else:
            from trackrec.io import load_detector

            try:
                geometry = prepare_geometry(load_detector(args.detectors))
            except TrackrecError as err:
                raise InputError(args.detectors, str(err)) from None
        if not _same_file(args.detectors, detector_out):
            copy_file(args.detectors, detector_out)
    else:
        if args.geometry is not None:
            raise InputError(args.geometry, "--geometry needs the --detectors it was made from")
        detector = build_detector()
        geometry = prepare_geometry(detector)
        # rewrite only when different, so that reruns leave the file (and its mtime) alone
        if not detector_out.exists() or _gunzip(detector_out) != csv_bytes(detector):
            write_table(detector_out, detector)
    ids = range(args.first_event_id, args.first_event_id + args.events)
    progress = tqdm(ids, desc="simulate", unit="event", file=sys.stderr, disable=args.events < 2)
    for event_id in progress:
        tables = simulate_event(geometry, event_id=event_id, pileup=args.pileup, seed=args.seed)
        write_event(args.out, event_id, tables)
    return 0


def _prepared_geometry(path: Path, detectors: Path):  # -> DetectorGeometry
    """The geometry of ``path``, checked to come from the file ``detectors``."""
    from trackrec.simulate.geometry import file_digest, load_geometry

    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        geometry, digest = load_geometry(path)
    except TrackrecError as err:
        raise InputError(path, str(err).removeprefix(f"{path}: ")) from None
    if digest != file_digest(detectors):
        raise InputError(
            path, f"prepared from another detector file than {detectors} (rerun simulate-detector)"
        )
    return geometry


def _gunzip(path: Path) -> bytes | None:
    import gzip

    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError):
        return None


def run_simulate_detector(args: argparse.Namespace) -> int:
    from trackrec.simulate.detector import build_detector
    from trackrec.simulate.writer import write_table

    if not args.out.name.endswith((".csv", ".csv.gz")):
        raise InputError(args.out, "the detector file name must end in .csv or .csv.gz")
    if args.geometry is not None and args.geometry.suffix != ".npz":
        raise InputError(args.geometry, "the geometry file name must end in .npz")
    detector = build_detector()
    write_table(args.out, detector)
    if args.geometry is not None:
        from trackrec.io import load_detector
        from trackrec.simulate.geometry import file_digest, prepare_geometry, save_geometry

        try:  # prepared from the file as written (rounded), as simulate --detectors would
            geometry = prepare_geometry(load_detector(args.out))
            save_geometry(geometry, args.geometry, file_digest(args.out))
        except BaseException:  # both files or neither
            args.out.unlink(missing_ok=True)
            raise
    return 0
