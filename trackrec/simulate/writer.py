"""Writing simulated events and detectors as TrackML CSV files (gzip, reproducible bytes).

Files are written atomically (temporary name, then rename) and gzip headers carry no time
stamp or file name, so identical tables give byte-identical files.
"""

from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from trackrec.io.atomic import atomic_output, atomic_outputs, naming

EVENT_TABLES = ("hits", "cells", "particles", "truth")
DECIMALS = 6  # floats are rounded to 1e-6 (mm, GeV): far below any resolution
FULL_PRECISION = frozenset({"weight"})  # weights span decades: kept as shortest round-trip
COMPRESS_LEVEL = 3  # ~3x faster than gzip's default for ~10 % larger files


def event_prefix(directory: str | Path, event_id: int) -> Path:
    """``DIR/event000001000``: the TrackML file prefix of an event."""
    return Path(directory) / f"event{int(event_id):09d}"


def event_paths(directory: str | Path, event_id: int) -> list[Path]:
    prefix = event_prefix(directory, event_id)
    return [prefix.with_name(f"{prefix.name}-{table}.csv.gz") for table in EVENT_TABLES]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV text of a frame: plain header, no index, no quotes, floats rounded to DECIMALS."""
    columns = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "f" and name not in FULL_PRECISION:
            values = np.round(values, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
        columns[str(name)] = values
    table = pa.table(columns)
    stream = io.BytesIO()
    stream.write((",".join(table.column_names) + "\n").encode("ascii"))
    pa_csv.write_csv(table, stream, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return stream.getvalue()


def _write_gzip(path: Path, data: bytes) -> None:
    # no file name and a zero time stamp in the header: same input, same bytes
    path.write_bytes(gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0))


def write_table(path: str | Path, frame: pd.DataFrame) -> None:
    """Write one table as CSV, gzip-compressed when ``path`` ends in .gz; atomically."""
    path = Path(path)
    data = csv_bytes(frame)
    with atomic_output(path) as tmp:
        if path.suffix == ".gz":
            _write_gzip(tmp, data)
        else:
            tmp.write_bytes(data)


def write_event(
    directory: str | Path, event_id: int, tables: dict[str, pd.DataFrame]
) -> list[Path]:
    """Write ``DIR/event%09d-{hits,cells,particles,truth}.csv.gz``: all four or none."""
    paths = event_paths(directory, event_id)
    missing = [name for name in EVENT_TABLES if name not in tables]
    if missing:
        raise ValueError(f"event tables missing: {', '.join(missing)}")
    payloads = [csv_bytes(tables[name]) for name in EVENT_TABLES]
    with atomic_outputs(paths) as tmps:
        for tmp, data, path in zip(tmps, payloads, paths):
            try:
                _write_gzip(tmp, data)
            except OSError as err:  # a full disk names no file: name this one
                raise naming(err, path, tmp) from err
    return paths


def copy_file(source: str | Path, target: str | Path) -> None:
    """Copy ``source`` to ``target`` atomically, compressing when only the target is .gz."""
    source, target = Path(source), Path(target)
    with atomic_output(target) as tmp:
        if source.suffix == ".gz" or target.suffix != ".gz":
            shutil.copyfile(source, tmp)
        else:
            _write_gzip(tmp, source.read_bytes())
