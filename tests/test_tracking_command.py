"""``trackrec track-dbscan`` as a file-to-file stage on the real sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackrec.cli import main
from trackrec.io.parquet import read_table


@pytest.fixture(scope="module")
def sample_hits(tmp_path_factory: pytest.TempPathFactory, sample_prefix: Path) -> Path:
    folder = tmp_path_factory.mktemp("ingested")
    hits = folder / "hits.parquet"
    assert (
        main(
            [
                "ingest",
                str(sample_prefix),
                "--hits",
                str(hits),
                "--particles",
                str(folder / "p.parquet"),
            ]
        )
        == 0
    )
    return hits


def test_every_hit_gets_a_track(sample_hits: Path, tmp_path: Path) -> None:
    out = tmp_path / "tracks.parquet"
    assert (
        main(
            [
                "track-dbscan",
                "--hits",
                str(sample_hits),
                "--out",
                str(out),
                "--curvature-steps",
                "5",
            ]
        )
        == 0
    )
    tracks = read_table(out, "tracks")
    hits = read_table(sample_hits, "hits", columns=["hit_id"])
    assert sorted(tracks["hit_id"]) == sorted(hits["hit_id"])
    assert 1 < tracks["track_id"].nunique() < len(tracks)


def test_bad_parameter_is_one_line_and_writes_nothing(
    sample_hits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tracks.parquet"
    with pytest.raises(SystemExit) as exit:
        main(["track-dbscan", "--hits", str(sample_hits), "--out", str(out), "--eps", "0"])
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "trackrec track-dbscan: error: argument --eps: must be > 0, not 0 "
        "(see trackrec track-dbscan --help)"
    )
    assert not any(tmp_path.iterdir())


def test_a_hits_table_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothere.parquet"
    assert main(["track-dbscan", "--hits", str(missing), "--out", str(tmp_path / "t.parquet")]) == 2
    assert f"{missing}: no such file" in capsys.readouterr().err
