"""The report opened as a user would: headless Chromium at 1400, 1280 and 700 px.

The page is a copy of ``report.html`` with a probe script first in ``<head>``: it records
console errors, uncaught exceptions and failed resource loads, and after the load event writes
what it measured (images loaded, page and table widths) into the DOM, which
``chromium --dump-dom`` prints. Skipped without Chromium, except where
``TRACKREC_REQUIRE_CHROMIUM=1`` (CI) makes a missing browser a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_metrics_tracking import sample_tables

from trackrec.cli import main
from trackrec.metrics.command import metrics_json
from trackrec.metrics.tracking import efficiency_counts, track_metrics

PROBE = """<script>
window.__probe = {errors: []};
console.error = function () {
  window.__probe.errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
};
window.addEventListener("error", function (event) {
  var target = event.target;
  var what = target && target !== window ? "failed to load " + (target.src || target.href || target.tagName)
                                          : "uncaught: " + event.message;
  window.__probe.errors.push(what);
}, true);
window.addEventListener("load", function () {
  var root = document.documentElement;
  var images = Array.prototype.slice.call(document.images);
  var wraps = Array.prototype.slice.call(document.querySelectorAll(".table-wrap"));
  var result = {
    errors: window.__probe.errors,
    viewport: window.innerWidth,
    page_width: Math.max(root.scrollWidth, document.body.scrollWidth),
    images: images.length,
    broken_images: images.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length,
    image_widths: images.map(function (i) { return i.getBoundingClientRect().width; }),
    tables: wraps.map(function (w) { return {scroll: w.scrollWidth, client: w.clientWidth}; }),
    viewport_meta: !!document.querySelector('meta[name="viewport"]'),
  };
  // sort the per-event table by TrackML score (column 6), twice: ascending, descending
  var table = document.querySelector("table.per-event");
  var scores = function () {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return parseFloat(r.cells[6].dataset.v);
    });
  };
  table.tHead.rows[0].cells[6].click();
  result.ascending = scores();
  table.tHead.rows[0].cells[6].click();
  result.descending = scores();
  var out = document.createElement("pre");
  out.id = "trackrec-probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    message = "headless Chromium is needed to check the report (Debian: apt-get install chromium)"
    if os.environ.get("TRACKREC_REQUIRE_CHROMIUM") == "1":
        pytest.fail(message + "; TRACKREC_REQUIRE_CHROMIUM=1")
    pytest.skip(message)


def imperfect_tracks(hits: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Truth tracks, spoiled: a fifth of the particles split in two, a tenth merged in pairs,
    and a few noise hits added to tracks, so every rate of the report is non-trivial."""
    rng = np.random.default_rng(seed)
    real = hits[hits["particle_id"] != 0]
    track = pd.factorize(real["particle_id"])[0].astype(np.int64) * 2
    particles = np.unique(track)
    split = np.isin(track, rng.choice(particles, len(particles) // 5, replace=False))
    track = np.where(split & (rng.random(len(track)) < 0.5), track + 1, track)
    merged = np.isin(track, rng.choice(particles, len(particles) // 10, replace=False))
    track = np.where(merged, track - (track % 4), track)
    noise = hits[hits["particle_id"] == 0].sample(frac=0.2, random_state=seed)
    noise_track = rng.choice(track, len(noise))
    return pd.DataFrame(
        {
            "hit_id": np.concatenate([real["hit_id"], noise["hit_id"]]),
            "track_id": np.concatenate([track, noise_track]),
        }
    )


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory, sample_prefix: Path) -> Path:
    """A run folder built from the real sample (two methods, three events, one missing),
    with a plan file, benchmarks and a stage section with an image; its report page."""
    from matplotlib.figure import Figure

    run = tmp_path_factory.mktemp("browser") / "realistic run"
    hits, particles = sample_tables(sample_prefix)
    events = ["event000000001", "event000000002", "event000000003"]
    for method, seeds in (("spoiled_truth", (1, 2)), ("other_method", (3, 4, 5))):
        for event, seed in zip(events, seeds):
            tracks = imperfect_tracks(hits, seed)
            values = track_metrics(
                hits, particles, tracks, pt_thresholds=(0.0, 0.5, 1.0, 2.0), max_abs_eta=3.5
            )
            values.update(efficiency_counts(hits, particles, tracks, max_abs_eta=3.5))
            path = run / "metrics" / method / f"{event}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(metrics_json(values))
    for stage, seconds in (("ingest", 1.5), ("track_dbscan_baseline", 20.0)):
        for event in events:
            path = run / "benchmarks" / stage / f"{event}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"s\tmax_rss\n{seconds}\t250.5\n")
    data = {"source": "simulate", "simulate": {"pileup": 200, "seed": 1, "n_events": 3}}
    metrics = {"pt_thresholds": [0.0, 0.5, 1.0, 2.0], "max_abs_eta": 3.5, "min_track_hits": 3}
    plan = {
        "trackrec_version": "0.1.0",
        "run": run.name,
        "splits": {"train": [], "val": [], "test": events},
        "source_of": dict.fromkeys(events, "simulate"),
        "scored_test_events": events,
        "methods": ["other_method", "spoiled_truth"],
        "config": {"data": data, "metrics": metrics},
    }
    (run / "plan.json").write_text(json.dumps(plan))
    fig = Figure(figsize=(5, 3))
    fig.subplots().plot([1, 2, 3], [0.9, 0.95, 0.97])
    fig.savefig(run / "edge_efficiency.png")
    section = {
        "title": "Graph construction",
        "text": "Edges kept per event and their purity.",
        "metrics": {"edge efficiency": 0.973, "edges per hit": {"mean": 6.1, "std": 0.4, "n": 3}},
        "table": {"columns": ["event", "edges"], "rows": [[e, 612345] for e in events]},
        "images": ["edge_efficiency.png"],
    }
    (run / "graph_section.json").write_text(json.dumps(section))
    argv = ["report", "--results-dir", str(run), "--section", str(run / "graph_section.json")]
    assert main(argv) == 0
    return run / "report" / "report.html"


def open_in_chromium(page: Path, width: int, tmp_path: Path) -> dict:
    """Load ``page`` (with the probe) at ``width`` px; what the probe measured."""
    chromium = find_chromium()
    probed = page.with_name(f"probed-{width}.html")
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE, 1))
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            f"--window-size={width},1000",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r'<pre id="trackrec-probe">(.*?)</pre>', result.stdout, re.S)
    assert found, f"no probe output from Chromium (rc {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("width", [1400, 1280, 700])
def test_report_reads_well_in_a_browser(report_page: Path, width: int, tmp_path: Path) -> None:
    probe = open_in_chromium(report_page, width, tmp_path)
    assert probe["viewport"] == width
    assert probe["errors"] == []
    assert probe["viewport_meta"]
    # five tracking plots, the stage plot and the stage section's image, all decoded
    assert probe["images"] == 7 and probe["broken_images"] == 0
    # the page never scrolls sideways; wide tables scroll inside their own box
    assert probe["page_width"] <= width
    # clicking a header sorts the per-event table by that column, then the other way round
    assert len(probe["ascending"]) == 5
    assert probe["ascending"] == sorted(probe["ascending"])
    assert probe["descending"] == sorted(probe["ascending"], reverse=True)
    headline = probe["tables"][0]
    assert headline["scroll"] <= headline["client"], "the headline table is cut off"
    # plots are two per row on a wide window and one per row on a narrow one
    plots = probe["image_widths"][:5]
    if width >= 1280:
        assert all(0.3 * width < w < 0.5 * width for w in plots), plots
    else:
        assert all(w > 0.85 * width for w in plots), plots


def test_report_page_content(report_page: Path) -> None:
    page = report_page.read_text()
    summary = json.loads((report_page.parent / "summary.json").read_text())
    # the plan's config drives the cuts: headline at 1 GeV (nearest 0.9), |eta| < 3.5
    assert summary["settings"]["headline_pt"] == 1.0
    assert "fake rate, p<sub>T</sub> ≥ 1 GeV" in page and "|η| &lt; 3.5" in page
    assert "efficiency, p<sub>T</sub> ≥ 0.9" not in page
    for t in ("0", "0.5", "1", "2"):
        assert f"p<sub>T</sub> ≥ {t} GeV</td>" in page
    # the event missing from spoiled_truth is a failed event; the section is rendered
    assert summary["failed_events"] == [
        {"method": "spoiled_truth", "event": "event000000003", "reason": "no metrics file"}
    ]
    assert "<h2>Graph construction</h2>" in page and "612,345" in page
    assert summary["sections"][0]["metrics"]["edge efficiency"] == 0.973
    assert '<a href="summary.json">' in page and '<a href="summary.csv">' in page
    assert "Data: simulated, pileup 200, seed 1, 3 events" in page
    assert 'class="sortable"' in page
