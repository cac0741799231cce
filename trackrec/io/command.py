"""``trackrec ingest``: one TrackML event to Parquet tables; ``trackrec install-model``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from trackrec.errors import InputError, TrackrecError
from trackrec.io.checkpoint import install_model
from trackrec.io.ingest import (
    build_hits_table,
    build_particles_table,
    empty_particles_table,
    missing_modules,
)
from trackrec.io.parquet import write_tables
from trackrec.io.trackml import available_parts, load_detector, load_event

_DESCRIPTION = """\
Read one TrackML event (EVENT_PREFIX-{hits,cells,particles,truth}.csv[.gz], on disk or
inside a zip: data.zip/train_1/event000001000) and write two Parquet tables: one row per hit
(position, r/phi/eta, module, cell features, module geometry with --detectors, truth columns
for a training event) and one row per particle (with pt, eta, vertex radius and the
reconstructable flag; empty for a test event, which has hits and cells only). A missing
cells file drops the cell features. Both files are written, or neither.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ingest`` to trackrec."""
    parser = subparsers.add_parser(
        "ingest",
        help="convert one TrackML event to Parquet hit and particle tables",
        description=_DESCRIPTION,
    )
    parser.add_argument("event", metavar="EVENT_PREFIX",
                        help="event file prefix, e.g. data/event000001000")
    parser.add_argument("--hits", required=True, type=Path, metavar="OUT.parquet",
                        help="hits table to write")
    parser.add_argument("--particles", required=True, type=Path, metavar="OUT.parquet",
                        help="particles table to write")
    parser.add_argument("--detectors", type=Path, metavar="detectors.csv[.gz]",
                        help="detector description; adds module rotation, pitch and thickness")
    parser.set_defaults(handler=run_ingest)

    install = subparsers.add_parser(
        "install-model",
        help="copy a shipped model and its provenance into a run",
        description="Copy a trained model (NAME.pt or NAME.npz) and its provenance NAME.json "
                    "to --out (and its .json), both or neither. The provenance must exist.",
    )
    install.add_argument("--model", required=True, type=Path, metavar="NAME.{pt,npz}",
                         help="shipped model file (its NAME.json beside it)")
    install.add_argument("--out", required=True, type=Path, metavar="OUT.{pt,npz}",
                         help="where to put the model in the run")
    install.set_defaults(handler=run_install_model)


def ingest_event(event: str | Path, hits_out: str | Path, particles_out: str | Path,
                 detectors: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one event, build both tables, write them atomically; returns the tables."""
    if Path(hits_out).resolve() == Path(particles_out).resolve():
        raise TrackrecError(f"{hits_out}: --hits and --particles name the same file")
    parts = available_parts(event)
    training = "truth" in parts or "particles" in parts
    wanted = ["hits"] + (["cells"] if "cells" in parts else [])
    wanted += ["particles", "truth"] if training else []
    frames = dict(zip(wanted, load_event(event, wanted)))
    geometry = None
    if detectors is not None:
        geometry = load_detector(detectors)
        absent = missing_modules(frames["hits"], geometry)
        if len(absent):
            first = absent.iloc[0]
            raise InputError(detectors, f"{len(absent)} module(s) with hits are not in the "
                                        f"detector file (first: volume {first['volume_id']}, "
                                        f"layer {first['layer_id']}, module "
                                        f"{first['module_id']})")
    hits = build_hits_table(frames["hits"], frames.get("cells"), frames.get("truth"),
                            frames.get("particles"), geometry)
    if training:
        particles = build_particles_table(frames["particles"], frames["truth"], frames["hits"])
    else:
        particles = empty_particles_table()
    # the setting the tables depend on beyond the event's own files
    config = {"data": {"detectors": None if detectors is None else str(detectors)}}
    write_tables([(hits, hits_out, "hits"), (particles, particles_out, "particles")], config)
    return hits, particles


def run_ingest(args: argparse.Namespace) -> int:
    ingest_event(args.event, args.hits, args.particles, args.detectors)
    return 0


def run_install_model(args: argparse.Namespace) -> int:
    install_model(args.model, args.out)
    return 0
