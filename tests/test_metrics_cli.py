"""``trackrec score`` and ``trackrec evaluate``: outputs, return codes, one-line errors."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.io import read_table, write_table


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def write_micro_truth(path: Path) -> None:
    # p1: hits 1-3 (weight 0.2 each), p2: hits 4-5 (0.2 each), noise: hit 6. Total 1.0.
    pd.DataFrame(
        {
            "hit_id": [1, 2, 3, 4, 5, 6],
            "particle_id": [11, 11, 11, 22, 22, 0],
            "tx": 0.0, "ty": 0.0, "tz": 0.0, "tpx": 0.0, "tpy": 0.0, "tpz": 0.0,
            "weight": [0.2, 0.2, 0.2, 0.2, 0.2, 0.0],
        }
    ).to_csv(path, index=False)  # fmt: skip


def test_score_prints_just_the_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.csv"
    write_micro_truth(truth)
    submission = tmp_path / "sub.csv"
    # {1,2,6}: p1 2/3 of track and 2/3 of p1 -> 0.4; {4}: p2 1/1 but 1/2 of p2 -> 0;
    # 3 and 5 absent: singletons, 1/3 of p1 and 1/2 of p2 -> 0. Score 0.4.
    pd.DataFrame({"hit_id": [1, 2, 6, 4], "track_id": [7, 7, 7, 8]}).to_csv(submission, index=False)
    code, out, err = run(["score", "--truth", str(truth), "--submission", str(submission)], capsys)
    assert code == 0 and err == ""
    assert float(out.strip()) == pytest.approx(0.4)
    assert out.strip().count("\n") == 0


def test_score_errors_are_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = tmp_path / "truth.csv"
    write_micro_truth(truth)
    unknown = tmp_path / "unknown.csv"
    pd.DataFrame({"hit_id": [1, 2, 99], "track_id": [1, 1, 1]}).to_csv(unknown, index=False)
    code, out, err = run(["score", "--truth", str(truth), "--submission", str(unknown)], capsys)
    assert code == 2 and out == ""
    assert (
        err.count("\n") == 1
        and err.startswith(f"trackrec score: error: {unknown}: ")
        and "99" in err
    )

    repeated = tmp_path / "repeated.csv"
    pd.DataFrame({"hit_id": [1, 2, 2], "track_id": [1, 1, 2]}).to_csv(repeated, index=False)
    code, out, err = run(["score", "--truth", str(truth), "--submission", str(repeated)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and str(repeated) in err and "2" in err

    missing = tmp_path / "nope.csv"
    code, _, err = run(["score", "--truth", str(truth), "--submission", str(missing)], capsys)
    assert code == 2 and str(missing) in err and err.count("\n") == 1


@pytest.fixture(scope="module")
def sample_tables_dir(sample_prefix: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sample ingested to Parquet, plus its truth as a tracks table."""
    from trackrec.io.command import ingest_event

    folder = tmp_path_factory.mktemp("metrics_cli")
    hits, _ = ingest_event(sample_prefix, folder / "hits.parquet", folder / "particles.parquet")
    assigned = hits[hits["particle_id"] != 0]
    truth_tracks = pd.DataFrame({"hit_id": assigned["hit_id"], "track_id": assigned["particle_id"]})
    write_table(truth_tracks, folder / "tracks.parquet", "tracks")
    return folder


def test_score_reads_a_parquet_submission(
    sample_prefix: Path, sample_tables_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "score",
        "--truth",
        f"{sample_prefix}-truth.csv.gz",
        "--submission",
        str(sample_tables_dir / "tracks.parquet"),
    ]
    code, out, _ = run(argv, capsys)
    assert code == 0 and float(out) == pytest.approx(1.0, abs=1e-9)


def evaluate_argv(
    folder: Path, out: Path, *extra: str, tracks: Path | None = None, hits: Path | None = None
) -> list[str]:
    return [
        "evaluate",
        "--hits", str(hits or folder / "hits.parquet"),
        "--particles", str(folder / "particles.parquet"),
        "--tracks", str(tracks or folder / "tracks.parquet"),
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def test_evaluate_truth_tracks(
    sample_tables_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "metrics" / "event.json"
    code, _, err = run(
        evaluate_argv(sample_tables_dir, out, "--pt-thresholds", "0.9", "1000"), capsys
    )
    assert code == 0 and err == ""
    text = out.read_text()
    metrics = json.loads(text)
    assert list(metrics) == sorted(metrics)
    # what made the numbers: the installed trackrec's version and the settings, as strings
    assert metrics.pop("trackrec_version") == importlib.metadata.version("trackrec")
    assert json.loads(metrics.pop("trackrec_config")) == {
        "metrics": {"pt_thresholds": [0.9, 1000.0], "max_abs_eta": 4.0, "min_track_hits": 3}
    }
    assert all(v is None or isinstance(v, (int, float)) for v in metrics.values())
    assert metrics["trackml_score"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["eff_dm_pt0.9"] == metrics["eff_perfect_pt0.9"] == 1.0
    assert metrics["fake_rate_pt0.9"] == metrics["duplicate_rate_pt0.9"] == 0.0
    # No particle above 1000 GeV: undefined efficiencies are null, not 0.
    assert metrics["n_particles_pt1000"] == 0 and metrics["eff_dm_pt1000"] is None
    assert "NaN" not in text and "eff_dm_pt0.5" not in metrics
    assert metrics["count_eta_0_0.5_particles"] == metrics["count_eta_0_0.5_dm"]
    assert [p.name for p in out.parent.iterdir()] == ["event.json"]  # no temporary left


def test_evaluate_refuses_unknown_hits_without_output(
    sample_tables_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracks = read_table(sample_tables_dir / "tracks.parquet", "tracks")
    bad = tmp_path / "bad_tracks.parquet"
    write_table(
        pd.concat([tracks, pd.DataFrame({"hit_id": [10**9], "track_id": [1]})]), bad, "tracks"
    )
    out = tmp_path / "metrics.json"
    code, stdout, err = run(evaluate_argv(sample_tables_dir, out, tracks=bad), capsys)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert err.startswith(f"trackrec evaluate: error: {bad}: ") and str(10**9) in err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_evaluate_refuses_hits_without_truth(
    sample_tables_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trackrec.io.schema import get_schema

    hits = read_table(sample_tables_dir / "hits.parquet", "hits")
    no_truth = tmp_path / "hits.parquet"
    write_table(hits.drop(columns=get_schema("hits").group_names("truth")), no_truth, "hits")
    out = tmp_path / "metrics.json"
    out.write_text("previous\n")
    code, _, err = run(evaluate_argv(sample_tables_dir, out, hits=no_truth), capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"trackrec evaluate: error: {no_truth}: ") and "metrics need truth" in err
    assert out.read_text() == "previous\n"  # untouched


def test_evaluate_refuses_empty_particles(
    sample_tables_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    particles = read_table(sample_tables_dir / "particles.parquet", "particles")
    empty = tmp_path / "particles.parquet"
    write_table(particles.iloc[:0], empty, "particles")
    argv = evaluate_argv(sample_tables_dir, tmp_path / "m.json")
    argv[argv.index("--particles") + 1] = str(empty)
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith(f"trackrec evaluate: error: {empty}: ")
    assert "metrics need truth" in err and not (tmp_path / "m.json").exists()


def test_evaluate_min_track_hits_option(
    sample_tables_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.json"
    assert run(evaluate_argv(sample_tables_dir, out, "--min-track-hits", "1000"), capsys)[0] == 0
    metrics = json.loads(out.read_text())
    assert (
        metrics["n_tracks"] == 0
        and metrics["eff_dm_pt0"] == 0.0
        and metrics["fake_rate_pt0"] is None
    )
    with pytest.raises(SystemExit):
        main(evaluate_argv(sample_tables_dir, out, "--min-track-hits", "0"))
    capsys.readouterr()
    assert np.isfinite(json.loads(out.read_text())["trackml_score"])
