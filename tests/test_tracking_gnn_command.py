"""``build-tracks-edges``, ``scan-oc-dbscan`` and ``build-tracks-oc`` as file-to-file stages on
the real sample, with scores made from its truth (so the expected tracks are the particles)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trackrec.cli import main
from trackrec.io.parquet import read_table, write_table


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, sample_prefix: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ingested")
    files = {"hits": folder / "hits.parquet", "particles": folder / "particles.parquet"}
    argv = ["ingest", str(sample_prefix), "--hits", str(files["hits"]),
            "--particles", str(files["particles"])]
    assert main(argv) == 0
    hits = read_table(files["hits"], "hits", columns=["hit_id", "r", "particle_id"])
    rng = np.random.default_rng(0)
    # edge scores: consecutive hits (in r) of each particle score 0.9, random fakes 0.3
    src, dst = [], []
    for _, rows in hits[hits["particle_id"] != 0].groupby("particle_id").groups.items():
        ordered = np.asarray(rows)[np.argsort(hits["r"].to_numpy()[rows], kind="stable")]
        src += list(ordered[:-1])
        dst += list(ordered[1:])
    n_true = len(src)
    a, b = rng.integers(0, len(hits), (2, 5000))
    a, b = a[a != b], b[a != b]
    inner = hits["r"].to_numpy()[a] <= hits["r"].to_numpy()[b]
    src += list(np.where(inner, a, b))
    dst += list(np.where(inner, b, a))
    score = np.r_[np.full(n_true, 0.9), np.full(len(src) - n_true, 0.3)]
    files["edges"] = folder / "edges.parquet"
    write_table(pd.DataFrame({"src": src, "dst": dst, "score": score}), files["edges"],
                "edge_scores")
    # condensation: each particle at its own point (1 apart at least), noise with low beta
    particles = hits["particle_id"].to_numpy()
    _, index = np.unique(particles, return_inverse=True)
    centres = rng.permutation(len(np.unique(particles)))[index].astype(float)
    coords = np.column_stack([centres * 2.0, np.zeros(len(hits))])
    coords += rng.normal(0, 0.01, coords.shape)
    beta = np.where(particles == 0, 0.01, 0.8)
    files["condensation"] = folder / "condensation.parquet"
    write_table(pd.DataFrame({"hit_id": hits["hit_id"], "beta": beta, "c0": coords[:, 0],
                              "c1": coords[:, 1]}), files["condensation"], "hit_condensation")
    return files


def _partition(hit_id: np.ndarray, labels: np.ndarray) -> set[frozenset[int]]:
    frame = pd.DataFrame({"hit_id": hit_id, "label": labels})
    groups = frame.groupby("label")["hit_id"].apply(frozenset)
    return {g for g in groups if len(g) > 1}


def _truth_partition(hits_path: Path) -> set[frozenset[int]]:
    hits = read_table(hits_path, "hits", columns=["hit_id", "particle_id"])
    real = hits[hits["particle_id"] != 0]
    return _partition(real["hit_id"].to_numpy(), real["particle_id"].to_numpy())


@pytest.mark.parametrize("builder", ["walkthrough", "components"])
def test_edge_builders_find_the_particles(sample: dict[str, Path], tmp_path: Path,
                                          builder: str) -> None:
    out = tmp_path / "tracks.parquet"
    assert main(["build-tracks-edges", "--hits", str(sample["hits"]), "--scores",
                 str(sample["edges"]), "--builder", builder, "--out", str(out)]) == 0
    tracks = read_table(out, "tracks")
    hits = read_table(sample["hits"], "hits", columns=["hit_id"])
    assert list(tracks["hit_id"]) == list(hits["hit_id"])
    got = _partition(tracks["hit_id"].to_numpy(), tracks["track_id"].to_numpy())
    assert got == _truth_partition(sample["hits"])
    if builder == "components":  # with the cut below the fakes, particles merge
        low = tmp_path / "low.parquet"
        assert main(["build-tracks-edges", "--hits", str(sample["hits"]), "--scores",
                     str(sample["edges"]), "--builder", builder, "--score-cut", "0.2",
                     "--out", str(low)]) == 0
        merged = read_table(low, "tracks")["track_id"].value_counts().max()
        assert merged > max(len(g) for g in got)


def test_scan_then_build_oc_tracks(sample: dict[str, Path], tmp_path: Path) -> None:
    scan, section = tmp_path / "scan.json", tmp_path / "section.json"
    argv = ["scan-oc-dbscan", "--scores", str(sample["condensation"]), "--hits",
            str(sample["hits"]), "--particles", str(sample["particles"]),
            "--eps-grid", "0.001", "0.1", "5", "--min-samples-grid", "1", "2", "--beta-min", "0.05",
            "--out", str(scan), "--section", str(section)]
    assert main(argv) == 0
    result = json.loads(scan.read_text())
    assert result["best"]["eps"] == 0.1 and result["best"]["min_samples"] == 1
    assert result["best"]["score"] == 1.0
    assert [p["eps"] for p in result["grid"]] == [0.001, 0.001, 0.1, 0.1, 5.0, 5.0]
    assert result["grid"][-1]["score"] < 0.1  # everything one cluster
    shown = json.loads(section.read_text())
    assert len(shown["table"]["rows"]) == 6 and shown["metrics"]["chosen eps"] == 0.1

    out = tmp_path / "tracks.parquet"
    assert main(["build-tracks-oc", "--scores", str(sample["condensation"]), "--scan",
                 str(scan), "--out", str(out)]) == 0
    tracks = read_table(out, "tracks")
    assert _partition(tracks["hit_id"].to_numpy(), tracks["track_id"].to_numpy()) == (
        _truth_partition(sample["hits"]))


def test_bad_inputs_are_one_line_and_write_nothing(
    sample: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_scan = tmp_path / "scan.json"
    bad_scan.write_text('{"grid": []}')
    edges = read_table(sample["edges"], "edge_scores")
    edges.loc[0, "dst"] = 10**9
    bad_edges = tmp_path / "edges.parquet"
    write_table(edges, bad_edges, "edge_scores")
    out = tmp_path / "tracks.parquet"
    for argv, named in (
        (["build-tracks-oc", "--scores", str(sample["condensation"]), "--scan", str(bad_scan)],
         f"{bad_scan}: not a scan-oc-dbscan result"),
        (["build-tracks-edges", "--hits", str(sample["hits"]), "--scores", str(bad_edges)],
         f"{bad_edges}: edge endpoints outside"),
        (["build-tracks-edges", "--hits", str(sample["hits"]), "--scores", str(sample["edges"]),
          "--score-cut", "2"], "argument --score-cut: must be <= 1"),
    ):
        assert _exit_code([*argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and named in err, err
        assert not out.exists()


def _exit_code(argv: list[str]) -> int:
    """``main``'s status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as err:
        return int(err.code)
