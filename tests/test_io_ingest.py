"""Building the hits and particles tables: each derived column checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_io_trackml import write_event

from trackrec.io import build_hits_table, build_particles_table, load_detector, load_event
from trackrec.io.ingest import cell_features, distinct_layers, empty_particles_table
from trackrec.io.schema import HITS, PARTICLES

P1, P2 = 4503599644147712, 9007199254740992

DETECTORS = """volume_id,layer_id,module_id,cx,cy,cz,rot_xu,rot_xv,rot_xw,rot_yu,rot_yv,rot_yw,rot_zu,rot_zv,rot_zw,module_t,module_minhu,module_maxhu,module_hv,pitch_u,pitch_v
8,2,1,30,40,0,0.8,0,0.6,-0.6,0,0.8,0,1,0,0.15,8,8,36,0.05,0.5
8,4,7,-3,4,250,1,0,0,0,1,0,0,0,1,0.25,8,8,36,0.06,0.6
8,6,3,60,80,0,0,1,0,-1,0,0,0,0,1,0.35,8,8,36,0.07,0.7
9,2,2,0,0,-1,1,0,0,0,0,1,0,-1,0,0.45,8,8,36,0.08,0.8
9,9,9,0,0,0,1,0,0,0,1,0,0,0,1,0.55,8,8,36,0.09,0.9
"""


@pytest.fixture()
def event(tmp_path: Path) -> dict[str, pd.DataFrame]:
    frames = load_event(write_event(tmp_path))
    (tmp_path / "detectors.csv").write_text(DETECTORS)
    return {**dict(zip(("hits", "cells", "particles", "truth"), frames)),
            "detectors": load_detector(tmp_path / "detectors.csv")}


def close(values, expected) -> None:
    np.testing.assert_allclose(np.asarray(values, dtype=float), expected, rtol=1e-6, atol=1e-7)


def test_position_columns(event: dict[str, pd.DataFrame]) -> None:
    table = build_hits_table(event["hits"])
    assert list(table.columns) == HITS.required_names
    assert table["hit_id"].tolist() == [1, 2, 3, 4]
    close(table["r"], [50.0, 5.0, 100.0, 2.5])
    close(table["phi"], [math.atan2(40, 30), math.atan2(4, -3), math.atan2(80, 60),
                         math.atan2(2, 1.5)])
    # eta = -ln tan(theta / 2) of the position: asinh(z / r)
    theta = [math.atan2(50, -100), math.atan2(5, 250.5), math.pi / 2, math.atan2(2.5, -1)]
    close(table["eta"], [-math.log(math.tan(t / 2)) for t in theta])
    assert table["volume_id"].dtype == np.int16 and table["module_id"].tolist() == [1, 7, 3, 2]


def test_cell_columns(event: dict[str, pd.DataFrame]) -> None:
    table = build_hits_table(event["hits"], cells=event["cells"])
    assert table["n_cells"].tolist() == [2, 1, 3, 1]
    close(table["charge"], [0.75, 1.0, 0.6, 0.0])
    # hit 1: ch0 10..11, ch1 20; hit 3: ch0 1..2, ch1 1..4 (gap included)
    assert table["extent_u"].tolist() == [2, 1, 2, 1]
    assert table["extent_v"].tolist() == [1, 1, 4, 1]


def test_hit_without_cells_gets_zeros(event: dict[str, pd.DataFrame]) -> None:
    cells = event["cells"][event["cells"]["hit_id"] != 2]
    table = build_hits_table(event["hits"], cells=cells)
    assert table.loc[1, ["n_cells", "charge", "extent_u", "extent_v"]].tolist() == [0, 0, 0, 0]


def test_geometry_columns(event: dict[str, pd.DataFrame]) -> None:
    table = build_hits_table(event["hits"], detectors=event["detectors"])
    close(table["thickness"], [0.15, 0.25, 0.35, 0.45])
    close(table["pitch_u"], [0.05, 0.06, 0.07, 0.08])
    close(table["pitch_v"], [0.5, 0.6, 0.7, 0.8])
    # module normal (local w axis in global coordinates) of hit 1's module: (0.6, 0.8, 0)
    close(table.loc[0, ["rot_xw", "rot_yw", "rot_zw"]], [0.6, 0.8, 0.0])
    close(table.loc[3, ["rot_xw", "rot_yw", "rot_zw"]], [0.0, 1.0, 0.0])


def test_truth_columns(event: dict[str, pd.DataFrame]) -> None:
    table = build_hits_table(event["hits"], truth=event["truth"], particles=event["particles"])
    assert table["particle_id"].tolist() == [P1, 0, P1, P1]
    assert table["noise"].tolist() == [False, True, False, False]
    close(table["weight"], [0.25, 0.0, 0.5, 0.25])
    close(table["tpt"], [0.5, np.nan, 1.0, 0.5])
    close(table["teta"], [0.0, np.nan, math.asinh(1.0), 0.0])
    close(table["tpx"], [0.3, np.nan, 0.6, 0.0])
    assert table["q"].tolist() == [-1, 0, -1, -1] and table["q"].dtype == np.int8
    assert table["nhits"].tolist() == [3, 0, 3, 3]
    close(table["vr"], [5.0, np.nan, 5.0, 5.0])
    close(table["vz"], [1.0, np.nan, 1.0, 1.0])
    close(table["pt"], [0.5, np.nan, 0.5, 0.5])


def test_all_groups_in_schema_order(event: dict[str, pd.DataFrame]) -> None:
    table = build_hits_table(**event)
    assert list(table.columns) == HITS.names
    assert table.dtypes.to_dict() == {c.name: c.numpy_dtype for c in HITS.columns}


def test_hits_in_another_order_keep_their_order(event: dict[str, pd.DataFrame]) -> None:
    hits = event["hits"].iloc[[2, 0, 3, 1]].reset_index(drop=True)
    table = build_hits_table(hits, event["cells"], event["truth"], event["particles"])
    assert table["hit_id"].tolist() == [3, 1, 4, 2]
    assert table["n_cells"].tolist() == [3, 2, 1, 1]
    assert table["particle_id"].tolist() == [P1, P1, P1, 0]


def test_particle_missing_from_particles_file_gets_defaults(
        event: dict[str, pd.DataFrame]) -> None:
    particles = event["particles"][event["particles"]["particle_id"] != P1]
    table = build_hits_table(event["hits"], truth=event["truth"], particles=particles)
    assert table["q"].tolist() == [0, 0, 0, 0]
    assert table["pt"].isna().all()
    close(table["tpt"], [0.5, np.nan, 1.0, 0.5])  # from truth, still known


def test_inconsistent_frames_raise(event: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="particles"):
        build_hits_table(event["hits"], truth=event["truth"])
    with pytest.raises(ValueError, match="truth"):
        build_hits_table(event["hits"], truth=event["truth"].iloc[:3],
                         particles=event["particles"])
    with pytest.raises(ValueError, match="detector"):
        build_hits_table(event["hits"], detectors=event["detectors"].iloc[:2])


def test_particles_table(event: dict[str, pd.DataFrame]) -> None:
    table = build_particles_table(event["particles"], event["truth"], event["hits"])
    assert list(table.columns) == PARTICLES.names
    assert table["particle_id"].tolist() == [P1, P2]
    close(table["pt"], [0.5, 1.0])
    close(table["eta"], [0.0, math.asinh(1.0)])
    close(table["vr"], [5.0, 0.0])
    # P1 has hits on (8,2), (8,6), (9,2): three distinct pairs; P2 none
    assert table["n_layers"].tolist() == [3, 0]
    assert table["reconstructable"].tolist() == [True, False]
    assert table.dtypes.to_dict() == {c.name: c.numpy_dtype for c in PARTICLES.columns}


def test_reconstructable_needs_distinct_volume_layer_pairs(
        event: dict[str, pd.DataFrame]) -> None:
    hits = event["hits"].copy()
    hits.loc[hits["hit_id"] == 3, ["volume_id", "layer_id"]] = [8, 2]  # same layer as hit 1
    table = build_particles_table(event["particles"], event["truth"], hits)
    assert table["n_layers"].tolist() == [2, 0]
    assert table["reconstructable"].tolist() == [False, False]


def test_particles_without_type_column(event: dict[str, pd.DataFrame]) -> None:
    table = build_particles_table(event["particles"].drop(columns="particle_type"),
                                  event["truth"], event["hits"])
    assert "particle_type" not in table.columns


def test_empty_particles_table_has_required_columns() -> None:
    table = empty_particles_table()
    assert len(table) == 0 and list(table.columns) == PARTICLES.required_names


# --- against slow obvious references ------------------------------------------------------


def cell_features_reference(hit_ids: list[int], cells: list[tuple[int, int, int, float]]):
    out = {"n_cells": [], "charge": [], "extent_u": [], "extent_v": []}
    for hid in hit_ids:
        mine = [c for c in cells if c[0] == hid]
        out["n_cells"].append(len(mine))
        out["charge"].append(sum(c[3] for c in mine))
        out["extent_u"].append(max(c[1] for c in mine) - min(c[1] for c in mine) + 1
                               if mine else 0)
        out["extent_v"].append(max(c[2] for c in mine) - min(c[2] for c in mine) + 1
                               if mine else 0)
    return out


@settings(max_examples=60, deadline=None)
@given(n_hits=st.integers(1, 8), data=st.data())
def test_cell_features_match_reference(n_hits: int, data: st.DataObject) -> None:
    hit_ids = data.draw(st.lists(st.integers(0, 10**12), min_size=n_hits, max_size=n_hits,
                                 unique=True))
    cells = data.draw(st.lists(st.tuples(st.sampled_from(hit_ids), st.integers(0, 1000),
                                         st.integers(0, 1000), st.floats(0, 1, width=32)),
                               max_size=30))
    frame = pd.DataFrame(cells or None, columns=["hit_id", "ch0", "ch1", "value"]).astype(
        {"hit_id": np.int64, "ch0": np.int32, "ch1": np.int32, "value": np.float32})
    got = cell_features(np.array(hit_ids, dtype=np.int64), frame)
    want = cell_features_reference(hit_ids, cells)
    for name in ("n_cells", "extent_u", "extent_v"):
        assert got[name].tolist() == want[name]
    np.testing.assert_allclose(got["charge"], want["charge"], rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3), st.integers(1, 3)),
                     min_size=1, max_size=25))
def test_distinct_layers_match_reference(rows: list[tuple[int, int, int]]) -> None:
    hits = pd.DataFrame({"hit_id": np.arange(len(rows)) + 100,
                         "volume_id": [r[1] for r in rows], "layer_id": [r[2] for r in rows]})
    truth = pd.DataFrame({"hit_id": hits["hit_id"], "particle_id": [r[0] for r in rows]})
    got = distinct_layers(truth, hits).to_dict()
    want: dict[int, set] = {}
    for pid, vol, lay in rows:
        if pid:
            want.setdefault(pid, set()).add((vol, lay))
    assert got == {pid: len(pairs) for pid, pairs in want.items()}


# --- the real sample --------------------------------------------------------------------


def test_real_sample_tables_are_consistent(sample_prefix: Path, detectors_path: Path) -> None:
    hits, cells, particles, truth = load_event(sample_prefix)
    table = build_hits_table(hits, cells, truth, particles, load_detector(detectors_path))
    parts = build_particles_table(particles, truth, hits)
    assert len(table) == 5527 and list(table.columns) == HITS.names
    assert (table["n_cells"] >= 1).all() and table["n_cells"].sum() == len(cells)
    assert set(truth["particle_id"]) <= set(table["particle_id"]) | {0}
    assert set(table["particle_id"]) - {0} <= set(parts["particle_id"])
    assert (table.loc[table["noise"], "weight"] == 0).all()  # (short tracks weigh 0 too)
    # per particle: nhits from the particles file equals its hits in the table
    counts = table.loc[~table["noise"]].groupby("particle_id").size()
    nhits = parts.set_index("particle_id")["nhits"]
    assert (counts == nhits.reindex(counts.index)).all()
    # reconstructable particles have hits on >= 3 distinct (volume, layer) pairs
    reco = set(parts.loc[parts["reconstructable"], "particle_id"])
    layers = table.loc[table["particle_id"].isin(reco)].groupby("particle_id")[
        ["volume_id", "layer_id"]].apply(lambda g: len(g.drop_duplicates()))
    assert len(reco) > 0 and (layers >= 3).all() and len(layers) == len(reco)
    # geometry: the module normal is a unit vector
    normal = table[["rot_xw", "rot_yw", "rot_zw"]].to_numpy(dtype=float)
    np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-4)
    assert (table["pitch_u"] > 0).all() and (table["thickness"] > 0).all()
