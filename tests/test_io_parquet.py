"""Versioned Parquet tables: schema checks, casts, exact round trips, refusals."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrec.errors import InputError, TrackrecError
from trackrec.io import SCHEMA_VERSION, read_table, write_table, write_tables
from trackrec.io import parquet as parquet_module
from trackrec.io.schema import HITS, TABLES, TableSchema, schema_markdown


def tracks(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"hit_id": np.arange(n, dtype=np.int64),
                         "track_id": np.arange(n, dtype=np.int64) // 2})


def test_metadata_version_and_table(tmp_path: Path) -> None:
    write_table(tracks(), tmp_path / "t.parquet", "tracks")
    meta = pq.read_schema(tmp_path / "t.parquet").metadata
    assert meta[b"trackrec.schema_version"] == SCHEMA_VERSION.encode() == b"1.0"
    assert meta[b"trackrec.table"] == b"tracks"
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary left


def test_columns_are_cast_to_schema_types(tmp_path: Path) -> None:
    df = pd.DataFrame({"hit_id": [1, 2], "x": [1.5, 2.5], "y": [0.0, 1.0], "z": [3, 4],
                       "r": [1.0, 2.0], "phi": [0.1, 0.2], "eta": [0.0, 1.0],
                       "volume_id": [8, 9], "layer_id": [2, 4], "module_id": [1, 2],
                       "noise": [1, 0]})
    write_table(df, tmp_path / "h.parquet", "hits")
    back = read_table(tmp_path / "h.parquet", "hits")
    assert back.dtypes.to_dict() == {name: HITS.column(name).numpy_dtype for name in df.columns}
    assert back["noise"].tolist() == [True, False] and back["z"].tolist() == [3.0, 4.0]


def test_columns_come_back_in_schema_order(tmp_path: Path) -> None:
    write_table(tracks()[["track_id", "hit_id"]], tmp_path / "t.parquet", "tracks")
    assert list(read_table(tmp_path / "t.parquet", "tracks").columns) == ["hit_id", "track_id"]


@pytest.mark.parametrize("df, problem", [
    (pd.DataFrame({"hit_id": [1]}), "lacks required column(s) track_id"),
    (tracks().assign(extra=1), "unknown column(s) extra"),
    (tracks().assign(track_id=[1.0, np.nan, 2.0]), "NaN"),
    (tracks().assign(track_id=[1.0, 1.5, 2.0]), "non-integer"),
    (tracks().assign(track_id=["a", "b", "c"]), "expected integers"),
])
def test_bad_frames_are_refused_and_nothing_written(tmp_path: Path, df: pd.DataFrame,
                                                    problem: str) -> None:
    with pytest.raises(TrackrecError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        write_table(df, tmp_path / "t.parquet", "tracks")
    assert list(tmp_path.iterdir()) == []


def test_value_out_of_range_for_small_int(tmp_path: Path) -> None:
    df = pd.DataFrame({"particle_id": [1], "vx": [0.0], "vy": [0.0], "vz": [0.0], "px": [1.0],
                       "py": [0.0], "pz": [0.0], "q": [300], "nhits": [0], "pt": [1.0],
                       "eta": [0.0], "vr": [0.0], "n_layers": [0], "reconstructable": [False]})
    with pytest.raises(TrackrecError, match=r"'q'.*do not fit in int8"):
        write_table(df, tmp_path / "p.parquet", "particles")


def test_unknown_table_name(tmp_path: Path) -> None:
    with pytest.raises(TrackrecError, match="unknown table 'trax'"):
        write_table(tracks(), tmp_path / "t.parquet", "trax")


def test_write_tables_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = pq.write_table

    def failing_second(table: pa.Table, where: Path) -> None:
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        real(table, where)

    monkeypatch.setattr(parquet_module.pq, "write_table", failing_second)
    (tmp_path / "b.parquet").write_bytes(b"old")
    with pytest.raises(OSError):
        write_tables([(tracks(), tmp_path / "a.parquet", "tracks"),
                      (tracks(), tmp_path / "b.parquet", "tracks")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet"]
    assert (tmp_path / "b.parquet").read_bytes() == b"old"


# --- refusals when reading --------------------------------------------------------------


def test_read_refuses_plain_parquet(tmp_path: Path) -> None:
    pq.write_table(pa.table({"hit_id": [1], "track_id": [2]}), tmp_path / "plain.parquet")
    with pytest.raises(InputError, match="no trackrec schema metadata") as exc:
        read_table(tmp_path / "plain.parquet", "tracks")
    assert exc.value.path == tmp_path / "plain.parquet"


def test_read_refuses_other_table(tmp_path: Path) -> None:
    write_table(tracks(), tmp_path / "t.parquet", "tracks")
    with pytest.raises(InputError, match="is a trackrec tracks table, expected a hits table"):
        read_table(tmp_path / "t.parquet", "hits")


def with_version(path: Path, version: str) -> None:
    table = pq.read_table(path)
    meta = {**table.schema.metadata, b"trackrec.schema_version": version.encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)


def test_read_refuses_other_major_version_accepts_other_minor(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_table(tracks(), path, "tracks")
    with_version(path, "1.7")
    assert len(read_table(path, "tracks")) == 3
    with_version(path, "2.0")
    with pytest.raises(InputError, match="schema version 2.0 is not compatible") as exc:
        read_table(path, "tracks")
    assert str(exc.value).startswith(str(path))


def test_read_refuses_missing_and_non_parquet_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "none.parquet", "tracks")
    (tmp_path / "x.parquet").write_text("hit_id,track_id\n")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_table(tmp_path / "x.parquet", "tracks")


def test_read_column_selection(tmp_path: Path) -> None:
    write_table(tracks(), tmp_path / "t.parquet", "tracks")
    assert list(read_table(tmp_path / "t.parquet", "tracks", ["track_id"]).columns) == [
        "track_id"]
    with pytest.raises(InputError, match="no column"):
        read_table(tmp_path / "t.parquet", "tracks", ["x"])


# --- exact round trips (property) -------------------------------------------------------


def column_values(dtype: np.dtype, n: int) -> st.SearchStrategy:
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind == "f":
        elements = st.floats(width=8 * dtype.itemsize, allow_nan=True, allow_infinity=True)
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    return st.lists(elements, min_size=n, max_size=n)


@st.composite
def table_frames(draw: st.DrawFn) -> tuple[str, pd.DataFrame]:
    name = draw(st.sampled_from(sorted(TABLES)))
    schema: TableSchema = TABLES[name]
    n = draw(st.integers(0, 6))
    groups = sorted({c.group for c in schema.columns if not c.required})
    chosen = draw(st.lists(st.sampled_from(groups), unique=True)) if groups else []
    columns = [c for c in schema.columns if c.required or c.group in chosen]
    data = {c.name: np.array(draw(column_values(c.numpy_dtype, n)), dtype=c.numpy_dtype)
            for c in columns}
    return name, pd.DataFrame(data)


@settings(max_examples=60, deadline=None)
@given(table_frames())
def test_write_then_read_round_trips_exactly(case: tuple[str, pd.DataFrame]) -> None:
    name, df = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.parquet"
        write_table(df, path, name)
        back = read_table(path, name)
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    # NaN stays NaN (not null), bit for bit in the float columns
    for column in df.columns:
        if df[column].dtype.kind == "f":
            assert np.array_equal(back[column].to_numpy().view(f"u{df[column].dtype.itemsize}"),
                                  df[column].to_numpy().view(f"u{df[column].dtype.itemsize}"))


# --- documentation ----------------------------------------------------------------------


def test_schema_markdown_lists_every_column() -> None:
    text = schema_markdown()
    for schema in TABLES.values():
        assert f"#### `{schema.name}`" in text
        for column in schema.columns:
            assert f"| `{column.name}` |" in text
    assert set(TABLES) == {
        "hits", "particles", "tracks", "filtered", "fitted", "graph", "edge_scores",
        "hit_condensation",
    }
    assert TABLES["filtered"].names == [*TABLES["hits"].names, "noise_score"]
    assert TABLES["tracks"].names == ["hit_id", "track_id"]


def test_schema_document_is_current() -> None:
    from trackrec.io.schema import schema_document

    from conftest import REPO_ROOT

    assert (REPO_ROOT / "docs" / "schema.md").read_text() == schema_document(), (
        "regenerate docs/schema.md from trackrec.io.schema.schema_document()"
    )


def test_filtered_hits_are_read_as_hits_but_not_the_reverse(tmp_path: Path) -> None:
    """Stages after the noise filter read its kept hits where they expect a hits table."""
    row = {c.name: 0 for c in TABLES["hits"].columns}
    hits = pd.DataFrame([row]).astype({c.name: c.type.to_pandas_dtype() for c in TABLES["hits"].columns})
    filtered = hits.assign(noise_score=pd.Series([0.25], dtype="float32"))
    write_table(filtered, tmp_path / "filtered.parquet", "filtered")
    write_table(hits, tmp_path / "hits.parquet", "hits")
    assert read_table(tmp_path / "filtered.parquet", "hits")["noise_score"].tolist() == [0.25]
    with pytest.raises(InputError, match="is a trackrec hits table, expected a filtered table"):
        read_table(tmp_path / "hits.parquet", "filtered")
