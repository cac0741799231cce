"""The run plan: which events a workflow run uses, where each comes from, and the split.

Pure functions on the validated config (``config/config.yaml``), called by
``rules/common.smk`` when Snakemake builds the job graph and tested without Snakemake; they
also find which test events the external methods (``tracking.external``) have tracks for.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackrec.errors import TrackrecError

SPLITS = ("train", "val", "test")
# which split a scarce event goes to first: test events give tracks, metrics and a report
_FILL_ORDER = ("test", "train", "val")
_EVENT_RE = re.compile(r"^event(\d{9})$")
_HITS_RE = re.compile(r"^(event\d{9})-hits\.csv(\.gz)?$")


def event_name(event: int | str) -> str:
    """``1000`` or ``"1000"`` or ``"event000001000"`` -> ``"event000001000"``."""
    if isinstance(event, str) and _EVENT_RE.match(event):
        return event
    try:
        number = int(event)
    except ValueError:
        raise TrackrecError(
            f"not an event id: {event!r} (expected 1000 or 'event000001000')"
        ) from None
    if number < 0:
        raise TrackrecError(f"not an event id: {event!r} (negative)")
    return f"event{number:09d}"


def event_number(event: str) -> int:
    """``"event000001000"`` -> ``1000``."""
    return int(event_name(event)[len("event") :])


def discover_trackml_events(folder: str | Path) -> list[str]:
    """Sorted event names with a hits file (``.csv`` or ``.csv.gz``) in ``folder``."""
    path = Path(folder)
    if not path.is_dir():
        raise TrackrecError(f"{path}: data.trackml_dir is not a folder")
    events = sorted({m.group(1) for p in path.iterdir() if (m := _HITS_RE.match(p.name))})
    if not events:
        raise TrackrecError(
            f"{path}: no TrackML events (event<id>-hits.csv[.gz]) in data.trackml_dir"
        )
    return events


def trackml_event_file(folder: str | Path, event: str, part: str) -> Path | None:
    """The path of one part of a TrackML event, ``.csv.gz`` or ``.csv``; None if absent."""
    for suffix in (".csv.gz", ".csv"):
        candidate = Path(folder) / f"{event}-{part}{suffix}"
        if candidate.exists():
            return candidate
    return None


TRACKML_PARTS = ("hits", "cells", "particles", "truth")
_PART_RE = re.compile(r"^(event\d{9})-(hits|cells|particles|truth)\.csv(\.gz)?$")


def trackml_event_files(folder: str | Path) -> dict[str, dict[str, Path]]:
    """``{event: {part: path}}`` of every TrackML file in ``folder``, from one listing.

    Like :func:`trackml_event_file` for each event and part (``.csv.gz`` before ``.csv``),
    but a folder of 10,000 events costs one directory listing instead of 80,000 lookups,
    which matters on the network file systems of clusters.
    """
    found: dict[str, dict[str, Path]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            match = _PART_RE.match(entry.name)
            if match is None:
                continue
            parts = found.setdefault(match.group(1), {})
            if match.group(3) or match.group(2) not in parts:  # .csv.gz wins over .csv
                parts[match.group(2)] = Path(folder) / entry.name
    return found


def trackml_detectors_file(data: Mapping[str, Any]) -> Path | None:
    """``data.detectors``, or ``detectors.csv[.gz]`` in ``data.trackml_dir`` when present."""
    if data.get("detectors"):
        return Path(data["detectors"])
    for name in ("detectors.csv.gz", "detectors.csv"):
        candidate = Path(data["trackml_dir"]) / name
        if candidate.exists():
            return candidate
    return None


def split_events(events: list[str], split: Mapping[str, Any]) -> dict[str, list[str]]:
    """Assign events to train/val/test: explicit id lists, or fractions of ``events`` in order.

    Fractions are turned into counts by largest remainders, so they always add up to at most
    the number of events, and a fraction above 0 gets at least one event while there are
    events for it (test first, then train, then val: a folder of one event is a test event);
    explicit lists must name known events, and no event may be in two splits.
    """
    result: dict[str, list[str]] = {}
    fractions = {k: float(v) for k, v in split.items() if not isinstance(v, list)}
    listed = {k: [event_name(e) for e in v] for k, v in split.items() if isinstance(v, list)}
    known = set(events)
    for name, chosen in listed.items():
        unknown = sorted(set(chosen) - known)
        if unknown:
            raise TrackrecError(f"data.split.{name}: unknown events {', '.join(unknown)}")
        result[name] = chosen
    taken = {e for chosen in listed.values() for e in chosen}
    remaining = [e for e in events if e not in taken]
    if sum(fractions.values()) > 1 + 1e-9:
        parts = ", ".join(f"{k} {v:g}" for k, v in fractions.items())
        raise TrackrecError(
            f"data.split: fractions add up to {sum(fractions.values()):g} > 1 ({parts})"
        )
    counts = _largest_remainder_counts(fractions, len(remaining))
    start = 0
    for name in SPLITS:
        if name in counts:
            result[name] = remaining[start : start + counts[name]]
            start += counts[name]
    for name in SPLITS:
        result.setdefault(name, [])
    seen: dict[str, str] = {}
    for name in SPLITS:
        for event in result[name]:
            if event in seen:
                raise TrackrecError(f"data.split: {event} is in both {seen[event]} and {name}")
            seen[event] = name
    return result


def _largest_remainder_counts(fractions: Mapping[str, float], n: int) -> dict[str, int]:
    exact = {k: f * n for k, f in fractions.items()}
    counts = {k: math.floor(v) for k, v in exact.items()}
    target = min(n, round(sum(exact.values())))
    by_remainder = sorted(exact, key=lambda k: (counts[k] - exact[k], SPLITS.index(k)))
    for name in by_remainder[: max(0, target - sum(counts.values()))]:
        counts[name] += 1
    for name in _FILL_ORDER:  # a fraction above 0 that rounded to no event gets one
        if fractions.get(name, 0) <= 0 or counts[name] > 0:
            continue
        if sum(counts.values()) < n:  # an event no split takes
            counts[name] = 1
            continue
        plenty = [k for k in _FILL_ORDER if counts.get(k, 0) > 1]
        later = [k for k in _FILL_ORDER[_FILL_ORDER.index(name) + 1 :] if counts.get(k, 0) > 0]
        donor = max(plenty, key=lambda k: counts[k]) if plenty else (later[-1] if later else None)
        if donor is not None:
            counts[donor] -= 1
            counts[name] = 1
    return counts


@dataclass(frozen=True)
class Plan:
    """Events of a run: the split, which source (``simulate``/``trackml``) each is from, and
    which have truth (TrackML test events have none: their tracks are built but not scored)."""

    splits: dict[str, list[str]]
    source_of: dict[str, str]
    has_truth: dict[str, bool]
    trackml_files: dict[str, dict[str, Path]] = field(default_factory=dict)
    """The files of each TrackML event: ``{event: {part: path}}``."""

    @property
    def scored_test_events(self) -> list[str]:
        """Test events with truth: the ones metrics and the report cover."""
        return [e for e in self.splits["test"] if self.has_truth[e]]

    @property
    def events(self) -> list[str]:
        """All events the run ingests, in split order."""
        return [e for name in SPLITS for e in self.splits[name]]

    def events_from(self, source: str) -> list[str]:
        return [e for e in self.events if self.source_of[e] == source]


def source_events(data: Mapping[str, Any], source: str) -> list[str]:
    """All events a source offers: the simulated ids, or the (selected) TrackML files."""
    if source == "simulate":
        sim = data["simulate"]
        first = int(sim["first_event_id"])
        return [event_name(first + i) for i in range(int(sim["n_events"]))]
    if not data.get("trackml_dir"):
        raise TrackrecError("data.trackml_dir must be set when a source is trackml")
    available = discover_trackml_events(data["trackml_dir"])
    if data["events"] == "all":
        return available
    chosen = [event_name(e) for e in data["events"]]
    missing = sorted(set(chosen) - set(available))
    if missing:
        raise TrackrecError(f"{data['trackml_dir']}: data.events not found: {', '.join(missing)}")
    return sorted(chosen)


def _has_truth(files: Mapping[str, Path], source: str) -> bool:
    return source == "simulate" or all(part in files for part in ("truth", "particles"))


def make_plan(data: Mapping[str, Any]) -> Plan:
    """The plan for the ``data`` section of a validated config."""
    source = data["source"]
    eval_source = data.get("eval_source") or source
    events = source_events(data, source)
    if eval_source == source:
        splits = split_events(events, data["split"])
        source_of = {e: source for e in events}
    else:
        splits = _split_with_eval_source(data, events, eval_source)
        source_of = {e: source for e in events} | {e: eval_source for e in splits["test"]}
    if not splits["test"] and not _no_test_events_asked(data["split"]):
        counts = ", ".join(f"{name} {len(splits[name])}" for name in SPLITS)
        raise TrackrecError(
            f"data.split: no test events ({counts}), so no tracks, metrics or report; give "
            "data.split.test a fraction above 0 or a list of event ids (test: 0 runs without "
            "test events)"
        )
    detectors = data.get("detectors")
    if detectors and "trackml" in source_of.values() and not Path(detectors).is_file():
        raise TrackrecError(f"{detectors}: data.detectors: no such file")
    files = {}
    if "trackml" in source_of.values():
        listed = trackml_event_files(data["trackml_dir"])
        files = {e: listed.get(e, {}) for e, src in source_of.items() if src == "trackml"}
    has_truth = {e: _has_truth(files.get(e, {}), src) for e, src in source_of.items()}
    return Plan(splits, source_of, has_truth, files)


def _no_test_events_asked(split: Mapping[str, Any]) -> bool:
    """Whether ``data.split.test`` explicitly asks for no test events (0 or an empty list)."""
    test = split.get("test")
    return test == [] or (not isinstance(test, list) and test is not None and float(test) == 0)


def _split_with_eval_source(
    data: Mapping[str, Any], events: list[str], eval_source: str
) -> dict[str, list[str]]:
    """Train/val share ``events`` (of data.source); test is every event of ``eval_source``."""
    train_val = {k: v for k, v in data["split"].items() if k != "test"}
    total = sum(float(v) for v in train_val.values() if not isinstance(v, list))
    if total > 0:
        train_val = {
            k: (v if isinstance(v, list) else float(v) / total) for k, v in train_val.items()
        }
    splits = split_events(events, train_val)
    test = source_events(data, eval_source)
    clash = sorted(set(test) & set(events))
    if clash:
        raise TrackrecError(
            f"data.eval_source: events {', '.join(clash)} exist in both sources; "
            "choose other data.simulate.first_event_id or data.events"
        )
    splits["test"] = test
    return splits


def cli_options(section: Mapping[str, Any]) -> str:
    """A config section as command-line options: ``{"max_curvature": 1}`` -> ``--max-curvature 1``.

    Lists become repeated values (``--pt-thresholds 0 0.9``); None values are left out.
    """
    words: list[str] = []
    for key, value in section.items():
        if value is None:
            continue
        words.append("--" + key.replace("_", "-"))
        values = value if isinstance(value, list) else [value]
        words.extend(shlex.quote(str(v)) for v in values)
    return " ".join(words)


# ---------------------------------------------------------------------------------------
# External methods: tracks made by other programs (tracking.external)

_EXTERNAL_FIELDS = ("event", "event_id")


def external_methods(tracking: Mapping[str, Any], builtin: Sequence[str]) -> dict[str, str]:
    """``tracking.external`` (method name -> path pattern), checked.

    A name may not be a built-in method's; a pattern may use ``{event}`` (``event000001000``)
    and ``{event_id}`` (1000, with a format such as ``{event_id:09d}``), or neither for one
    file with an ``event_id`` column that holds every event (the challenge's format).
    """
    external = dict(tracking.get("external") or {})
    for name, pattern in external.items():
        where = f"tracking.external.{name}"
        if name in builtin:
            raise TrackrecError(f"{where}: {name} is a built-in method; give yours another name")
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
            unknown = sorted(fields - set(_EXTERNAL_FIELDS))
            if not unknown:
                external_track_file(pattern, "event000000001")
        except (ValueError, IndexError) as err:
            raise TrackrecError(f"{where}: bad path pattern {pattern!r} ({err})") from None
        if unknown:
            raise TrackrecError(
                f"{where}: unknown placeholder {{{unknown[0]}}} in {pattern!r} "
                "(use {event} or {event_id})"
            )
    return external


def is_multi_event(pattern: str) -> bool:
    """True for a pattern without placeholders: one file holding every event."""
    return all(field is None for _, field, _, _ in string.Formatter().parse(pattern))


def external_track_file(pattern: str, event: str) -> str:
    """The file of ``event`` for an external method's path pattern."""
    return pattern.format(event=event, event_id=event_number(event))


def external_events(name: str, pattern: str, events: Sequence[str]) -> list[str]:
    """The events of ``events`` for which the external method ``name`` has tracks.

    Those whose file exists, for a per-event pattern; those in the file's ``event_id`` column,
    for a single file. None at all is an error naming where they were looked for (a wrong
    pattern, most likely); some missing is not: those events are reported as failed.
    """
    from trackrec.io.trackml import submission_event_ids

    where = f"tracking.external.{name}"
    if not is_multi_event(pattern):
        found = [e for e in events if Path(external_track_file(pattern, e)).is_file()]
        looked = external_track_file(pattern, events[0]) if events else pattern
    elif Path(pattern).is_file():
        ids = submission_event_ids(pattern)
        if ids is None:
            raise TrackrecError(
                f"{pattern}: {where} is one file for all events but has no event_id column "
                "(add one, or put {event} in the path)"
            )
        found = [e for e in events if event_number(e) in set(ids.tolist())]
        looked = f"{pattern} (event_id {event_number(events[0])})" if events else pattern
    else:
        found, looked = [], pattern
    if events and not found:
        raise TrackrecError(f"{where}: no tracks for any test event (looked for {looked})")
    return found


# ---------------------------------------------------------------------------------------
# The plan file: <results>/<run>/plan.json, what a run is expected to produce

PLAN_FILE_KEYS = ("run", "splits", "source_of", "scored_test_events", "methods", "config")


def plan_file_content(
    *,
    run: str,
    data: Mapping[str, Any],
    metrics: Mapping[str, Any],
    methods: Sequence[str],
    version: str,
) -> dict[str, Any]:
    """The plan file of a run: its events, their split and source, the scored test events
    every method should have metrics for, and the config sections that decide them.

    ``methods`` are the run's built-in and external method names. The report reads
    ``scored_test_events`` x ``methods`` as the expected metrics files (a missing one is a
    failed event) and ``config.metrics`` for its thresholds and labels.
    """
    plan = make_plan(data)
    return {
        "trackrec_version": version,
        "run": run,
        "splits": plan.splits,
        "source_of": plan.source_of,
        "scored_test_events": plan.scored_test_events,
        "methods": list(methods),
        "config": {"data": dict(data), "metrics": dict(metrics)},
    }


def check_plan_file_content(content: object) -> dict[str, Any]:
    """``content`` (a parsed plan file) if it has the plan file's keys and types; else raise
    :class:`TrackrecError` naming the first problem."""
    if not isinstance(content, dict):
        raise TrackrecError("expected a JSON object (a trackrec plan file)")
    missing = [key for key in PLAN_FILE_KEYS if key not in content]
    if missing:
        raise TrackrecError(f"not a trackrec plan file: no {', '.join(missing)}")
    events = content["scored_test_events"]
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise TrackrecError("scored_test_events must be a list of event names")
    for event in events:
        event_name(event)  # raises for a malformed name
    methods = content["methods"]
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise TrackrecError("methods must be a list of method names")
    if not isinstance(content["config"], dict):
        raise TrackrecError("config must be an object")
    return content


# Cluster resources


def gpu_resources(resources: Mapping[str, Any]) -> dict[str, int | str]:
    """The Snakemake resources of a GPU stage for the ``resources`` config section.

    ``{"gpu": 1}`` (plus ``"gpu_model"`` when ``resources.gpu_model`` is set) when
    ``resources.device`` is ``cuda``; nothing otherwise, so ``auto`` and ``cpu`` runs never
    wait for a GPU. The SLURM executor turns ``gpu``/``gpu_model`` into ``--gpus=[model:]1``.
    """
    if resources.get("device") != "cuda":
        return {}
    wanted: dict[str, int | str] = {"gpu": 1}
    if resources.get("gpu_model"):
        wanted["gpu_model"] = str(resources["gpu_model"])
    return wanted
