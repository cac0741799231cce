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
