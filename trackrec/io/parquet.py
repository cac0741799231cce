"""Parquet table files: typed, versioned, written atomically.

:func:`write_table` checks a DataFrame against a table definition of
:mod:`trackrec.io.schema`, casts each column to its schema type (refusing values that do not
fit) and writes the file atomically with the schema version in its metadata.
:func:`read_table` refuses a file that is not a trackrec table, is another table, or has
another major schema version, with one line naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trackrec import __version__
from trackrec.errors import InputError, TrackrecError
from trackrec.io.atomic import atomic_output, atomic_outputs, naming
from trackrec.io.schema import (
    METADATA_TABLE_KEY,
    METADATA_VERSION_KEY,
    SCHEMA_VERSION,
    Column,
    TableSchema,
    get_schema,
)

METADATA_TRACKREC_VERSION_KEY = "trackrec.version"
"""The version of trackrec that wrote the file."""
METADATA_CONFIG_KEY = "trackrec.config"
"""The settings (config section) the writing command ran with, as a JSON object."""


def _table_schema(table: str) -> TableSchema:
    try:
        return get_schema(table)
    except KeyError as err:
        raise TrackrecError(str(err.args[0])) from None


def _cast_column(values: pd.Series, col: Column) -> np.ndarray:
    """``values`` as the column's numpy dtype; ``ValueError`` when a value does not fit."""
    arr = values.to_numpy()
    target = col.numpy_dtype
    if arr.dtype == target:
        return arr
    if target.kind == "b":
        if arr.dtype.kind in "iu" and np.isin(arr, (0, 1)).all():
            return arr.astype(bool)
        raise ValueError(f"expected booleans, got {arr.dtype}")
    if target.kind == "f":
        if arr.dtype.kind not in "iufb":
            raise ValueError(f"expected numbers, got {arr.dtype}")
        return arr.astype(target)
    if target.kind in "iu":
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError("NaN or infinite value in an integer column")
            if (arr != np.trunc(arr)).any():
                raise ValueError("non-integer value in an integer column")
        elif arr.dtype.kind not in "iub":
            raise ValueError(f"expected integers, got {arr.dtype}")
        if arr.size:
            info = np.iinfo(target)
            lo, hi = arr.min(), arr.max()
            if lo < info.min or hi > info.max:
                raise ValueError(f"values {lo}..{hi} do not fit in {col.type}")
        return arr.astype(target)
    raise ValueError(f"unsupported column type {col.type}")  # pragma: no cover


def to_arrow(
    df: pd.DataFrame,
    table: str,
    *,
    path: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
) -> pa.Table:
    """``df`` as an Arrow table with the schema's column order, types and metadata.

    The metadata holds the schema version, the table name, the trackrec version that wrote it
    and, when given, ``config``: the settings the writing command ran with, as JSON.

    Raises :class:`~trackrec.errors.TrackrecError` (naming ``path`` when given) on a missing
    required column, an unknown column, or a value that does not fit its column type.
    """
    schema = _table_schema(table)
    where = f"{path}: " if path is not None else ""
    missing = [name for name in schema.required_names if name not in df.columns]
    if missing:
        raise TrackrecError(f"{where}{table} table lacks required column(s) {', '.join(missing)}")
    unknown = [str(name) for name in df.columns if name not in schema.names]
    if unknown:
        raise TrackrecError(f"{where}{table} table has unknown column(s) {', '.join(unknown)}")
    if df.columns.duplicated().any():
        raise TrackrecError(f"{where}{table} table has duplicate column names")
    arrays, fields = [], []
    for col in schema.columns:
        if col.name not in df.columns:
            continue
        try:
            values = _cast_column(df[col.name], col)
        except (ValueError, TypeError) as err:
            raise TrackrecError(f"{where}{table} column {col.name!r}: {err}") from None
        arrays.append(pa.array(values, type=col.type))
        fields.append(pa.field(col.name, col.type, nullable=False))
    metadata = {
        METADATA_VERSION_KEY: SCHEMA_VERSION,
        METADATA_TABLE_KEY: table,
        METADATA_TRACKREC_VERSION_KEY: __version__,
    }
    if config is not None:
        metadata[METADATA_CONFIG_KEY] = json.dumps(config, sort_keys=True)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def write_table(
    df: pd.DataFrame, path: str | Path, table: str, config: Mapping[str, Any] | None = None
) -> None:
    """Write ``df`` as the trackrec table ``table`` to ``path`` (atomically).

    Columns are checked and cast as in :func:`to_arrow`; optional columns may be absent;
    ``config`` (the command's settings) goes into the metadata.
    """
    arrow = to_arrow(df, table, path=path, config=config)
    with atomic_output(path) as tmp:
        pq.write_table(arrow, tmp)


def write_tables(
    frames: Sequence[tuple[pd.DataFrame, str | Path, str]],
    config: Mapping[str, Any] | None = None,
) -> None:
    """Write several ``(df, path, table)`` files: all of them or, on any error, none."""
    arrows = [to_arrow(df, table, path=path, config=config) for df, path, table in frames]
    with atomic_outputs([path for _, path, _ in frames]) as tmps:
        for arrow, tmp, (_, path, _) in zip(arrows, tmps, frames):
            try:
                pq.write_table(arrow, tmp)
            except OSError as err:
                raise naming(err, path, tmp) from err


def table_metadata(path: str | Path) -> dict[str, str]:
    """The key-value metadata of a Parquet file (decoded); InputError if it is not Parquet."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        raw = pq.read_schema(p).metadata or {}
    except (pa.ArrowException, OSError) as err:
        raise InputError(p, f"not a readable Parquet file ({err})") from None
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}


# tables that hold every column of another and may be read as it: the noise filter's kept
# hits are a hits table with a noise score, read by every stage after the filter
READABLE_AS = {"filtered": "hits"}


def check_table_file(path: str | Path, table: str) -> dict[str, str]:
    """Refuse ``path`` unless it is a trackrec ``table`` file (or one readable as it, see
    ``READABLE_AS``) of a compatible schema version."""
    _table_schema(table)
    meta = table_metadata(path)
    version = meta.get(METADATA_VERSION_KEY)
    found = meta.get(METADATA_TABLE_KEY)
    if version is None or found is None:
        raise InputError(path, f"not a trackrec {table} table (no trackrec schema metadata)")
    if found != table and READABLE_AS.get(found) != table:
        raise InputError(path, f"is a trackrec {found} table, expected a {table} table")
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise InputError(
            path,
            f"schema version {version} is not compatible with this trackrec (reads "
            f"{SCHEMA_VERSION.split('.')[0]}.x); re-create the file with this version",
        )
    return meta


def read_table(
    path: str | Path, table: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read the trackrec table ``table`` from ``path`` as a DataFrame (numpy dtypes).

    ``columns`` selects columns (all by default); asking for one the file lacks is an error.
    """
    check_table_file(path, table)
    try:
        pf = pq.ParquetFile(path)
        available = pf.schema_arrow.names
        if columns is not None:
            absent = [c for c in columns if c not in available]
            if absent:
                raise InputError(path, f"{table} table has no column(s) {', '.join(absent)}")
        arrow = pf.read(columns=list(columns) if columns is not None else None)
    except (pa.ArrowException, OSError) as err:
        raise InputError(path, f"cannot read Parquet data ({err})") from None
    return arrow.to_pandas()
