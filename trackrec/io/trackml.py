"""Read TrackML events, detector files, truth and submission files.

:func:`load_event` and :func:`load_dataset` have the call shape, return shape and column
names of the TrackML challenge's own ``trackml.dataset`` module, so notebooks written for it
carry over: ``load_event(prefix, parts)`` returns one DataFrame per requested part in the
order asked, and ``load_dataset(path, skip, nevents, parts)`` yields ``(event_id, *frames)``
per event in sorted order. The differences: ids (``hit_id``, ``particle_id``) are int64,
only the known columns are kept, and every file is validated (missing columns, malformed
rows, missing values, NaN coordinates, duplicate ids, truth that does not match the hits,
an empty event), each problem raised as :class:`~trackrec.errors.InputError` naming the file.

Files are parsed by pyarrow's multi-threaded CSV reader with explicit column types. An event
is ``<prefix>-<part>.csv`` or ``.csv.gz`` in a directory or inside a zip file (a prefix such
as ``train_1.zip/train_1/event000001000`` reads from the archive).
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from trackrec.errors import InputError

PARTS = ("hits", "cells", "particles", "truth")
DEFAULT_PARTS = PARTS

_F32, _F64, _I32, _I64 = pa.float32(), pa.float64(), pa.int32(), pa.int64()

COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "hits": {"hit_id": _I64, "x": _F32, "y": _F32, "z": _F32,
             "volume_id": _I32, "layer_id": _I32, "module_id": _I32},
    "cells": {"hit_id": _I64, "ch0": _I32, "ch1": _I32, "value": _F32},
    "particles": {"particle_id": _I64, "particle_type": _I32, "vx": _F32, "vy": _F32,
                  "vz": _F32, "px": _F32, "py": _F32, "pz": _F32, "q": _I32, "nhits": _I32},
    "truth": {"hit_id": _I64, "particle_id": _I64, "tx": _F32, "ty": _F32, "tz": _F32,
              "tpx": _F32, "tpy": _F32, "tpz": _F32, "weight": _F32},
    "detectors": {"volume_id": _I32, "layer_id": _I32, "module_id": _I32,
                  **{name: _F64 for name in (
                      "cx", "cy", "cz", "rot_xu", "rot_xv", "rot_xw", "rot_yu", "rot_yv",
                      "rot_yw", "rot_zu", "rot_zv", "rot_zw", "module_t", "module_minhu",
                      "module_maxhu", "module_hv", "pitch_u", "pitch_v")}},
    "submission": {"event_id": _I64, "hit_id": _I64, "track_id": _I64},
}
"""Columns kept from each kind of file, with their types (TrackML library types, int64 ids)."""

OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {"particles": frozenset({"particle_type"}),
                                               "submission": frozenset({"event_id"})}
"""Columns that some files lack: TrackML's particles file without ``particle_type``, and a
submission of one event without the challenge format's ``event_id``."""

_EVENT_FILE = re.compile(r"^(?P<prefix>(?:.*/)?event\d+)-(?P<part>[a-zA-Z]+)\.csv(?:\.gz)?$")
_PART_SUFFIX = re.compile(r"-(hits|cells|particles|truth)\.csv(\.gz)?$")
_COLUMN_INDEX = re.compile(r"In CSV column #(\d+)")


# ---------------------------------------------------------------------------------------
# One CSV file: a path on disk or the bytes of a zip member


@dataclass(frozen=True)
class _CsvSource:
    name: str
    """How errors name the file (a path, or ``archive.zip/member``)."""
    path: Path | None = None
    data: bytes | None = None

    @property
    def gzipped(self) -> bool:
        return self.name.endswith(".gz")

    def stream(self) -> pa.NativeFile:
        raw = pa.BufferReader(self.data) if self.data is not None else pa.OSFile(str(self.path))
        return pa.CompressedInputStream(raw, "gzip") if self.gzipped else raw

    def header(self) -> list[str]:
        """The column names on the first line; InputError for an empty or unreadable file."""
        try:
            with self.stream() as stream:
                head = b""
                while b"\n" not in head:
                    chunk = stream.read(1 << 16)
                    if not chunk:
                        break
                    head += chunk
        except (OSError, pa.ArrowException) as err:
            raise InputError(self.name, f"cannot read file ({err})") from None
        line = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace").lstrip("\ufeff")
        if not line.strip():
            raise InputError(self.name, "empty file (no header line)")
        return [name.strip('"') for name in line.split(",")]


def _source_for_path(path: str | Path) -> _CsvSource:
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file" if not p.exists() else "not a file")
    return _CsvSource(str(p), path=p)


def _first_bad_value(source: _CsvSource, column: str, kind: pa.DataType) -> tuple[int, str] | None:
    """(row, text) of the first value of ``column`` that does not parse as ``kind``."""
    opts = pcsv.ConvertOptions(column_types={column: pa.string()}, include_columns=[column])
    try:
        text = pcsv.read_csv(source.stream(), convert_options=opts).column(0).to_pylist()
    except pa.ArrowException:
        return None
    bounds = None
    if pa.types.is_integer(kind):
        info = np.iinfo(kind.to_pandas_dtype())
        bounds = (int(info.min), int(info.max))
    for row, value in enumerate(text):
        if value is None:
            continue
        try:
            if bounds is None:
                float(value)
            elif not bounds[0] <= int(value) <= bounds[1]:
                return row, value
        except ValueError:
            return row, value
    return None


def _malformed(source: _CsvSource, header: list[str], types: dict[str, pa.DataType],
               err: pa.ArrowException) -> InputError:
    """Turn a pyarrow CSV error into a one-line InputError naming column and line."""
    message = str(err).splitlines()[0]
    match = _COLUMN_INDEX.search(message)
    if match and int(match.group(1)) < len(header):
        column = header[int(match.group(1))]
        kind = types.get(column, pa.string())
        bad = _first_bad_value(source, column, kind)
        if bad is not None:
            row, value = bad
            return InputError(source.name, f"malformed value {value!r} in column {column!r} at "
                                           f"line {row + 2} (expected {kind})")
        return InputError(source.name, f"malformed value in column {column!r}: {message}")
    if "CSV parse error: " in message:
        return InputError(source.name, f"malformed row: {message.split('CSV parse error: ')[1]}")
    return InputError(source.name, f"cannot read file ({message})")


def _read_csv(source: _CsvSource, kind: str, only: Sequence[str] | None = None) -> pd.DataFrame:
    """Read one TrackML CSV of the given kind with checked columns, types and no missing values.

    ``only`` reads just those columns of the kind (each then required).
    """
    expected = COLUMNS[kind] if only is None else {c: COLUMNS[kind][c] for c in only}
    header = source.header()
    optional = OPTIONAL_COLUMNS.get(kind, frozenset()) if only is None else frozenset()
    missing = [c for c in expected if c not in header and c not in optional]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        return_word = "column" if len(missing) == 1 else "columns"
        raise InputError(source.name, f"missing {return_word} {names}")
    wanted = [c for c in expected if c in header]
    types = {c: expected[c] for c in wanted}
    convert = pcsv.ConvertOptions(column_types=types, include_columns=wanted)
    try:
        table = pcsv.read_csv(source.stream(), read_options=pcsv.ReadOptions(use_threads=True),
                              convert_options=convert)
    except pa.ArrowInvalid as err:
        raise _malformed(source, header, types, err) from None
    except (OSError, pa.ArrowException) as err:
        raise InputError(source.name, f"cannot read file ({str(err).splitlines()[0]})") from None
    for name in wanted:
        column = table.column(name)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(source.name, f"missing or NaN value in column {name!r} at line "
                                          f"{row + 2}")
    return table.to_pandas()


# ---------------------------------------------------------------------------------------
# Checks on one file and across the files of an event


def _check_unique(df: pd.DataFrame, columns: list[str], name: str) -> None:
    dup = df.duplicated(columns) if len(columns) > 1 else df[columns[0]].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        values = ", ".join(f"{c}={df[c].iloc[row]}" for c in columns)
        raise InputError(name, f"duplicate {'/'.join(columns)} ({values} at line {row + 2}; "
                               f"{int(dup.sum())} duplicate row(s))")


def _check_part(df: pd.DataFrame, kind: str, name: str) -> None:
    if kind == "hits":
        if len(df) == 0:
            raise InputError(name, "no hits (empty event)")
        finite = np.isfinite(df[["x", "y", "z"]].to_numpy()).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise InputError(name, f"NaN or infinite hit coordinate at line {row + 2} "
                                   f"(hit_id {df['hit_id'].iloc[row]})")
        _check_unique(df, ["hit_id"], name)
    elif kind == "truth":
        _check_unique(df, ["hit_id"], name)
    elif kind == "particles":
        _check_unique(df, ["particle_id"], name)
    elif kind == "detectors":
        if len(df) == 0:
            raise InputError(name, "no modules (empty detector file)")
        _check_unique(df, ["volume_id", "layer_id", "module_id"], name)
    elif kind == "submission":
        _check_unique(df, ["hit_id"], name)


def _check_event(frames: dict[str, pd.DataFrame], names: dict[str, str]) -> None:
    """Cross-file checks among the loaded parts of one event."""
    if "hits" not in frames:
        return
    hit_ids = frames["hits"]["hit_id"].to_numpy()
    if "truth" in frames:
        truth_ids = frames["truth"]["hit_id"].to_numpy()
        if len(truth_ids) != len(hit_ids) or not np.array_equal(np.sort(truth_ids),
                                                                np.sort(hit_ids)):
            only_truth = np.setdiff1d(truth_ids, hit_ids).size
            only_hits = np.setdiff1d(hit_ids, truth_ids).size
            raise InputError(names["truth"], f"does not match the hits file {names['hits']}: "
                                             f"{only_truth} hit_id(s) only in truth, "
                                             f"{only_hits} only in hits")
    if "cells" in frames:
        unknown = ~np.isin(frames["cells"]["hit_id"].to_numpy(), hit_ids)
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise InputError(names["cells"], f"{int(unknown.sum())} cell(s) refer to hit_ids not "
                                             f"in the hits file (first: hit_id "
                                             f"{frames['cells']['hit_id'].iloc[row]} at line "
                                             f"{row + 2})")


# ---------------------------------------------------------------------------------------
# Where an event's files are: a directory or a zip archive


class _EventFiles:
    """The files of one event, on disk (``prefix-part.csv[.gz]``) or in an open zip."""

    def __init__(self, prefix: str, archive: zipfile.ZipFile | None = None,
                 archive_name: str | None = None, member_prefix: str | None = None) -> None:
        self.prefix = prefix
        self.archive = archive
        self.archive_name = archive_name
        self.member_prefix = member_prefix
        self._member_names: frozenset[str] | None = None

    def _locate(self, part: str) -> list[str]:
        """Names of the part's files that exist (a zip member or a path); nothing is read."""
        found = []
        for suffix in (".csv", ".csv.gz"):
            if self.archive is not None:
                member = f"{self.member_prefix}-{part}{suffix}"
                if member in self._members():
                    found.append(member)
            else:
                path = Path(f"{self.prefix}-{part}{suffix}")
                if path.is_file():
                    found.append(str(path))
        return found

    def _members(self) -> frozenset[str]:
        if self._member_names is None:
            self._member_names = frozenset(self.archive.namelist()) if self.archive else frozenset()
        return self._member_names

    def exists(self, part: str) -> bool:
        """Whether the part has a file (nothing is read or decompressed); InputError when
        both .csv and .csv.gz exist."""
        return self._name(part) is not None

    def _name(self, part: str) -> str | None:
        located = self._locate(part)
        if self.archive is not None:
            located = [f"{self.archive_name}/{m}" for m in located]
        if len(located) > 1:
            raise InputError(located[0], f"both {located[0]} and {located[1]} exist")
        return located[0] if located else None

    def find(self, part: str) -> _CsvSource | None:
        """The part's file, None when absent; InputError when both .csv and .csv.gz exist.

        A zip member is decompressed here, once: its bytes serve the header and the table.
        """
        name = self._name(part)
        if name is None or self.archive is None:
            return None if name is None else _CsvSource(name, path=Path(name))
        try:
            return _CsvSource(name, data=self.archive.read(name[len(f"{self.archive_name}/") :]))
        except (OSError, zipfile.BadZipFile, RuntimeError) as err:
            raise InputError(name, f"cannot read from zip ({err})") from None

    def load(self, part: str) -> tuple[pd.DataFrame, str]:
        source = self.find(part)
        if source is None:
            expected = f"{self.prefix}-{part}.csv[.gz]"
            if part in ("truth", "particles") and self.exists("hits") \
                    and not self.exists("truth"):
                raise InputError(expected, f"no {part} file: a test event (hits and cells "
                                           f"only) has no truth")
            raise InputError(expected, "no such file")
        df = _read_csv(source, part)
        _check_part(df, part, source.name)
        return df, source.name


def _zip_location(prefix: Path) -> tuple[Path, str] | None:
    """(archive, member prefix) when a parent of ``prefix`` is a zip file."""
    for parent in prefix.parents:
        if parent.is_file():
            if zipfile.is_zipfile(parent):
                return parent, prefix.relative_to(parent).as_posix()
            return None
    return None


def _strip_part_suffix(prefix: str | Path) -> str:
    return _PART_SUFFIX.sub("", str(prefix))


@contextlib.contextmanager
def _open_event(prefix: str | Path) -> Iterator[_EventFiles]:
    text = _strip_part_suffix(prefix)
    inside = _zip_location(Path(text))
    if inside is None:
        yield _EventFiles(text)
        return
    archive_path, member_prefix = inside
    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile) as err:
        raise InputError(archive_path, f"cannot open zip file ({err})") from None
    with archive:
        yield _EventFiles(text, archive, str(archive_path), member_prefix)


def _check_parts(parts: Sequence[str]) -> None:
    if isinstance(parts, str):
        raise TypeError(f"parts must be a sequence of part names, not the string {parts!r}")
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown event part(s) {unknown}; expected some of {list(PARTS)}")


def _load_parts(files: _EventFiles, parts: Sequence[str]) -> tuple[pd.DataFrame, ...]:
    frames: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    for part in dict.fromkeys(parts):
        frames[part], names[part] = files.load(part)
    _check_event(frames, names)
    return tuple(frames[p] for p in parts)


# ---------------------------------------------------------------------------------------
# Public API


def load_event(prefix: str | Path,
               parts: Sequence[str] = DEFAULT_PARTS) -> tuple[pd.DataFrame, ...]:
    """Load the requested parts of one event, as a tuple of DataFrames in the order asked.

    ``prefix`` is the common file prefix (``.../event000001000``), on disk or inside a zip
    (``data.zip/train_1/event000001000``); a full file name such as ``...-hits.csv.gz`` is
    accepted too. Parts: ``hits``, ``cells``, ``particles``, ``truth``. Raises InputError
    naming the file for missing or malformed files, and for truth that does not match the
    hits or cells that refer to unknown hits (checked among the parts loaded together).
    """
    _check_parts(parts)
    with _open_event(prefix) as files:
        return _load_parts(files, parts)


def available_parts(prefix: str | Path) -> tuple[str, ...]:
    """The parts (of ``hits, cells, particles, truth``) whose file exists for this event."""
    with _open_event(prefix) as files:
        return tuple(part for part in PARTS if files.exists(part))


def event_id(prefix: str | Path) -> int:
    """The number in an event prefix: 1000 for ``train_1/event000001000``."""
    found = re.findall(r"event(\d+)", Path(_strip_part_suffix(prefix)).name)
    if not found:
        raise ValueError(f"{prefix}: not an event prefix (expected ...event<digits>)")
    return int(found[0])


def _event_prefixes(names: Iterable[str]) -> list[str]:
    return sorted({m.group("prefix") for m in map(_EVENT_FILE.match, names) if m})


def load_dataset(path: str | Path, skip: int | None = None, nevents: int | None = None,
                 parts: Sequence[str] = DEFAULT_PARTS) -> Iterator[tuple]:
    """Yield ``(event_id, *frames)`` for the events in a directory or zip file.

    Events come in sorted order of their prefixes; the first ``skip`` are skipped and at
    most ``nevents`` are yielded. A zip may hold the event files in a subfolder.
    """
    _check_parts(parts)
    root = Path(path)
    if root.is_dir():
        prefixes = _event_prefixes(p.name for p in root.iterdir())
        archive = None
    elif root.is_file() and zipfile.is_zipfile(root):
        archive = zipfile.ZipFile(root)
        prefixes = _event_prefixes(archive.namelist())
    elif root.exists():
        raise InputError(root, "not a directory or a zip file")
    else:
        raise InputError(root, "no such file or directory")
    if not prefixes:
        if archive is not None:
            archive.close()
        raise InputError(root, "no TrackML event files (event<digits>-<part>.csv[.gz])")
    prefixes = prefixes[skip:] if skip is not None else prefixes
    prefixes = prefixes[:nevents] if nevents is not None else prefixes
    with contextlib.ExitStack() as stack:
        if archive is not None:
            stack.enter_context(archive)
        for prefix in prefixes:
            if archive is None:
                files = _EventFiles(str(root / prefix))
            else:
                files = _EventFiles(f"{root}/{prefix}", archive, str(root), prefix)
            yield (event_id(prefix), *_load_parts(files, parts))


def load_part_file(path: str | Path, part: str) -> pd.DataFrame:
    """Read one event file of the given part (``hits``, ``cells``, ``particles``, ``truth``)."""
    _check_parts([part])
    source = _source_for_path(path)
    df = _read_csv(source, part)
    _check_part(df, part, source.name)
    return df


def load_truth_file(path: str | Path) -> pd.DataFrame:
    """Read a single TrackML truth file (``hit_id, particle_id, tx..tpz, weight``)."""
    return load_part_file(path, "truth")


def load_detector(path: str | Path) -> pd.DataFrame:
    """Read ``detectors.csv[.gz]`` (one row per module), with or without an index column."""
    source = _source_for_path(path)
    df = _read_csv(source, "detectors")
    _check_part(df, "detectors", source.name)
    return df


def load_submission_file(path: str | Path, event_id: int | None = None) -> pd.DataFrame:
    """Read a submission (``hit_id, track_id``): CSV, CSV.gz, or Parquet.

    A Parquet file written by trackrec must be a ``tracks`` table of a compatible schema
    version; a plain Parquet file needs the two columns. A file with an ``event_id`` column
    (the challenge's own format: one file for many events) is reduced to the rows of
    ``event_id``, which may be left out only when the file holds a single event. Returns
    ``hit_id, track_id``; a hit_id given twice for one event is refused.
    """
    source = _source_for_path(path)
    if _is_parquet(source.name):
        df = _read_submission_parquet(Path(path))
    else:
        df = _read_csv(source, "submission")
    if "event_id" not in df.columns:
        if event_id is not None:
            raise InputError(source.name, f"no event_id column to select event {event_id} from")
        _check_part(df, "submission", source.name)
        return df
    return _select_event(df, event_id, source.name)


def submission_event_ids(path: str | Path) -> np.ndarray | None:
    """The sorted distinct ``event_id`` values of a submission file; None without that column.

    Reads only that column, so a challenge submission of many events is listed quickly.
    """
    source = _source_for_path(path)
    if _is_parquet(source.name):
        if "event_id" not in _parquet_names(Path(path)):
            return None
        column = _read_parquet_columns(Path(path), ["event_id"])["event_id"]
    else:
        if "event_id" not in source.header():
            return None
        column = _read_csv(source, "submission", only=["event_id"])["event_id"]
    return np.sort(pd.unique(column.to_numpy()))


def _is_parquet(name: str) -> bool:
    return name.endswith((".parquet", ".pq"))


def _select_event(df: pd.DataFrame, event_id: int | None, name: str) -> pd.DataFrame:
    """The ``hit_id, track_id`` rows of one event of a multi-event submission, checked for
    hit ids given twice (other events are not read further: they may repeat hit ids)."""
    event_ids = df["event_id"].to_numpy()
    if event_id is None:
        events = pd.unique(event_ids)
        if len(events) > 1:
            raise InputError(name, f"holds {len(events)} events ({_listed(events)}); "
                                   "give the event to read")
        rows = df
    else:
        rows = df[event_ids == event_id]
        if rows.empty:
            raise InputError(name, f"no rows for event_id {event_id} (events in the file: "
                                   f"{_listed(pd.unique(event_ids)) or 'none'})")
    repeated = rows["hit_id"].duplicated().to_numpy()
    if repeated.any():
        first = np.flatnonzero(repeated)[0]
        raise InputError(name, f"duplicate hit_id {rows['hit_id'].iloc[first]} in event "
                               f"{rows['event_id'].iloc[first]} (line {rows.index[first] + 2}; "
                               f"{int(repeated.sum())} duplicate row(s))")
    return rows[["hit_id", "track_id"]].reset_index(drop=True)


def _listed(events: np.ndarray) -> str:
    """The first few of ``events`` in order, for a message."""
    events = np.sort(events)
    return ", ".join(str(e) for e in events[:5]) + (", ..." if len(events) > 5 else "")


def _parquet_names(path: Path) -> list[str]:
    try:
        return pq.read_schema(path).names
    except (pa.ArrowException, OSError) as err:
        raise InputError(path, f"not a readable Parquet file ({err})") from None


def _read_parquet_columns(path: Path, columns: list[str]) -> pd.DataFrame:
    """Integer columns of a plain Parquet file as int64, refusing missing values."""
    try:
        table = pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as err:
        raise InputError(path, f"not a readable Parquet file ({err})") from None
    out = {}
    for name in columns:
        column = table.column(name)
        if column.null_count:
            raise InputError(path, f"missing value in column {name!r}")
        if not pa.types.is_integer(column.type):
            raise InputError(path, f"column {name!r} is {column.type}, expected integers")
        out[name] = column.to_numpy().astype(np.int64)
    return pd.DataFrame(out)


def _read_submission_parquet(path: Path) -> pd.DataFrame:
    from trackrec.io.parquet import read_table, table_metadata
    from trackrec.io.schema import METADATA_TABLE_KEY

    if METADATA_TABLE_KEY in table_metadata(path):
        return read_table(path, "tracks", columns=["hit_id", "track_id"])
    names = _parquet_names(path)
    missing = [c for c in ("hit_id", "track_id") if c not in names]
    if missing:
        raise InputError(path, f"missing column{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(repr(c) for c in missing)}")
    optional = ["event_id"] if "event_id" in names else []
    return _read_parquet_columns(path, [*optional, "hit_id", "track_id"])
