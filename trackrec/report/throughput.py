"""The TrackML throughput-phase score of each method's chain from hits to tracks.

The throughput phase of the TrackML challenge (Amrouche et al., "The Tracking Machine Learning
challenge: Throughput phase", Comput. Softw. Big Sci. 7 (2023) 1) scored a solution by its
accuracy ``A`` (the TrackML score, mean over events) and its time ``t`` (seconds per event)::

    S = sqrt(ln(1 + 600 / t) * (A - 0.5)^2)     (0 when A <= 0.5)

Here ``t`` is the sum over the chain's stages (``--chain METHOD=STAGE,STAGE,...``, a stage
being a benchmark folder below ``benchmarks/``, e.g. ``infer_gnn/interaction_network``) of
each stage's mean wall seconds per event in its Snakemake benchmark files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trackrec.errors import TrackrecError


def throughput_score(accuracy: float, seconds: float) -> float:
    """``sqrt(ln(1 + 600/t) (A - 0.5)^2)``, 0 for ``A <= 0.5``; NaN when either is unknown."""
    if not (math.isfinite(accuracy) and math.isfinite(seconds)) or seconds <= 0:
        return math.nan
    if accuracy <= 0.5:
        return 0.0
    return math.sqrt(math.log(1.0 + 600.0 / seconds) * (accuracy - 0.5) ** 2)


def parse_chain(text: str) -> tuple[str, list[str]]:
    """``METHOD=STAGE,STAGE`` -> ``(METHOD, [STAGE, ...])``; TrackrecError when malformed."""
    method, sep, stages = text.partition("=")
    names = [s for s in stages.split(",") if s]
    if not sep or not method or not names:
        raise TrackrecError(f"--chain {text!r}: expected METHOD=STAGE[,STAGE...]")
    return method, names


def benchmark_stage_path(path: str | Path) -> str:
    """The folders between ``benchmarks/`` and the file: ``infer_gnn/interaction_network``."""
    parts = Path(path).parts
    if "benchmarks" in parts[:-1]:
        return "/".join(parts[parts.index("benchmarks") + 1 : -1])
    return Path(path).parent.name


def chain_throughput(
    chains: Mapping[str, Sequence[str]],
    stage_seconds: Mapping[str, Sequence[float]],
    methods: Mapping[str, Mapping[str, Mapping[str, float]]],
) -> dict[str, dict[str, Any]]:
    """Per method: its chain's seconds per event, mean TrackML score and throughput score.

    ``stage_seconds``: wall seconds of each benchmarked job, by stage path; ``methods``: the
    ``methods`` part of ``summary.json``. A chain with a stage that has no benchmark gets a
    NaN time (and score), and the missing stages are listed.
    """
    out: dict[str, dict[str, Any]] = {}
    for method, stages in chains.items():
        per_stage = {
            s: (sum(stage_seconds[s]) / len(stage_seconds[s]) if stage_seconds.get(s) else math.nan)
            for s in stages
        }
        seconds = math.fsum(per_stage.values())
        accuracy = methods.get(method, {}).get("trackml_score", {}).get("mean", math.nan)
        out[method] = {
            "seconds_per_event": seconds,
            "trackml_score": accuracy,
            "throughput_score": throughput_score(accuracy, seconds),
            "stages": per_stage,
            "missing_stages": [s for s, v in per_stage.items() if not math.isfinite(v)],
        }
    return out


def throughput_section_json(throughput: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The report section (see :mod:`trackrec.report.sections`) of :func:`chain_throughput`."""
    rows = [
        [m, v["trackml_score"], v["seconds_per_event"], v["throughput_score"],
         " + ".join(f"{s} {t:.3g} s" for s, t in v["stages"].items())]
        for m, v in sorted(throughput.items())
    ]
    return {
        "title": "TrackML throughput score",
        "text": "The throughput-phase score of the TrackML challenge, sqrt(ln(1 + 600/t) * "
        "(A - 0.5)^2) (0 for A <= 0.5), with A the method's mean TrackML score and t its "
        "chain's mean wall seconds per event from the hits table to the tracks (the sum of "
        "each stage's mean in the Snakemake benchmarks of this run, on this run's machine; "
        "jobs running side by side slow each other).",
        "metrics": {f"{m} throughput score": v["throughput_score"] for m, v in
                    sorted(throughput.items())},
        "table": {"columns": ["method", "TrackML score A", "seconds per event t",
                              "throughput score", "chain"], "rows": rows},
        "order": 20,
    }
