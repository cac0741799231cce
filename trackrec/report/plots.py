"""Report plots (matplotlib's object API, no pyplot state): efficiency curves, stage costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trackrec import __version__
from trackrec.io.atomic import atomic_output


def _save(fig: Figure, path: str | Path) -> None:
    # the PNG's Software text says which trackrec drew it
    with atomic_output(path) as tmp:
        fig.savefig(
            tmp, format="png", dpi=110, bbox_inches="tight",
            metadata={"Software": f"trackrec {__version__}"},
        )


def plot_efficiency(curves: pd.DataFrame, var: str, path: str | Path) -> None:
    """Double-majority (solid) and perfect-match (dashed) efficiency per method vs ``var``."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    selected = curves[curves["var"] == var]
    for i, (method, rows) in enumerate(selected.groupby("method", sort=True)):
        rows = rows[rows["n_particles"] > 0]
        hi = rows["hi"].replace(np.inf, rows["lo"].max() * 2 if len(rows) else 1.0)
        centre = 0.5 * (rows["lo"] + hi)
        half = 0.5 * (hi - rows["lo"])
        color = f"C{i}"
        ax.errorbar(
            centre,
            rows["eff_dm"],
            xerr=half,
            yerr=rows["err_dm"],
            fmt="o",
            color=color,
            label=f"{method}: double majority",
        )
        ax.errorbar(
            centre,
            rows["eff_perfect"],
            xerr=half,
            yerr=rows["err_perfect"],
            fmt="s",
            mfc="none",
            color=color,
            linestyle="none",
            label=f"{method}: perfect match",
        )
    if var == "pt":
        ax.set_xscale("log")
        ax.set_xlabel("particle $p_T$ [GeV] (reconstructable, $|\\eta|<4$)")
    else:
        ax.set_xlabel("particle $\\eta$ (reconstructable, $p_T > 0.9$ GeV)")
    ax.set_ylabel("tracking efficiency")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    if len(selected):
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no particles with truth", ha="center", transform=ax.transAxes)
    _save(fig, path)


def plot_stages(stages: dict[str, dict[str, float]], path: str | Path) -> None:
    """Wall time per event and peak memory of every per-event rule, side by side."""
    names = list(stages)
    seconds = [stages[n]["s_per_event"] for n in names]
    rss = [stages[n]["max_rss_mb"] for n in names]
    fig = Figure(figsize=(9, 0.5 * max(len(names), 2) + 1.2))
    ax_time, ax_mem = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(names))
    ax_time.barh(y, seconds, color="C0")
    ax_time.set_yticks(y, names)
    ax_time.set_xlabel("wall time per event [s]")
    ax_mem.barh(y, np.nan_to_num(rss), color="C1")
    ax_mem.set_xlabel("peak resident memory [MB]")
    for ax in (ax_time, ax_mem):
        ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plot_scores(per_event: dict[str, dict[str, float]], path: str | Path) -> None:
    """TrackML score of every test event, one column per method."""
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    methods = sorted(per_event)
    for i, method in enumerate(methods):
        scores = np.array([np.nan if v is None else v for v in per_event[method].values()], float)
        jitter = np.linspace(-0.15, 0.15, len(scores)) if len(scores) > 1 else np.zeros(len(scores))
        ax.plot(i + jitter, scores, "o", color=f"C{i}", alpha=0.7)
    ax.set_xticks(range(len(methods)), methods)
    ax.set_xlim(-0.5, max(len(methods), 1) - 0.5)
    ax.set_ylabel("TrackML score per event")
    ax.set_ylim(0, 1.02)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
