"""simulate_event tables and the ``trackrec simulate`` command: formats, ids, determinism."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.io import load_detector, load_event
from trackrec.simulate import build_detector, prepare_geometry, simulate_event
from trackrec.simulate.event import CELL_COLUMNS, HIT_COLUMNS, PARTICLE_COLUMNS, TRUTH_COLUMNS


@pytest.fixture(scope="module")
def geometry():
    return prepare_geometry(build_detector())


@pytest.fixture(scope="module")
def event(geometry) -> dict[str, pd.DataFrame]:
    return simulate_event(geometry, event_id=1000, pileup=10, seed=3)


def test_columns_and_types(event) -> None:
    expected = {
        "hits": HIT_COLUMNS,
        "cells": CELL_COLUMNS,
        "particles": PARTICLE_COLUMNS,
        "truth": TRUTH_COLUMNS,
    }
    for name, columns in expected.items():
        frame = event[name]
        assert list(frame.columns) == columns
        for col in columns:
            kind = "f" if col in {"x", "y", "z", "value", "vx", "vy", "vz", "px", "py", "pz", "tx", "ty", "tz",
                                  "tpx", "tpy", "tpz", "weight"} else "i"  # fmt: skip
            assert frame[col].dtype.kind == kind, (name, col)


def test_hit_ids_follow_modules(event) -> None:
    hits = event["hits"]
    assert hits.hit_id.tolist() == list(range(1, len(hits) + 1))
    key = hits[["volume_id", "layer_id", "module_id"]]
    assert key.equals(key.sort_values(list(key.columns), kind="stable"))
    assert (event["truth"].hit_id.to_numpy() == hits.hit_id.to_numpy()).all()


def test_hits_lie_on_their_modules(event, geometry) -> None:
    det = geometry.detector.reset_index().rename(columns={"index": "row"})
    hits = event["hits"].merge(det, on=["volume_id", "layer_id", "module_id"], how="left")
    assert hits.row.notna().all()
    rel = hits[["x", "y", "z"]].to_numpy() - hits[["cx", "cy", "cz"]].to_numpy()
    w = hits[["rot_xw", "rot_yw", "rot_zw"]].to_numpy()
    np.testing.assert_allclose(np.einsum("nk,nk->n", rel, w), 0.0, atol=1e-6)
    v = np.einsum("nk,nk->n", rel, hits[["rot_xv", "rot_yv", "rot_zv"]].to_numpy())
    assert (np.abs(v) <= hits.module_hv + 1e-6).all()


def test_particles_and_truth_agree(event) -> None:
    particles, truth = event["particles"], event["truth"]
    assert particles.particle_id.is_unique and (particles.particle_id != 0).all()
    counts = truth[truth.particle_id != 0].particle_id.value_counts()
    nhits = particles.set_index("particle_id").nhits
    assert counts.index.isin(nhits.index).all()
    assert (nhits.reindex(counts.index) == counts).all()
    assert (nhits.drop(counts.index) == 0).all()
    assert truth.weight.sum() == pytest.approx(1.0)
    assert (truth.weight[truth.particle_id == 0] == 0).all()
    assert set(particles.q.unique()) <= {-1, 1}
    noise = (truth.particle_id == 0).mean()
    assert 0.08 < noise < 0.2


def test_cells_belong_to_hits_and_fit_modules(event, geometry) -> None:
    cells, hits = event["cells"], event["hits"]
    assert set(cells.hit_id.unique()) == set(hits.hit_id)  # every hit has cells
    det = geometry.detector
    merged = cells.merge(hits, on="hit_id").merge(det, on=["volume_id", "layer_id", "module_id"])
    n0 = np.round(2 * merged.module_maxhu / merged.pitch_u)
    n1 = np.round(2 * merged.module_hv / merged.pitch_v)
    assert ((merged.ch0 >= 0) & (merged.ch0 < n0) & (merged.ch1 >= 0) & (merged.ch1 < n1)).all()
    strips = merged.pitch_v > 0.5
    assert (merged.value[strips] == 1).all()
    assert (merged.value[~strips] > 0).all()
    assert not cells.duplicated(["hit_id", "ch0", "ch1"]).any()


def test_same_arguments_same_tables(geometry, event) -> None:
    again = simulate_event(geometry, event_id=1000, pileup=10, seed=3)
    for name in event:
        pd.testing.assert_frame_equal(event[name], again[name])
    other = simulate_event(geometry, event_id=1001, pileup=10, seed=3)
    assert not other["hits"].equals(event["hits"])


def test_pileup_zero_is_the_hard_scatter_alone(geometry) -> None:
    tables = simulate_event(geometry, event_id=5, pileup=0, seed=1)
    prompt_vertices = tables["particles"].particle_id.to_numpy() >> 52
    assert set(prompt_vertices.tolist()) == {1}
    assert len(tables["hits"]) > 100


def test_dataframe_or_geometry_give_the_same_event(geometry) -> None:
    a = simulate_event(build_detector(), event_id=7, pileup=1, seed=2)
    b = simulate_event(geometry, event_id=7, pileup=1, seed=2)
    pd.testing.assert_frame_equal(a["truth"], b["truth"])


def test_detector_frame_is_prepared_once_per_process(monkeypatch) -> None:
    from trackrec.simulate import geometry as geometry_module

    prepared = []

    def counting_prepare(detector):
        prepared.append(len(detector))
        return prepare_geometry(detector)

    monkeypatch.setattr(geometry_module, "prepare_geometry", counting_prepare)
    monkeypatch.setattr(geometry_module, "_PREPARED", type(geometry_module._PREPARED)())
    detector = build_detector()
    first = simulate_event(detector, event_id=1, pileup=1, seed=4)
    simulate_event(detector, event_id=2, pileup=1, seed=4)
    again = simulate_event(detector.copy(), event_id=1, pileup=1, seed=4)  # equal content
    assert len(prepared) == 1
    pd.testing.assert_frame_equal(first["hits"], again["hits"])
    edited = detector.copy()
    edited.loc[0, "cx"] += 1.0  # a changed detector is prepared afresh
    simulate_event(edited, event_id=1, pileup=1, seed=4)
    assert len(prepared) == 2


def test_bad_arguments_are_one_line_errors(geometry) -> None:
    from trackrec.errors import TrackrecError

    with pytest.raises(TrackrecError, match="pileup"):
        simulate_event(geometry, event_id=1, pileup=-1, seed=1)
    with pytest.raises(TrackrecError, match="seed"):
        simulate_event(geometry, event_id=1, pileup=1, seed=-5)


# ---- the command --------------------------------------------------------------------------


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_cli_writes_trackml_files_and_single_event_equals_run(tmp_path) -> None:
    run, single = tmp_path / "run", tmp_path / "single"
    assert main(["simulate", "--out", str(run), "--events", "2", "--pileup", "3", "--seed", "9",
                 "--first-event-id", "41"]) == 0  # fmt: skip
    assert main(["simulate", "--out", str(single), "--events", "1", "--pileup", "3", "--seed", "9",
                 "--first-event-id", "42"]) == 0  # fmt: skip
    parts = ["cells", "hits", "particles", "truth"]
    assert _files(run) == ["detectors.csv.gz"] + [
        f"event{e:09d}-{p}.csv.gz" for e in (41, 42) for p in parts
    ]
    for name in _files(single):
        assert (run / name).read_bytes() == (single / name).read_bytes(), name
    for name in _files(run):
        assert gzip.decompress((run / name).read_bytes())  # plain gzip, readable everywhere
        assert (run / name).read_bytes()[4:8] == b"\0\0\0\0"  # no time stamp in the header
    hits, cells, particles, truth = load_event(run / "event000000042")
    assert len(hits) == len(truth) and len(cells) >= len(hits) and len(particles) > 0
    assert len(load_detector(run / "detectors.csv.gz")) == 18728


def test_cli_with_real_detector_leaves_it_alone(tmp_path, detectors_path) -> None:
    out = tmp_path / "out"
    assert (
        main(["simulate", "--out", str(out), "--pileup", "2", "--detectors", str(detectors_path)])
        == 0
    )
    assert (out / "detectors.csv.gz").read_bytes() == detectors_path.read_bytes()
    hits = pd.read_csv(out / "event000001000-hits.csv.gz")
    real = load_detector(detectors_path)
    keys = set(map(tuple, real[["volume_id", "layer_id", "module_id"]].to_numpy().tolist()))
    assert set(map(tuple, hits[["volume_id", "layer_id", "module_id"]].to_numpy().tolist())) <= keys
    # the given file is the output file itself: it is neither rewritten nor touched
    own = out / "detectors.csv.gz"
    before = (own.read_bytes(), os.stat(own).st_mtime_ns)
    assert main(["simulate", "--out", str(out), "--pileup", "2", "--detectors", str(own)]) == 0
    assert (own.read_bytes(), os.stat(own).st_mtime_ns) == before


def test_cli_bad_detector_file_is_one_line_error_without_output(tmp_path, capsys) -> None:
    bad = tmp_path / "detectors.csv"
    bad.write_text("volume_id,layer_id\n1,2\n")
    out = tmp_path / "out"
    assert main(["simulate", "--out", str(out), "--detectors", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and err[0].startswith("trackrec simulate: error:")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--events", "0"], "--events"), (["--pileup", "-2"], "--pileup"), (["--seed", "-1"], "--seed"),
    (["--first-event-id", "999999999", "--events", "2"], "event ids"),
])  # fmt: skip
def test_cli_refuses_bad_arguments(tmp_path, capsys, args, message) -> None:
    try:
        code = main(["simulate", "--out", str(tmp_path / "o"), *args])
    except SystemExit as exit:  # refused by the option's type, as argparse does
        code = exit.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_prepared_geometry_file_gives_the_same_events(tmp_path, monkeypatch, capsys) -> None:
    """simulate --geometry (the workflow's simulate_event jobs) neither reads nor prepares
    the detector again, and writes the same files as simulate from the detector file."""
    from trackrec.simulate import command as command_module
    from trackrec.simulate import geometry as geometry_module

    detectors, prepared = tmp_path / "detectors.csv.gz", tmp_path / "geometry.npz"
    assert main(["simulate-detector", "--out", str(detectors), "--geometry", str(prepared)]) == 0
    common = ["--events", "1", "--pileup", "3", "--seed", "5", "--first-event-id", "77",
              "--detectors", str(detectors)]  # fmt: skip
    assert main(["simulate", "--out", str(tmp_path / "a"), *common]) == 0

    def forbidden(*args, **kwargs):
        raise AssertionError("the detector was read or prepared again")

    monkeypatch.setattr(geometry_module, "prepare_geometry", forbidden)
    monkeypatch.setattr(command_module, "_same_file", lambda a, b: False)  # copy: a new folder
    import trackrec.io

    monkeypatch.setattr(trackrec.io, "load_detector", forbidden)
    assert main(["simulate", "--out", str(tmp_path / "b"), *common, "--geometry", str(prepared)]) == 0
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

    # a geometry prepared from another detector file is refused in one line
    import gzip

    other = tmp_path / "other.csv.gz"  # the same table, other bytes (another gzip header)
    other.write_bytes(gzip.compress(gzip.decompress(detectors.read_bytes()), mtime=1))
    (tmp_path / "c").mkdir()
    assert main(["simulate", "--out", str(tmp_path / "c"), *common[:-1], str(other),
                 "--geometry", str(prepared)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{prepared}: prepared from another detector file" in err[0]
    assert not any((tmp_path / "c").iterdir())


def test_a_file_that_is_no_prepared_geometry_is_one_line(tmp_path, capsys) -> None:
    detectors, bad = tmp_path / "detectors.csv.gz", tmp_path / "geometry.npz"
    assert main(["simulate-detector", "--out", str(detectors)]) == 0
    bad.write_bytes(b"not numpy at all")
    argv = ["simulate", "--out", str(tmp_path / "o"), "--pileup", "0", "--detectors",
            str(detectors), "--geometry", str(bad)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}: not a prepared geometry" in err[0], err
    assert not (tmp_path / "o").exists()
