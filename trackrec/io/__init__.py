"""Input and output: TrackML files, Parquet hit tables, atomic writes.

Public API (the functions other stages use):

- reading TrackML files: :func:`load_event`, :func:`load_dataset`, :func:`load_detector`,
  :func:`load_truth_file`, :func:`load_submission_file` (one event of a challenge
  submission with ``event_id``), :func:`submission_event_ids`, :func:`load_part_file`;
- trackrec's Parquet tables: :func:`write_table`, :func:`read_table`,
  :data:`SCHEMA_VERSION` (definitions in :mod:`trackrec.io.schema`);
- building tables: :func:`build_hits_table`, :func:`build_particles_table`;
- atomic writes: :func:`atomic_output`, :func:`atomic_outputs`;
- trained models with provenance: :mod:`trackrec.io.checkpoint`.
"""

from __future__ import annotations

from trackrec.io.atomic import atomic_output, atomic_outputs
from trackrec.io.ingest import build_hits_table, build_particles_table
from trackrec.io.parquet import read_table, write_table, write_tables
from trackrec.io.schema import SCHEMA_VERSION
from trackrec.io.trackml import (
    available_parts,
    event_id,
    load_dataset,
    load_detector,
    load_event,
    load_part_file,
    load_submission_file,
    load_truth_file,
    submission_event_ids,
)

__all__ = [
    "SCHEMA_VERSION",
    "atomic_output",
    "atomic_outputs",
    "available_parts",
    "build_hits_table",
    "build_particles_table",
    "event_id",
    "load_dataset",
    "load_detector",
    "load_event",
    "load_part_file",
    "load_submission_file",
    "load_truth_file",
    "read_table",
    "submission_event_ids",
    "write_table",
    "write_tables",
]
