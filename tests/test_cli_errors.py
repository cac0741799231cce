"""Every operating-system error a user can cause ends a command with one line naming the path
and the problem, exit status 2, and no output file (issue 7)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trackrec.cli import main


@pytest.fixture(scope="module")
def sample_tables(tmp_path_factory: pytest.TempPathFactory, sample_prefix: Path) -> dict:
    folder = tmp_path_factory.mktemp("tables")
    hits, particles = folder / "hits.parquet", folder / "particles.parquet"
    assert main(["ingest", str(sample_prefix), "--hits", str(hits), "--particles", str(particles)]) == 0
    tracks = folder / "tracks.parquet"
    assert main(["track-dbscan", "--hits", str(hits), "--out", str(tracks), "--curvature-steps", "1"]) == 0
    return {"hits": hits, "particles": particles, "tracks": tracks}


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"trackrec {command}: error: "), err
    return lines[0]


def _commands(tables: dict, out: Path, sample_prefix: Path) -> dict[str, list[str]]:
    """Each command writing to ``out`` (a path under a file, in the tests)."""
    return {
        "ingest": ["ingest", str(sample_prefix), "--hits", str(out / "h.parquet"),
                   "--particles", str(out / "p.parquet")],
        "track-dbscan": ["track-dbscan", "--hits", str(tables["hits"]), "--out",
                         str(out / "t.parquet"), "--curvature-steps", "1"],
        "evaluate": ["evaluate", "--hits", str(tables["hits"]), "--particles",
                     str(tables["particles"]), "--tracks", str(tables["tracks"]),
                     "--out", str(out / "m.json")],
        "import-tracks": ["import-tracks", "--submission", str(tables["tracks"]), "--hits",
                          str(tables["hits"]), "--out", str(out / "t.parquet")],
        "simulate-detector": ["simulate-detector", "--out", str(out / "d.csv.gz")],
        "simulate": ["simulate", "--out", str(out), "--events", "1", "--pileup", "0"],
    }


@pytest.mark.parametrize(
    "command",
    ["ingest", "track-dbscan", "evaluate", "import-tracks", "simulate-detector", "simulate"],
)
def test_output_under_a_file(
    command: str, tmp_path: Path, sample_tables: dict, sample_prefix: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be")
    out = blocker / "run"
    argv = _commands(sample_tables, out, sample_prefix)[command]
    assert main(argv) == 2
    line = _one_line_error(capsys, command)
    assert str(blocker) in line, line
    assert ("not a directory" in line or "not a folder" in line), line
    assert _files(tmp_path) == ["results"] and blocker.read_text().startswith("a file")


def test_permission_denied_names_the_folder(
    tmp_path: Path, sample_tables: dict, sample_prefix: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tests run as root here, where chmod does not stop writes: the OS's answer is simulated
    import trackrec.io.atomic as atomic

    def denied(*args: object, dir: str, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), dir)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    for command in ("evaluate", "track-dbscan", "ingest"):
        argv = _commands(sample_tables, tmp_path / "locked", sample_prefix)[command]
        assert main(argv) == 2
        line = _one_line_error(capsys, command)
        assert line.endswith(f"{tmp_path / 'locked'}: permission denied"), line
    assert _files(tmp_path) == []


def test_full_disk_names_the_output_not_the_temporary_file(
    tmp_path: Path, sample_tables: dict, sample_prefix: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow as pa

    import trackrec.io.parquet as parquet

    def full(table: pa.Table, where: Path) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        # what pyarrow raises when a write fails for lack of space: no file name
        raise OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(parquet.pq, "write_table", full)
    out = tmp_path / "run"
    argv = _commands(sample_tables, out, sample_prefix)["ingest"]
    assert main(argv) == 2
    line = _one_line_error(capsys, "ingest")
    assert f"{out / 'h.parquet'}: " in line and "No space left on device" in line, line
    assert _files(tmp_path) == []


def test_unreadable_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "event000000001-hits.csv"
    folder.mkdir()  # a folder where the hits file should be
    assert main(["ingest", str(tmp_path / "event000000001"), "--hits", str(tmp_path / "h.parquet"),
                 "--particles", str(tmp_path / "p.parquet")]) == 2
    line = _one_line_error(capsys, "ingest")
    assert str(folder) in line, line
    assert _files(tmp_path) == []


def test_no_traceback_from_the_installed_command(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "trackrec", "simulate-detector", "--out", str(blocker / "d.csv")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(blocker) in result.stderr


def test_report_with_one_output_under_a_file_writes_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = tmp_path / "metrics" / "dbscan_baseline" / "event000000001.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text('{"trackml_score": 0.5, "n_tracks": 3}')
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = tmp_path / "report"
    argv = ["report", "--metrics", str(metrics), "--summary-json", str(out / "summary.json"),
            "--html", str(blocker / "report.html")]
    assert main(argv) == 2
    line = _one_line_error(capsys, "report")
    assert str(blocker) in line and "not a directory" in line, line
    assert not out.exists() or not any(out.iterdir())
