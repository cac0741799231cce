"""Bring your own tracker: submissions written by other programs, read, scored and planned.

The tracks come from the real sample's truth, damaged the way a real tracker damages them
(split and merged particles, noise hits attached), and are written by
``external_tracker.write_submission`` in the TrackML challenge's format; every test compares
with the same tracks given directly as a trackrec tracks table.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trackrec.cli import main
from trackrec.config import load_schema, reserved_method_names
from trackrec.errors import InputError, TrackrecError
from trackrec.io import load_submission_file, read_table, submission_event_ids, write_table
from trackrec.metrics.score import add_missing_hits
from trackrec.plan import external_events, external_methods, external_track_file

from conftest import REPO_ROOT
from external_tracker import write_submission

SAMPLE_EVENT = 1  # the real sample is event000000001


@pytest.fixture(scope="module")
def event_dir(sample_prefix: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sample as hits/particles tables, and imperfect tracks of it."""
    from trackrec.io.command import ingest_event

    folder = tmp_path_factory.mktemp("external")
    hits, _ = ingest_event(sample_prefix, folder / "hits.parquet", folder / "particles.parquet")
    particle = hits["particle_id"].to_numpy()
    track = particle.copy()
    # every third particle split in two (by hit id), pairs of particles merged, noise attached
    order = hits.groupby("particle_id")["hit_id"].rank(method="first").to_numpy()
    split = (particle % 3 == 0) & (order > 2)
    track[split] = particle[split] + 1
    merged = particle % 7 == 1
    track[merged] = particle[merged] + 1
    noise = np.flatnonzero(particle == 0)
    track[noise[::2]] = particle[np.flatnonzero(particle != 0)[: len(noise[::2])]]
    tracks = pd.DataFrame({"hit_id": hits["hit_id"], "track_id": track})
    write_table(tracks[track != 0], folder / "tracks.parquet", "tracks")
    return folder


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(folder: Path, tracks: Path, out: Path, capsys, *extra: str) -> tuple[int, str]:
    argv = ["evaluate", "--hits", str(folder / "hits.parquet"),
            "--particles", str(folder / "particles.parquet"),
            "--tracks", str(tracks), "--out", str(out), *extra]  # fmt: skip
    code, _, err = run(argv, capsys)
    return code, err


def metrics_of(path: Path) -> dict:
    return json.loads(path.read_text())


def assert_same_metrics(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for key, value in expected.items():
        if isinstance(value, str):  # trackrec_version, trackrec_config
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15, nan_ok=True), key


# --- reading submissions -------------------------------------------------------------------


def test_challenge_file_selects_one_event(tmp_path: Path) -> None:
    text = "event_id,hit_id,track_id\n1000,1,5\n1001,1,9\n1000,2,5\n1001,3,9\n"
    (tmp_path / "s.csv").write_text(text)
    (tmp_path / "s.csv.gz").write_bytes(gzip.compress(text.encode()))
    pq.write_table(pa.table({"event_id": [1000, 1001, 1000, 1001], "hit_id": [1, 1, 2, 3],
                             "track_id": [5, 9, 5, 9]}), tmp_path / "s.parquet")  # fmt: skip
    for name in ("s.csv", "s.csv.gz", "s.parquet"):
        got = load_submission_file(tmp_path / name, event_id=1001)
        assert got.to_dict("list") == {"hit_id": [1, 3], "track_id": [9, 9]}, name
        assert submission_event_ids(tmp_path / name).tolist() == [1000, 1001]
    with pytest.raises(InputError, match="holds 2 events \\(1000, 1001\\); give the event"):
        load_submission_file(tmp_path / "s.csv")
    with pytest.raises(InputError, match="no rows for event_id 7 \\(events in the file: 1000"):
        load_submission_file(tmp_path / "s.parquet", event_id=7)


def test_challenge_file_of_one_event_and_plain_file(tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("event_id,hit_id,track_id\n3,1,5\n3,2,5\n")
    assert load_submission_file(tmp_path / "one.csv")["hit_id"].tolist() == [1, 2]
    (tmp_path / "plain.csv").write_text("hit_id,track_id\n1,5\n")
    assert submission_event_ids(tmp_path / "plain.csv") is None
    with pytest.raises(InputError, match="no event_id column to select event 3 from"):
        load_submission_file(tmp_path / "plain.csv", event_id=3)


def test_hit_id_may_repeat_across_events_but_not_within_one(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("event_id,hit_id,track_id\n1,4,5\n2,4,5\n1,4,6\n")
    assert load_submission_file(tmp_path / "dup.csv", event_id=2).to_dict("list") == {
        "hit_id": [4],
        "track_id": [5],
    }
    with pytest.raises(InputError) as err:
        load_submission_file(tmp_path / "dup.csv", event_id=1)
    assert "duplicate hit_id 4 in event 1 (line 4; 1 duplicate row(s))" in str(err.value)
    (tmp_path / "bad.csv").write_text("event_id,hit_id,track_id\n1,4,5\nx,5,5\n")
    with pytest.raises(InputError, match="malformed value 'x' in column 'event_id' at line 3"):
        submission_event_ids(tmp_path / "bad.csv")


def test_add_missing_hits_hand_example() -> None:
    # hits 1..5; the submission has 2 and 4 in track 8: 1, 3, 5 become tracks 9, 10, 11
    got = add_missing_hits(
        np.array([1, 2, 3, 4, 5]), pd.DataFrame({"hit_id": [4, 2], "track_id": [8, 8]})
    )
    assert got.to_dict("list") == {"hit_id": [4, 2, 1, 3, 5], "track_id": [8, 8, 9, 10, 11]}


# --- evaluate, score and import-tracks on another tool's files -----------------------------


@pytest.mark.parametrize("name", ["sub.csv", "sub.csv.gz"])
@pytest.mark.parametrize("min_track_hits", ["1", "3"])
def test_evaluate_challenge_submission_equals_direct(
    event_dir: Path, tmp_path: Path, capsys, name: str, min_track_hits: str
) -> None:
    tracks = read_table(event_dir / "tracks.parquet", "tracks")
    # the tracks of another event in the same file must not leak into this one's
    other = tracks.assign(track_id=tracks["track_id"].to_numpy()[::-1])
    write_submission({SAMPLE_EVENT: tracks, 2: other}, tmp_path / name)
    options = ("--min-track-hits", min_track_hits)
    assert evaluate(event_dir, event_dir / "tracks.parquet", tmp_path / "direct.json", capsys,
                    *options) == (0, "")  # fmt: skip
    for event in ("1", "event000000001"):
        code, err = evaluate(event_dir, tmp_path / name, tmp_path / "sub.json", capsys,
                             "--event", event, *options)  # fmt: skip
        assert (code, err) == (0, "")
        assert_same_metrics(metrics_of(tmp_path / "sub.json"), metrics_of(tmp_path / "direct.json"))
    # the official score of the same file, event selected with --event-id
    truth = f"{REPO_ROOT.parent}/shared/data/trackml_sample/event000000001-truth.csv.gz"
    code, out, _ = run(["score", "--truth", truth, "--submission", str(tmp_path / name),
                        "--event-id", "1"], capsys)  # fmt: skip
    assert code == 0
    assert float(out) == pytest.approx(metrics_of(tmp_path / "direct.json")["trackml_score"])


def test_missing_hits_are_tracks_of_their_own(event_dir: Path, tmp_path: Path, capsys) -> None:
    hits = read_table(event_dir / "hits.parquet", "hits", columns=["hit_id"])
    tracks = read_table(event_dir / "tracks.parquet", "tracks")
    assert len(tracks) < len(hits)  # the unattached noise hits are left out
    absent = np.setdiff1d(hits["hit_id"], tracks["hit_id"])
    explicit = pd.concat(
        [tracks, pd.DataFrame({"hit_id": absent, "track_id": -1 - np.arange(len(absent))})]
    )
    write_table(explicit, tmp_path / "explicit.parquet", "tracks")
    for tracks_file, out in ((event_dir / "tracks.parquet", "left_out.json"),
                             (tmp_path / "explicit.parquet", "explicit.json")):  # fmt: skip
        assert (
            evaluate(event_dir, tracks_file, tmp_path / out, capsys, "--min-track-hits", "1")[0]
            == 0
        )
    left_out, full = metrics_of(tmp_path / "left_out.json"), metrics_of(tmp_path / "explicit.json")
    assert full["n_tracks"] == tracks["track_id"].nunique() + len(absent)
    assert_same_metrics(left_out, full)


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        ("1,{h},5\n1,{h},6\n", "duplicate hit_id {h} in event 1 (line 3"),
        ("1,{h},5\n1,123456789,6\n", "hit_id 123456789 that is not in the hits table"),
    ],
)
def test_bad_submission_is_one_line_naming_the_id(
    event_dir: Path, tmp_path: Path, capsys, rows: str, named: str
) -> None:
    hit = int(read_table(event_dir / "hits.parquet", "hits", columns=["hit_id"])["hit_id"].iloc[3])
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,hit_id,track_id\n" + rows.format(h=hit))
    out = tmp_path / "m.json"
    code, err = evaluate(event_dir, bad, out, capsys)
    assert (
        code == 2 and err.count("\n") == 1 and err.startswith(f"trackrec evaluate: error: {bad}: ")
    )
    assert named.format(h=hit) in err and not out.exists()
    argv = ["import-tracks", "--submission", str(bad), "--hits", str(event_dir / "hits.parquet"),
            "--out", str(tmp_path / "t.parquet")]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 2 and named.format(h=hit) in err and not (tmp_path / "t.parquet").exists()


def test_import_tracks_keeps_the_rows_as_given(event_dir: Path, tmp_path: Path, capsys) -> None:
    tracks = read_table(event_dir / "tracks.parquet", "tracks")
    write_submission({SAMPLE_EVENT: tracks, 5: tracks}, tmp_path / "sub.csv")
    given = pd.read_csv(tmp_path / "sub.csv")
    argv = ["import-tracks", "--submission", str(tmp_path / "sub.csv"), "--event", "1",
            "--hits", str(event_dir / "hits.parquet"), "--out", str(tmp_path / "t.parquet")]  # fmt: skip
    assert run(argv, capsys)[0] == 0
    stored = read_table(tmp_path / "t.parquet", "tracks")
    expected = given[given["event_id"] == 1][["hit_id", "track_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)


# --- the plan: tracking.external ----------------------------------------------------------


def test_external_names_and_patterns_are_checked() -> None:
    reserved = reserved_method_names(load_schema(REPO_ROOT / "workflow/schemas/config.schema.yaml"))
    assert {"dbscan_baseline", "methods", "external"} <= set(reserved)
    good = {
        "acts": "/d/tracks_{event}.csv",
        "mine": "/d/{event_id:09d}.parquet",
        "one": "/d/all.csv",
    }
    assert external_methods({"external": good}, reserved) == good
    assert external_track_file(good["mine"], "event000001000") == "/d/000001000.parquet"
    assert external_methods({}, reserved) == {}
    for external, message in (
        ({"dbscan_baseline": "/d/{event}.csv"}, "dbscan_baseline is a built-in method"),
        ({"x": "/d/{evt}.csv"}, "unknown placeholder {evt}"),
        ({"x": "/d/{event:d}.csv"}, "bad path pattern"),
        ({"x": "/d/{event.csv"}, "bad path pattern"),
    ):
        with pytest.raises(TrackrecError, match=message):
            external_methods({"external": external}, reserved)


def test_external_events_per_event_files_and_one_file(tmp_path: Path) -> None:
    events = ["event000001000", "event000001001", "event000001002"]
    (tmp_path / "t_1000.csv").write_text("hit_id,track_id\n")
    (tmp_path / "t_1002.csv").write_text("hit_id,track_id\n")
    assert external_events("a", f"{tmp_path}/t_{{event_id}}.csv", events) == [events[0], events[2]]
    (tmp_path / "all.csv").write_text("event_id,hit_id,track_id\n1001,1,1\n999,1,1\n")
    assert external_events("b", str(tmp_path / "all.csv"), events) == [events[1]]
    with pytest.raises(
        TrackrecError,
        match=r"tracking.external.c: no tracks for any test event \(looked for .*/none_event000001000.csv\)",
    ):
        external_events("c", f"{tmp_path}/none_{{event}}.csv", events)
    with pytest.raises(TrackrecError, match="one file for all events but has no event_id column"):
        external_events("d", str(tmp_path / "t_1000.csv"), events)
