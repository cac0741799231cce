"""Ingest from a zip decompresses each member of the event once (issue 7: it was twice)."""

from __future__ import annotations

import collections
import zipfile
from pathlib import Path

import pytest

from trackrec.io.command import ingest_event
from trackrec.io.parquet import read_table


def test_ingest_from_zip_reads_each_member_once(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "train_1.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for part in ("hits", "cells", "particles", "truth"):
            z.write(sample_dir / f"event000000001-{part}.csv.gz",
                    f"train_1/event000000001-{part}.csv.gz")
    opened: collections.Counter[str] = collections.Counter()
    real_open = zipfile.ZipFile.open

    def counting_open(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object):
        opened[getattr(name, "filename", name)] += 1
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    hits, _ = ingest_event(archive / "train_1" / "event000000001",
                           tmp_path / "h.parquet", tmp_path / "p.parquet")
    assert dict(opened) == {
        f"train_1/event000000001-{part}.csv.gz": 1
        for part in ("hits", "cells", "particles", "truth")
    }
    # and the tables are those of the files on disk
    monkeypatch.undo()
    plain, _ = ingest_event(sample_dir / "event000000001", tmp_path / "h2.parquet",
                            tmp_path / "p2.parquet")
    assert read_table(tmp_path / "h.parquet", "hits").equals(read_table(tmp_path / "h2.parquet", "hits"))
    assert len(hits) == len(plain)
