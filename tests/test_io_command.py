"""``trackrec ingest`` end to end: outputs, test events, one-line errors, no partial output."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from test_io_ingest import DETECTORS
from test_io_trackml import CELLS, EVENT, HITS, TRUTH, write_event

from trackrec.cli import main
from trackrec.io import build_hits_table, build_particles_table, load_event, read_table
from trackrec.io.schema import HITS as HITS_SCHEMA
from trackrec.io.schema import PARTICLES as PARTICLES_SCHEMA


def ingest(prefix: Path | str, out: Path, *extra: str) -> int:
    return main(["ingest", str(prefix), "--hits", str(out / "hits.parquet"),
                 "--particles", str(out / "particles.parquet"), *extra])


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ingest", "--help"])
    assert exc.value.code == 0
    assert "--detectors" in capsys.readouterr().out


def test_training_event_with_detectors(tmp_path: Path) -> None:
    prefix = write_event(tmp_path / "in")
    (tmp_path / "in" / "detectors.csv").write_text(DETECTORS)
    out = tmp_path / "out"
    assert ingest(prefix, out, "--detectors", str(tmp_path / "in" / "detectors.csv")) == 0
    hits = read_table(out / "hits.parquet", "hits")
    particles = read_table(out / "particles.parquet", "particles")
    assert list(hits.columns) == HITS_SCHEMA.names
    frames = load_event(prefix)
    pd.testing.assert_frame_equal(particles, build_particles_table(*frames[2:], frames[0]))
    assert hits["particle_id"].tolist()[:2] == [4503599644147712, 0]
    assert sorted(p.name for p in out.iterdir()) == ["hits.parquet", "particles.parquet"]


def test_training_event_from_zip_without_detectors(tmp_path: Path) -> None:
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part, text in EVENT.items():
            z.writestr(f"train/event000000010-{part}.csv", text)
    assert ingest(archive / "train" / "event000000010", tmp_path) == 0
    hits = read_table(tmp_path / "hits.parquet", "hits")
    assert "rot_xu" not in hits.columns and "n_cells" in hits.columns
    pd.testing.assert_frame_equal(hits, build_hits_table(*load_event(
        archive / "train" / "event000000010", ["hits", "cells", "truth", "particles"])))


def test_test_event_writes_empty_particles(tmp_path: Path) -> None:
    prefix = write_event(tmp_path / "in", parts={"hits": HITS, "cells": CELLS})
    assert ingest(prefix, tmp_path) == 0
    hits = read_table(tmp_path / "hits.parquet", "hits")
    particles = read_table(tmp_path / "particles.parquet", "particles")
    assert len(hits) == 4 and "particle_id" not in hits.columns and "n_cells" in hits.columns
    assert len(particles) == 0 and list(particles.columns) == PARTICLES_SCHEMA.required_names


def test_event_without_cells_drops_cell_features(tmp_path: Path) -> None:
    prefix = write_event(tmp_path / "in", parts={"hits": HITS})
    assert ingest(prefix, tmp_path) == 0
    assert "n_cells" not in read_table(tmp_path / "hits.parquet", "hits").columns


BAD_EVENTS = {
    "missing hits": ({"cells": CELLS}, "hits.csv[.gz]", "no such file"),
    "missing column": ({**EVENT, "hits": HITS.replace("x,y", "xx,y")}, "hits.csv",
                       "missing column 'x'"),
    "malformed": ({**EVENT, "cells": CELLS.replace("0.25", "0.2.5")}, "cells.csv",
                  "column 'value' at line 3"),
    "nan coordinate": ({**EVENT, "hits": HITS.replace("60.0", "nan")}, "hits.csv", "NaN"),
    "duplicate hit": ({**EVENT, "hits": HITS.replace("\n2,", "\n1,")}, "hits.csv", "duplicate"),
    "truth mismatch": ({**EVENT, "truth": TRUTH.replace("\n3,", "\n33,")}, "truth.csv",
                       "does not match the hits"),
    "empty event": ({**EVENT, "hits": HITS.splitlines()[0] + "\n"}, "hits.csv", "empty event"),
    "truth without particles": ({"hits": HITS, "cells": CELLS, "truth": TRUTH},
                                "particles.csv[.gz]", "no such file"),
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
def test_bad_input_one_line_exit_2_no_output(tmp_path: Path, case: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    parts, file_suffix, problem = BAD_EVENTS[case]
    prefix = write_event(tmp_path / "in", parts=parts)
    out = tmp_path / "out"
    assert ingest(prefix, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"trackrec ingest: error: {prefix}-{file_suffix}: ")
    assert problem in err
    assert not out.exists() or list(out.iterdir()) == []


def test_detector_missing_a_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = write_event(tmp_path / "in")
    detectors = tmp_path / "in" / "detectors.csv"
    detectors.write_text("\n".join(DETECTORS.splitlines()[:3]) + "\n")
    out = tmp_path / "out"
    assert ingest(prefix, out, "--detectors", str(detectors)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"trackrec ingest: error: {detectors}: 2 module(s)")
    assert not out.exists() or list(out.iterdir()) == []


def test_failed_ingest_keeps_previous_outputs(tmp_path: Path) -> None:
    prefix = write_event(tmp_path / "in")
    assert ingest(prefix, tmp_path) == 0
    before = (tmp_path / "hits.parquet").read_bytes()
    Path(f"{prefix}-truth.csv").write_text(TRUTH.replace("\n3,", "\n33,"))
    assert ingest(prefix, tmp_path) == 2
    assert (tmp_path / "hits.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hits.parquet", "in",
                                                           "particles.parquet"]


def test_same_output_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = write_event(tmp_path / "in")
    out = str(tmp_path / "x.parquet")
    assert main(["ingest", str(prefix), "--hits", out, "--particles", out]) == 2
    assert "same file" in capsys.readouterr().err


def test_real_sample_ingest(sample_prefix: Path, detectors_path: Path, tmp_path: Path) -> None:
    assert ingest(sample_prefix, tmp_path, "--detectors", str(detectors_path)) == 0
    hits = read_table(tmp_path / "hits.parquet", "hits")
    particles = read_table(tmp_path / "particles.parquet", "particles")
    (truth,) = load_event(sample_prefix, ["truth"])
    assert len(hits) == 5527 and len(particles) == 548
    assert set(truth["particle_id"]) <= set(hits["particle_id"]) | {0}
    assert hits["noise"].sum() == (truth["particle_id"] == 0).sum()
    assert particles["reconstructable"].any()
    assert (particles.loc[particles["reconstructable"], "n_layers"] >= 3).all()
