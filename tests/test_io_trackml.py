"""The TrackML reader: call shape of trackml.dataset, dtypes, file layouts, and bad input."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trackrec.errors import InputError
from trackrec.io import (
    load_dataset,
    load_detector,
    load_event,
    load_submission_file,
    load_truth_file,
    write_table,
)
from trackrec.io.trackml import available_parts, event_id

HITS = """hit_id,x,y,z,volume_id,layer_id,module_id
1,30.0,40.0,-100.0,8,2,1
2,-3.0,4.0,250.5,8,4,7
3,60.0,80.0,0.0,8,6,3
4,1.5,2.0,-1.0,9,2,2
"""
CELLS = """hit_id,ch0,ch1,value
1,10,20,0.5
1,11,20,0.25
2,5,7,1.0
3,1,1,0.1
3,1,4,0.2
3,2,2,0.3
4,0,0,0.0
"""
PARTICLES = """particle_id,particle_type,vx,vy,vz,px,py,pz,q,nhits
4503599644147712,13,3.0,4.0,1.0,0.3,0.4,0.0,-1,3
9007199254740992,-211,0.0,0.0,-2.0,-1.0,0.0,1.0,1,0
"""
TRUTH = """hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight
1,4503599644147712,30.0,40.0,-100.0,0.3,0.4,0.0,0.25
2,0,-3.0,4.0,250.5,-5.0,1.0,2.0,0.0
3,4503599644147712,60.0,80.0,0.0,0.6,0.8,1.0,0.5
4,4503599644147712,1.5,2.0,-1.0,0.0,0.5,0.0,0.25
"""
EVENT = {"hits": HITS, "cells": CELLS, "particles": PARTICLES, "truth": TRUTH}


def write_event(folder: Path, name: str = "event000000010", parts: dict[str, str] | None = None,
                gz: bool = False) -> Path:
    """Write a tiny event's CSV files; returns the prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    for part, text in (EVENT if parts is None else parts).items():
        path = folder / f"{name}-{part}.csv{'.gz' if gz else ''}"
        if gz:
            with gzip.open(path, "wt") as f:
                f.write(text)
        else:
            path.write_text(text)
    return folder / name


def error_of(call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as exc:
        call(*args, **kwargs)
    return exc.value


# --- shape and dtypes -------------------------------------------------------------------


def test_load_event_returns_parts_in_order_asked(tmp_path: Path) -> None:
    prefix = write_event(tmp_path)
    truth, hits = load_event(prefix, parts=["truth", "hits"])
    assert list(hits.columns) == ["hit_id", "x", "y", "z", "volume_id", "layer_id", "module_id"]
    assert list(truth.columns)[:2] == ["hit_id", "particle_id"]
    (only,) = load_event(prefix, ["cells"])
    assert len(only) == 7
    assert len(load_event(prefix)) == 4


def test_dtypes_follow_trackml_library_with_int64_ids(tmp_path: Path) -> None:
    hits, cells, particles, truth = load_event(write_event(tmp_path))
    assert hits.dtypes.to_dict() == {
        "hit_id": np.int64, "x": np.float32, "y": np.float32, "z": np.float32,
        "volume_id": np.int32, "layer_id": np.int32, "module_id": np.int32}
    assert cells.dtypes.to_dict() == {"hit_id": np.int64, "ch0": np.int32, "ch1": np.int32,
                                      "value": np.float32}
    assert particles["particle_id"].dtype == np.int64
    assert particles["q"].dtype == np.int32
    assert truth["particle_id"].dtype == np.int64
    assert truth["weight"].dtype == np.float32
    # ids above 2**53 survive exactly (no float round trip)
    assert particles["particle_id"].tolist() == [4503599644147712, 9007199254740992]
    assert hits["x"].tolist() == [30.0, -3.0, 60.0, 1.5]


def test_particles_without_particle_type(tmp_path: Path) -> None:
    text = "\n".join(",".join(f for i, f in enumerate(line.split(",")) if i != 1)
                     for line in PARTICLES.splitlines()) + "\n"
    prefix = write_event(tmp_path, parts={**EVENT, "particles": text})
    (particles,) = load_event(prefix, ["particles"])
    assert "particle_type" not in particles.columns
    assert particles["nhits"].tolist() == [3, 0]


def test_csv_gz_dir_and_zip_agree(tmp_path: Path) -> None:
    plain = load_event(write_event(tmp_path / "plain"))
    gz = load_event(write_event(tmp_path / "gz", gz=True))
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part, text in EVENT.items():
            z.writestr(f"train_1/event000000010-{part}.csv", text)
    zipped = load_event(archive / "train_1" / "event000000010")
    for a, b, c in zip(plain, gz, zipped):
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)


def test_full_file_name_is_accepted_as_prefix(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, gz=True)
    (hits,) = load_event(f"{prefix}-hits.csv.gz", ["hits"])
    assert len(hits) == 4


def test_load_dataset_directory_sorted_skip_nevents(tmp_path: Path) -> None:
    for n in (12, 3, 7):
        write_event(tmp_path, f"event{n:09d}")
    (tmp_path / "notes.txt").write_text("not an event")
    assert [e[0] for e in load_dataset(tmp_path, parts=["hits"])] == [3, 7, 12]
    got = list(load_dataset(tmp_path, skip=1, nevents=1, parts=["hits", "truth"]))
    assert len(got) == 1
    event, hits, truth = got[0]
    assert event == 7 and isinstance(event, int)
    assert len(hits) == len(truth) == 4


def test_load_dataset_zip_with_subfolder_and_gz_members(tmp_path: Path) -> None:
    archive = tmp_path / "train.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for n in (5, 2):
            for part, text in EVENT.items():
                z.writestr(f"train_1/event{n:09d}-{part}.csv.gz", gzip.compress(text.encode()))
    events = list(load_dataset(archive, nevents=5))
    assert [e[0] for e in events] == [2, 5]
    assert all(len(e) == 5 for e in events)
    assert events[0][1]["hit_id"].tolist() == [1, 2, 3, 4]


def test_load_dataset_errors(tmp_path: Path) -> None:
    assert "no such file" in str(error_of(lambda: list(load_dataset(tmp_path / "nope"))))
    (tmp_path / "empty").mkdir()
    assert "no TrackML event" in str(error_of(lambda: list(load_dataset(tmp_path / "empty"))))


def test_event_id_and_available_parts(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS, "cells": CELLS})
    assert event_id(prefix) == 10
    assert available_parts(prefix) == ("hits", "cells")


# --- test events ------------------------------------------------------------------------


def test_test_event_loads_hits_and_cells_and_refuses_truth(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS, "cells": CELLS})
    hits, cells = load_event(prefix, ["hits", "cells"])
    assert len(hits) == 4 and len(cells) == 7
    err = error_of(load_event, prefix, ["hits", "truth"])
    assert "test event" in str(err) and "truth" in str(err.path)


# --- bad input --------------------------------------------------------------------------


def test_missing_file_names_it(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"cells": CELLS})
    err = error_of(load_event, prefix, ["hits"])
    assert str(err.path) == f"{prefix}-hits.csv[.gz]"
    assert "no such file" in err.problem


def test_missing_column_is_named(tmp_path: Path) -> None:
    text = HITS.replace("layer_id,", "").replace(",2,1\n", ",1\n")
    prefix = write_event(tmp_path, parts={"hits": text})
    err = error_of(load_event, prefix, ["hits"])
    assert err.path == Path(f"{prefix}-hits.csv")
    assert "missing column 'layer_id'" in err.problem


def test_non_numeric_value_names_column_and_line(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS.replace("250.5", "abc")})
    err = error_of(load_event, prefix, ["hits"])
    assert err.path == Path(f"{prefix}-hits.csv")
    assert "'abc'" in err.problem and "column 'z'" in err.problem and "line 3" in err.problem


def test_wrong_number_of_fields_is_a_malformed_row(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS + "5,1.0,2.0\n"})
    err = error_of(load_event, prefix, ["hits"])
    assert "malformed row" in err.problem


def test_particle_id_beyond_int64_is_refused(tmp_path: Path) -> None:
    text = PARTICLES.replace("9007199254740992", str(2**64 - 1))
    prefix = write_event(tmp_path, parts={"particles": text})
    err = error_of(load_event, prefix, ["particles"])
    assert "particle_id" in err.problem and "line 3" in err.problem


@pytest.mark.parametrize("value", ["nan", "NaN", "", "inf"])
def test_nan_coordinate_is_refused(tmp_path: Path, value: str) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS.replace("-3.0", value)})
    err = error_of(load_event, prefix, ["hits"])
    assert err.path == Path(f"{prefix}-hits.csv")
    assert "NaN" in err.problem and "line 3" in err.problem


def test_duplicate_hit_ids_are_refused(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS.replace("\n4,", "\n3,")})
    err = error_of(load_event, prefix, ["hits"])
    assert "duplicate hit_id" in err.problem and "line 5" in err.problem


def test_truth_not_matching_hits_is_refused(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={**EVENT, "truth": TRUTH.replace("\n4,", "\n9,")})
    err = error_of(load_event, prefix, ["hits", "truth"])
    assert err.path == Path(f"{prefix}-truth.csv")
    assert "1 hit_id(s) only in truth, 1 only in hits" in err.problem
    # loading truth alone cannot compare, so it loads
    assert len(load_event(prefix, ["truth"])[0]) == 4


def test_cells_of_unknown_hits_are_refused(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={**EVENT, "cells": CELLS + "8,1,1,1.0\n"})
    err = error_of(load_event, prefix, ["hits", "cells"])
    assert err.path == Path(f"{prefix}-cells.csv") and "hit_id 8" in err.problem


def test_empty_event_is_refused(tmp_path: Path) -> None:
    prefix = write_event(tmp_path, parts={"hits": HITS.splitlines()[0] + "\n"})
    assert "empty event" in error_of(load_event, prefix, ["hits"]).problem
    Path(f"{prefix}-hits.csv").write_text("")
    assert "empty file" in error_of(load_event, prefix, ["hits"]).problem


def test_both_csv_and_csv_gz_is_ambiguous(tmp_path: Path) -> None:
    write_event(tmp_path, parts={"hits": HITS})
    prefix = write_event(tmp_path, parts={"hits": HITS}, gz=True)
    assert "both" in error_of(load_event, prefix, ["hits"]).problem


def test_unknown_part_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown event part"):
        load_event(write_event(tmp_path), ["hitz"])


# --- single files: truth, submission, detector -------------------------------------------


def test_load_truth_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(TRUTH.encode()))
    truth = load_truth_file(path)
    assert truth["hit_id"].tolist() == [1, 2, 3, 4]
    assert truth["particle_id"].tolist()[1] == 0
    (tmp_path / "bad.csv").write_text(TRUTH.replace(",weight", ""))
    err = error_of(load_truth_file, tmp_path / "bad.csv")
    assert "missing column 'weight'" in err.problem
    assert "no such file" in error_of(load_truth_file, tmp_path / "none.csv").problem


def test_load_submission_csv_gz_and_parquet(tmp_path: Path) -> None:
    text = "hit_id,track_id\n1,5\n2,5\n3,-1\n"
    (tmp_path / "s.csv").write_text(text)
    (tmp_path / "s.csv.gz").write_bytes(gzip.compress(text.encode()))
    expected = pd.DataFrame({"hit_id": [1, 2, 3], "track_id": [5, 5, -1]}, dtype=np.int64)
    pq.write_table(pa.table({"hit_id": pa.array([1, 2, 3], pa.int32()),
                             "track_id": [5, 5, -1]}), tmp_path / "plain.parquet")
    write_table(expected, tmp_path / "tracks.parquet", "tracks")
    for name in ("s.csv", "s.csv.gz", "plain.parquet", "tracks.parquet"):
        pd.testing.assert_frame_equal(load_submission_file(tmp_path / name), expected)


def test_submission_errors(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("hit_id,track_id\n1,5\n1,6\n")
    assert "duplicate hit_id" in error_of(load_submission_file, tmp_path / "dup.csv").problem
    (tmp_path / "col.csv").write_text("hit_id,track\n1,5\n")
    assert "'track_id'" in error_of(load_submission_file, tmp_path / "col.csv").problem
    (tmp_path / "nan.csv").write_text("hit_id,track_id\n1,\n")
    assert "missing" in error_of(load_submission_file, tmp_path / "nan.csv").problem
    pq.write_table(pa.table({"hit_id": [1]}), tmp_path / "col.parquet")
    assert "'track_id'" in error_of(load_submission_file, tmp_path / "col.parquet").problem
    (tmp_path / "junk.parquet").write_text("not parquet")
    assert "Parquet" in error_of(load_submission_file, tmp_path / "junk.parquet").problem


DETECTORS = """volume_id,layer_id,module_id,cx,cy,cz,rot_xu,rot_xv,rot_xw,rot_yu,rot_yv,rot_yw,rot_zu,rot_zv,rot_zw,module_t,module_minhu,module_maxhu,module_hv,pitch_u,pitch_v
8,2,1,30.0,40.0,0.0,0.8,0.0,0.6,-0.6,0.0,0.8,0.0,1.0,0.0,0.15,8.4,8.4,36.0,0.05,0.05625
9,2,2,0.0,0.0,-1500.0,1.0,0.0,0.0,0.0,1.0,0.0,0.0,0.0,1.0,0.3,12.0,16.0,54.0,0.08,1.2
"""


def test_load_detector_with_and_without_index_column(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(DETECTORS)
    indexed = "," + DETECTORS.splitlines()[0] + "\n" + "".join(
        f"{i},{line}\n" for i, line in enumerate(DETECTORS.splitlines()[1:]))
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(indexed.encode()))
    a, b = load_detector(tmp_path / "a.csv"), load_detector(tmp_path / "b.csv.gz")
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[:3]) == ["volume_id", "layer_id", "module_id"]
    assert len(a.columns) == 21
    assert a["pitch_v"].tolist() == [0.05625, 1.2]
    (tmp_path / "dup.csv").write_text(DETECTORS + DETECTORS.splitlines()[1] + "\n")
    assert "duplicate" in error_of(load_detector, tmp_path / "dup.csv").problem


# --- the real sample --------------------------------------------------------------------


def test_real_sample_loads_and_truth_matches(sample_prefix: Path) -> None:
    hits, cells, particles, truth = load_event(sample_prefix)
    assert len(hits) == 5527 and len(particles) == 548
    assert set(truth["hit_id"]) == set(hits["hit_id"])
    assert cells["hit_id"].isin(hits["hit_id"]).all()
    pids = truth.loc[truth["particle_id"] != 0, "particle_id"]
    assert pids.isin(particles["particle_id"]).all()


def test_real_sample_as_dataset_and_zip(sample_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "sample.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(sample_dir.glob("event*")):
            z.write(f, f"sample/{f.name}")
    (eid, hits), = load_dataset(sample_dir, parts=["hits"])
    (zid, zhits), = load_dataset(archive, parts=["hits"])
    assert eid == zid == 1
    pd.testing.assert_frame_equal(hits, zhits)


def test_real_detector_has_18728_modules(detectors_path: Path) -> None:
    det = load_detector(detectors_path)
    assert len(det) == 18728
    assert det[["volume_id", "layer_id", "module_id"]].duplicated().sum() == 0


def test_reader_never_modifies_input(sample_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(sample_dir, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    load_event(copy / "event000000001")
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_truncated_gzip_is_refused(tmp_path: Path) -> None:
    rows = "".join(f"{i},0,1.0,2.0,3.0,0.1,0.2,0.3,0.0\n" for i in range(5, 2000))
    prefix = write_event(tmp_path, parts={"truth": TRUTH + rows}, gz=True)
    assert len(load_event(prefix, ["truth"])[0]) == 1999
    path = Path(f"{prefix}-truth.csv.gz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    err = error_of(load_event, prefix, ["truth"])
    assert err.path == path and "cannot read file" in err.problem
