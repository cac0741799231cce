"""Report sections contributed by workflow stages (noise filter, graph building, GNN, fits...).

A stage adds a section to ``report.html`` without touching the report code: it writes a
**section file**, JSON of this form (every key but ``title`` optional)::

    {
      "title": "Graph construction",
      "text": "One paragraph, plain text: what the stage did and how to read the numbers.",
      "metrics": {"edge efficiency": 0.973,
                  "edges per hit": {"mean": 6.1, "std": 0.4, "n": 2}},
      "table": {"columns": ["event", "edges", "purity"],
                "rows": [["event000001001", 612345, 0.041]]},
      "images": ["graph_purity_vs_pt.png"],
      "order": 30,
      "summary": {"graph": {"n_events": 2}}
    }

``metrics`` values are numbers (or null), or ``{"mean", "std", "n"}`` summaries as in
``summary.json``; ``table`` cells are strings, numbers or null; ``images`` are PNG files,
relative to the section file's folder (or absolute), embedded into the page; ``order``
(default 50) sorts the sections (the tracking-performance part of the report comes first);
``summary`` holds top-level entries the stage adds to ``summary.json`` as they are (e.g. the
GNN stage's ``models``), refused when a key is the report's own or another section's.
Numbers are formatted like the rest of the report.

In the workflow, the stage's rule (or an aggregation rule of its own) writes the file, and
``get_report_sections`` in ``rules/common.smk`` lists it: the report rule passes each to
``trackrec report --section FILE``. From Python, build :class:`ReportSection` objects
directly and pass them to :func:`trackrec.report.build.build_summary` (their numbers) and
:func:`trackrec.report.build.write_report` (the page). The sections are also
copied into ``summary.json`` under ``sections`` (title, text, metrics, table; not images),
and a section's ``summary`` entries become top-level keys of ``summary.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackrec.errors import InputError

Cell = str | float | None


@dataclass(frozen=True)
class ReportSection:
    """One stage's section of the report (see the module docstring for the file form)."""

    title: str
    text: str = ""
    metrics: Mapping[str, float | Mapping[str, float]] = field(default_factory=dict)
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[Cell]] = ()
    images: Sequence[Path] = ()
    order: float = 50.0
    summary: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The section as it goes into ``summary.json`` (images left out)."""
        return {
            "title": self.title,
            "text": self.text,
            "metrics": dict(self.metrics),
            "table": {"columns": list(self.columns), "rows": [list(r) for r in self.rows]},
        }


def _number(value: object, where: str, path: Path) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(path, f"{where}: expected a number or null, got {value!r}")
    return float(value)


def _metric(value: object, where: str, path: Path) -> float | dict[str, float]:
    if isinstance(value, dict):
        missing = {"mean", "std", "n"} - set(value)
        if missing:
            raise InputError(path, f"{where}: a summary needs mean, std and n")
        return {k: _number(value[k], f"{where}.{k}", path) for k in ("mean", "std", "n")}
    return _number(value, where, path)


def _cell(value: object, where: str, path: Path) -> Cell:
    return value if isinstance(value, str) else _number(value, where, path)


def load_section_file(path: str | Path) -> ReportSection:
    """Read and check a section file; any problem is an :class:`InputError` naming it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("title"), str) or not raw["title"]:
        raise InputError(path, "a report section needs a non-empty string title")
    unknown = sorted(set(raw) - {"title", "text", "metrics", "table", "images", "order", "summary"})
    if unknown:
        raise InputError(path, f"unknown section keys: {', '.join(unknown)}")
    text = raw.get("text", "")
    if not isinstance(text, str):
        raise InputError(path, "text must be a string")
    metrics_raw = raw.get("metrics", {})
    if not isinstance(metrics_raw, dict):
        raise InputError(path, "metrics must be an object of numbers")
    metrics = {str(k): _metric(v, f"metrics.{k}", path) for k, v in metrics_raw.items()}
    table = raw.get("table", {"columns": [], "rows": []})
    columns, rows = table.get("columns", []), table.get("rows", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InputError(path, "table.columns must be a list of strings")
    if not isinstance(rows, list) or any(
        not isinstance(r, list) or len(r) != len(columns) for r in rows
    ):
        raise InputError(path, f"table.rows must be lists of {len(columns)} cells (one a column)")
    cells = [[_cell(v, f"table.rows[{i}]", path) for v in r] for i, r in enumerate(rows)]
    images = raw.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise InputError(path, "images must be a list of file names")
    image_paths = [path.parent / i if not Path(i).is_absolute() else Path(i) for i in images]
    for image in image_paths:
        if not image.is_file():
            raise InputError(path, f"image {image} does not exist")
    summary = raw.get("summary", {})
    if not isinstance(summary, dict):
        raise InputError(path, "summary must be an object of summary.json entries")
    return ReportSection(
        title=raw["title"],
        text=text,
        metrics=metrics,
        columns=columns,
        rows=cells,
        images=image_paths,
        order=_number(raw.get("order", 50), "order", path),
        summary=summary,
    )
