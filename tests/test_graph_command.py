"""graph-cuts -> build-graph -> evaluate-graph end to end, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trackrec.cli import main
from trackrec.graph.edges import distance_from_origin
from trackrec.io import build_hits_table, build_particles_table, read_table
from trackrec.io.parquet import write_table
from trackrec.metrics.edges import edge_metrics


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    from trackrec.simulate import build_detector, simulate_event

    folder = tmp_path_factory.mktemp("events")
    paths = []
    for i in range(3):
        tables = simulate_event(build_detector(), event_id=700 + i, pileup=10, seed=2)
        hits = build_hits_table(tables["hits"], truth=tables["truth"], particles=tables["particles"])
        particles = build_particles_table(tables["particles"], tables["truth"], tables["hits"])
        h, p = folder / f"event{700 + i:09d}-hits.parquet", folder / f"event{700 + i:09d}-p.parquet"
        write_table(hits, h, "hits")
        write_table(particles, p, "particles")
        paths.append((h, p))
    return paths


def test_cuts_graph_and_metrics(events, tmp_path: Path) -> None:
    cuts = tmp_path / "cuts.npz"
    assert main(["graph-cuts", "--hits", str(events[0][0]), str(events[1][0]),
                 "--particles", str(events[0][1]), str(events[1][1]),
                 "--out", str(cuts), "--data-source", "test"]) == 0
    provenance = json.loads(cuts.with_suffix(".json").read_text())
    assert provenance["kind"] == "graph_geometric_cuts"
    assert provenance["config"]["pt_min"] == 0.9 and provenance["training"]["data"]["source"] == "test"
    graph, metrics = tmp_path / "graph.parquet", tmp_path / "m.json"
    hits_path, particles_path = events[2]
    assert main(["build-graph", "--hits", str(hits_path), "--cuts", str(cuts),
                 "--out", str(graph)]) == 0
    assert main(["evaluate-graph", "--hits", str(hits_path), "--particles", str(particles_path),
                 "--graph", str(graph), "--out", str(metrics)]) == 0
    edges = read_table(graph, "graph")
    hits = read_table(hits_path, "hits")
    reach = distance_from_origin(hits)
    assert (reach[edges["src"]] <= reach[edges["dst"]]).all()
    pid = hits["particle_id"].to_numpy()
    assert np.array_equal(edges["is_true"], (pid[edges["src"]] == pid[edges["dst"]]) & (pid[edges["src"]] > 0))
    assert np.allclose(edges["dz"], hits["z"].to_numpy()[edges["dst"]] - hits["z"].to_numpy()[edges["src"]])
    values = json.loads(metrics.read_text())
    expect = edge_metrics(edges["src"].to_numpy(), edges["dst"].to_numpy(), np.ones(len(edges)),
                          hits, read_table(particles_path, "particles"))
    assert values["segment50_pt0.9"] == pytest.approx(expect["segment50"])
    assert values["edges_per_hit"] == pytest.approx(len(edges) / len(hits))
    assert {"edge_eff_pt0.9", "edge_purity_pt0.9", "n_edges_segment50_95_pt0.9"} <= set(values)


def test_errors_are_one_line_and_write_nothing(events, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cuts.npz"
    assert main(["graph-cuts", "--hits", str(events[0][0]), str(events[1][0]),
                 "--particles", str(events[0][1]), "--out", str(out)]) == 2
    assert "as many particles tables as hits tables" in capsys.readouterr().err
    assert not out.exists()
    assert main(["graph-cuts", "--hits", str(events[0][0]), "--particles", str(events[0][1]),
                 "--out", str(out), "--pt-min", "1.5"]) == 0
    graph = tmp_path / "g.parquet"
    capsys.readouterr()
    assert main(["build-graph", "--hits", str(events[2][0]), "--cuts", str(out),
                 "--pt-min", "0.9", "--out", str(graph)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trackrec build-graph: error: ") and "config.pt_min" in err
    assert not graph.exists()
    # a graph of another event is refused by evaluate-graph
    assert main(["build-graph", "--hits", str(events[2][0]), "--cuts", str(out),
                 "--out", str(graph)]) == 0
    metrics = tmp_path / "m.json"
    capsys.readouterr()
    assert main(["evaluate-graph", "--hits", str(events[0][0]), "--particles", str(events[0][1]),
                 "--graph", str(graph), "--out", str(metrics)]) == 2
    assert "does not belong to hits table" in capsys.readouterr().err
    assert not metrics.exists()


@pytest.mark.parametrize("flag, model", [("--cuts", "graph_cuts.npz"),
                                         ("--model", "graph_embedding.pt")])
def test_shipped_models_on_the_real_sample(flag, model, sample_prefix, detectors_path,
                                           tmp_path: Path) -> None:
    """The shipped constructions keep >= 95% segment50 (pT > 0.9) on the real sample event."""
    shipped = Path(__file__).resolve().parents[1] / "models" / model
    hits, particles = tmp_path / "hits.parquet", tmp_path / "particles.parquet"
    assert main(["ingest", str(sample_prefix), "--hits", str(hits), "--particles", str(particles),
                 "--detectors", str(detectors_path)]) == 0
    graph, metrics = tmp_path / "graph.parquet", tmp_path / "m.json"
    assert main(["build-graph", "--hits", str(hits), flag, str(shipped), "--pt-min", "0.9",
                 "--out", str(graph)]) == 0
    assert main(["evaluate-graph", "--hits", str(hits), "--particles", str(particles),
                 "--graph", str(graph), "--out", str(metrics)]) == 0
    values = json.loads(metrics.read_text())
    assert values["segment50_pt0.9"] >= 0.95
    assert values["edges_per_hit"] < 10
