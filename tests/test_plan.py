"""The run plan: event names, TrackML discovery, splits, mixed sources, CLI options."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackrec.errors import TrackrecError
from trackrec.plan import (
    cli_options,
    discover_trackml_events,
    event_name,
    event_number,
    make_plan,
    split_events,
)

EVENTS = [event_name(1000 + i) for i in range(6)]


def data_section(**overrides: object) -> dict:
    data = {
        "source": "simulate",
        "trackml_dir": None,
        "detectors": None,
        "events": "all",
        "simulate": {"n_events": 6, "first_event_id": 1000, "pileup": 10, "seed": 1},
        "split": {"train": 0.5, "val": 0.17, "test": 0.33},
        "eval_source": None,
    }
    data.update(overrides)
    return data


def test_event_names() -> None:
    assert event_name(1000) == "event000001000"
    assert event_name("1000") == "event000001000"
    assert event_name("event000001000") == "event000001000"
    assert event_number("event000001000") == 1000
    with pytest.raises(TrackrecError, match="not an event id"):
        event_name("evt1")


def test_fraction_split_uses_largest_remainders() -> None:
    # 6 events: 0.5*6 = 3, 0.17*6 = 1.02, 0.33*6 = 1.98 -> 3, 1, 2
    splits = split_events(EVENTS, {"train": 0.5, "val": 0.17, "test": 0.33})
    assert splits == {"train": EVENTS[:3], "val": EVENTS[3:4], "test": EVENTS[4:]}


def test_explicit_lists_and_overlap() -> None:
    splits = split_events(
        EVENTS, {"train": [1000, 1001], "val": [1002], "test": ["event000001005"]}
    )
    assert splits["test"] == ["event000001005"]
    with pytest.raises(TrackrecError, match="both train and test"):
        split_events(EVENTS, {"train": [1000], "test": [1000]})
    with pytest.raises(TrackrecError, match="unknown events event000009999"):
        split_events(EVENTS, {"test": [9999]})
    with pytest.raises(TrackrecError, match=r"add up to 1.3 > 1 \(train 0.8, test 0.5\)"):
        split_events(EVENTS, {"train": 0.8, "test": 0.5})


def test_trackml_discovery(tmp_path: Path) -> None:
    for name in (
        "event000000002-hits.csv",
        "event000000001-hits.csv.gz",
        "event000000001-cells.csv.gz",
        "notes.txt",
    ):
        (tmp_path / name).write_text("")
    assert discover_trackml_events(tmp_path) == ["event000000001", "event000000002"]
    with pytest.raises(TrackrecError, match="no TrackML events"):
        discover_trackml_events(tmp_path / "missing" if False else _empty(tmp_path))
    with pytest.raises(TrackrecError, match="not a folder"):
        discover_trackml_events(tmp_path / "nope")


def _empty(tmp_path: Path) -> Path:
    empty = tmp_path / "empty"
    empty.mkdir()
    return empty


def test_plan_simulated() -> None:
    plan = make_plan(data_section())
    assert plan.splits["test"] == EVENTS[4:]
    assert plan.events == EVENTS
    assert set(plan.source_of.values()) == {"simulate"}


def test_plan_train_simulated_test_trackml(sample_dir: Path) -> None:
    plan = make_plan(data_section(trackml_dir=str(sample_dir), eval_source="trackml"))
    assert plan.splits["test"] == ["event000000001"]
    assert plan.source_of["event000000001"] == "trackml"
    # train/val share all simulated events in the ratio 0.5 : 0.17
    assert len(plan.splits["train"]) + len(plan.splits["val"]) == 6
    assert plan.events_from("simulate") == EVENTS


def test_trackml_test_events_without_truth_are_not_scored(tmp_path: Path, sample_dir: Path) -> None:
    for part in ("hits", "cells"):  # a TrackML test event: no particles, no truth
        (tmp_path / f"event000000007-{part}.csv.gz").symlink_to(
            sample_dir / f"event000000001-{part}.csv.gz"
        )
    for part in ("hits", "cells", "particles", "truth"):
        (tmp_path / f"event000000001-{part}.csv.gz").symlink_to(
            sample_dir / f"event000000001-{part}.csv.gz"
        )
    plan = make_plan(data_section(source="trackml", trackml_dir=str(tmp_path), split={"test": 1.0}))
    assert plan.splits["test"] == ["event000000001", "event000000007"]
    assert plan.has_truth == {"event000000001": True, "event000000007": False}
    assert plan.scored_test_events == ["event000000001"]


def test_plan_trackml_requires_folder_and_known_events(sample_dir: Path) -> None:
    with pytest.raises(TrackrecError, match="trackml_dir must be set"):
        make_plan(data_section(source="trackml"))
    with pytest.raises(TrackrecError, match="data.events not found: event000000007"):
        make_plan(data_section(source="trackml", trackml_dir=str(sample_dir), events=[7]))


def test_cli_options() -> None:
    assert cli_options({"max_curvature": 0.001, "pt_thresholds": [0, 0.9], "x": None}) == (
        "--max-curvature 0.001 --pt-thresholds 0 0.9"
    )


@pytest.mark.parametrize(
    ("n", "split", "expected"),
    [
        # one event: the test split takes it, whatever the fractions
        (1, {"train": 0.5, "val": 0.17, "test": 0.33}, (0, 0, 1)),
        (1, {"train": 0.8, "val": 0.1, "test": 0.1}, (0, 0, 1)),
        # two: test, then train
        (2, {"train": 0.8, "val": 0.1, "test": 0.1}, (1, 0, 1)),
        (3, {"train": 0.8, "val": 0.1, "test": 0.1}, (1, 1, 1)),
        (10, {"train": 0.8, "val": 0.1, "test": 0.1}, (8, 1, 1)),
        # 0.04 of 10 events rounds to none; the unused events give it one
        (10, {"train": 0.8, "val": 0.0, "test": 0.04}, (8, 0, 1)),
        # 0.01 of 20 rounds to none; the largest split gives it one
        (20, {"train": 0.98, "val": 0.01, "test": 0.01}, (18, 1, 1)),
        # an explicit 0 stays 0
        (1, {"train": 1.0, "val": 0.0, "test": 0.0}, (1, 0, 0)),
    ],
)
def test_positive_fraction_gets_an_event(n: int, split: dict, expected: tuple) -> None:
    events = [event_name(1000 + i) for i in range(n)]
    splits = split_events(events, split)
    assert tuple(len(splits[name]) for name in ("train", "val", "test")) == expected
    assert sorted(e for part in splits.values() for e in part) == events[: sum(expected)]


def test_no_test_events_stops_unless_asked_for() -> None:
    # the lists take every event: the test fraction has nothing left
    split = {"train": [1000, 1001, 1002], "val": [1003, 1004, 1005], "test": 0.33}
    with pytest.raises(TrackrecError, match=r"data.split: no test events \(train 3, val 3, test 0\)"):
        make_plan(data_section(split=split))
    with pytest.raises(TrackrecError, match="give data.split.test a fraction above 0"):
        make_plan(data_section(split={"train": 1.0, "val": 0.0}))
    # test: 0 or [] asks for no test events: the plan has none, and no error
    for none in (0, 0.0, []):
        plan = make_plan(data_section(split={"train": 1.0, "val": 0.0, "test": none}))
        assert plan.splits["test"] == [] and len(plan.splits["train"]) == 6


def test_single_trackml_event_is_a_test_event(tmp_path: Path, sample_dir: Path) -> None:
    for part in ("hits", "cells", "particles", "truth"):
        (tmp_path / f"event000000001-{part}.csv.gz").symlink_to(
            sample_dir / f"event000000001-{part}.csv.gz"
        )
    split = {"train": 0.8, "val": 0.1, "test": 0.1}  # config/trackml.yaml's
    plan = make_plan(data_section(source="trackml", trackml_dir=str(tmp_path), split=split))
    assert plan.splits == {"train": [], "val": [], "test": ["event000000001"]}
    assert plan.scored_test_events == ["event000000001"]

def test_plan_command_writes_the_plan_file(tmp_path: Path, sample_dir: Path) -> None:
    import json

    from trackrec import __version__
    from trackrec.cli import main

    folder = tmp_path / "events"
    folder.mkdir()
    for part in ("hits", "cells"):  # a test event without truth: tracked, not scored
        (folder / f"event000000002-{part}.csv.gz").symlink_to(
            sample_dir / f"event000000001-{part}.csv.gz"
        )
    for part in ("hits", "cells", "particles", "truth"):
        (folder / f"event000000001-{part}.csv.gz").symlink_to(
            sample_dir / f"event000000001-{part}.csv.gz"
        )
    data = data_section(source="trackml", trackml_dir=str(folder), split={"test": 1.0})
    metrics = {"pt_thresholds": [0.0, 1.0], "max_abs_eta": 2.5, "min_track_hits": 3}
    config = {"run": "r1", "data": data, "metrics": metrics, "methods": ["dbscan_baseline", "x"]}
    out = tmp_path / "run" / "plan.json"
    assert main(["plan", "--config-json", json.dumps(config), "--out", str(out)]) == 0
    plan = json.loads(out.read_text())
    assert plan["splits"] == {"train": [], "val": [], "test": ["event000000001", "event000000002"]}
    assert plan["scored_test_events"] == ["event000000001"]
    assert plan["methods"] == ["dbscan_baseline", "x"]
    assert plan["config"] == {"data": data, "metrics": metrics}
    assert plan["trackrec_version"] == __version__ and plan["run"] == "r1"


def test_plan_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trackrec.cli import main

    out = tmp_path / "plan.json"
    assert main(["plan", "--config-json", "{not json", "--out", str(out)]) == 2
    assert main(["plan", "--config-json", '{"run": "r"}', "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("trackrec plan: error: --config-json: not valid JSON")
    assert err[1] == "trackrec plan: error: --config-json: missing data, metrics, methods"
    assert not out.exists()


def test_missing_detector_file_is_named(tmp_path: Path, sample_dir: Path) -> None:
    missing = tmp_path / "detectors.csv"
    data = data_section(source="trackml", trackml_dir=str(sample_dir), detectors=str(missing))
    with pytest.raises(TrackrecError, match=f"{missing}: data.detectors: no such file"):
        make_plan(data)
    # simulated events use the simulated detector: the key does not matter to them
    assert make_plan(data_section(detectors=str(missing))).splits["test"]


def test_trackml_event_files_match_the_lookup_of_each_file(tmp_path: Path) -> None:
    from trackrec.plan import TRACKML_PARTS, trackml_event_file, trackml_event_files

    names = [
        "event000000001-hits.csv.gz", "event000000001-hits.csv", "event000000001-truth.csv",
        "event000000002-hits.csv", "event000000002-cells.csv.gz", "event000000002-particles.csv",
        "event000000003-hits.csv.gz.part", "detectors.csv.gz", "notes.txt",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).touch()
    listed = trackml_event_files(tmp_path)
    assert sorted(listed) == ["event000000001", "event000000002"]
    for event, files in listed.items():
        expected = {p: trackml_event_file(tmp_path, event, p) for p in TRACKML_PARTS}
        assert files == {p: path for p, path in expected.items() if path is not None}
    assert listed["event000000001"]["hits"].name == "event000000001-hits.csv.gz"
