"""Report plots (matplotlib's object API, no pyplot state): binned rates, events, stage costs.

Every binned plot draws 68.3% Wilson intervals, draws the open-ended bins (pT below the
first edge, above the last) as arrows to the axis edge instead of inventing an upper edge,
and keeps the legend below the axes, outside the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter

from trackrec import __version__
from trackrec.io.atomic import atomic_output

PT_AXIS = (0.1, 40.0)  # GeV, log scale: open bins are drawn to these edges
FIGSIZE = (6.4, 4.6)


def _save(fig: Figure, path: str | Path) -> None:
    # the PNG's Software text says which trackrec drew it (lost in the report merge)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": f"trackrec {__version__}"})


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    return fig, fig.subplots()


def _bin_geometry(rows: pd.DataFrame, var: str) -> tuple[np.ndarray, ...]:
    """Marker x, drawn left and right edges, and open-bin flags for each bin."""
    lo = rows["lo"].to_numpy(dtype=float)
    hi = rows["hi"].to_numpy(dtype=float)
    if var != "pt":
        return 0.5 * (lo + hi), lo, hi, np.zeros(len(lo), bool), np.zeros(len(lo), bool)
    open_low = lo <= PT_AXIS[0]
    open_high = ~np.isfinite(hi) | (hi >= PT_AXIS[1])
    left = np.where(open_low, PT_AXIS[0], lo)
    right = np.where(open_high, PT_AXIS[1], hi)
    return np.sqrt(left * right), left, right, open_low, open_high


def _draw_series(
    ax: object,
    rows: pd.DataFrame,
    var: str,
    value: str,
    *,
    color: str,
    marker: str,
    filled: bool,
    label: str,
) -> None:
    rows = rows[np.isfinite(rows[value].to_numpy(dtype=float))]
    if rows.empty:
        return
    x, left, right, open_low, open_high = _bin_geometry(rows, var)
    y = rows[value].to_numpy(dtype=float)
    # Wilson bounds can sit a rounding error inside a fraction of exactly 0 or 1
    yerr = np.clip(np.vstack([y - rows[f"{value}_lo"], rows[f"{value}_hi"] - y]), 0, None)
    ax.errorbar(
        x,
        y,
        xerr=np.vstack([x - left, right - x]),
        yerr=yerr,
        fmt=marker,
        color=color,
        mfc=color if filled else "white",
        ms=5,
        lw=1.2,
        capsize=0,
        label=label,
    )
    # Open bins: an arrowhead at the axis edge says "and beyond".
    for edge, flags, head in ((left, open_low, "<"), (right, open_high, ">")):
        if flags.any():
            ax.plot(edge[flags], y[flags], head, color=color, ms=6, clip_on=False)


def _pt_axis(ax: object, edges: Sequence[float]) -> None:
    """Log pT axis with a tick at every bin edge, labelled where labels do not collide."""
    ax.set_xscale("log")
    ax.set_xlim(*PT_AXIS)
    inner = [e for e in edges if PT_AXIS[0] < e < PT_AXIS[1]]
    labelled, last = [], 0.0
    for edge in inner:
        if not labelled or edge / last >= 1.45:
            labelled.append(edge)
            last = edge
    ax.xaxis.set_major_locator(FixedLocator(labelled))
    ax.xaxis.set_minor_locator(FixedLocator([e for e in inner if e not in labelled]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(labelled, [f"{e:g}" for e in labelled])


def _x_label(var: str, max_abs_eta: float | None, eta_min_pt: float) -> str:
    if var == "pt":
        eta = f"$|\\eta| < {max_abs_eta:g}$" if max_abs_eta is not None else "$|\\eta|$ cut"
        return f"particle $p_T$ [GeV], log scale (reconstructable, {eta})"
    return f"particle $\\eta$ (reconstructable, $p_T \\geq {eta_min_pt:g}$ GeV)"


def _finish(fig: Figure, ax: object, empty: bool, message: str) -> None:
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    if empty:
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    else:
        fig.legend(loc="outside lower center", ncols=1, fontsize=9, frameon=False)


def _curve_axes(
    curves: pd.DataFrame, var: str, max_abs_eta: float | None, eta_min_pt: float
) -> tuple[Figure, object, pd.DataFrame]:
    fig, ax = _figure()
    selected = curves[curves["var"] == var]
    if var == "pt":
        edges = sorted(set(selected["lo"]).union(selected["hi"]))
        _pt_axis(ax, [e for e in edges if math.isfinite(e)])
    ax.set_xlabel(_x_label(var, max_abs_eta, eta_min_pt))
    return fig, ax, selected


def plot_efficiency(
    curves: pd.DataFrame,
    var: str,
    path: str | Path,
    *,
    max_abs_eta: float | None = None,
    eta_min_pt: float = 0.9,
) -> None:
    """Double-majority (filled) and perfect-match (open) efficiency per method vs ``var``."""
    fig, ax, selected = _curve_axes(curves, var, max_abs_eta, eta_min_pt)
    for i, (method, rows) in enumerate(selected.groupby("method", sort=True)):
        for value, marker, filled, name in (
            ("eff_dm", "o", True, "double-majority efficiency"),
            ("eff_perfect", "s", False, "perfect-match efficiency"),
        ):
            _draw_series(
                ax,
                rows,
                var,
                value,
                color=f"C{i}",
                marker=marker,
                filled=filled,
                label=f"{method}: {name}",
            )
    ax.set_ylabel("tracking efficiency (68% Wilson intervals)")
    _finish(fig, ax, not len(selected), "no particles with truth")
    _save(fig, path)


def plot_rates(
    curves: pd.DataFrame,
    var: str,
    path: str | Path,
    *,
    max_abs_eta: float | None = None,
    eta_min_pt: float = 0.9,
) -> None:
    """Fake rate (filled) and duplicate rate (open) per method vs the majority particle's
    ``var``."""
    fig, ax, selected = _curve_axes(curves, var, max_abs_eta, eta_min_pt)
    drawn = False
    for i, (method, rows) in enumerate(selected.groupby("method", sort=True)):
        for value, marker, filled, name in (
            ("fake_rate", "o", True, "fake rate"),
            ("duplicate_rate", "D", False, "duplicate rate"),
        ):
            drawn |= bool(np.isfinite(rows[value].to_numpy(dtype=float)).any())
            _draw_series(
                ax,
                rows,
                var,
                value,
                color=f"C{i}",
                marker=marker,
                filled=filled,
                label=f"{method}: {name}",
            )
    ax.set_xlabel(ax.get_xlabel().replace("particle", "majority particle's", 1))
    ax.set_ylabel("fraction of tracks (68% Wilson intervals)")
    _finish(fig, ax, not drawn, "no tracks of reconstructable particles")
    _save(fig, path)


def plot_events(
    per_event: Mapping[str, Mapping[str, Mapping[str, float]]],
    efficiency_key: str | None,
    path: str | Path,
) -> None:
    """Per test event: TrackML score (filled) and DM efficiency (open) vs the event's hits."""
    fig, ax = _figure()
    drawn = False
    for i, (method, events) in enumerate(sorted(per_event.items())):
        hits = np.array([v.get("n_hits", math.nan) for v in events.values()], float)
        for key, marker, filled, name in (
            ("trackml_score", "o", True, "TrackML score"),
            (efficiency_key, "s", False, "double-majority efficiency"),
        ):
            if key is None:
                continue
            y = np.array([v.get(key, math.nan) for v in events.values()], float)
            ok = np.isfinite(hits) & np.isfinite(y)
            if not ok.any():
                continue
            drawn = True
            ax.plot(
                hits[ok],
                y[ok],
                marker,
                color=f"C{i}",
                mfc=f"C{i}" if filled else "white",
                ms=6,
                alpha=0.85,
                linestyle="none",
                label=f"{method}: {name}",
            )
    ax.set_xlabel("hits in the event")
    ax.set_ylabel("per-event value")
    ax.ticklabel_format(axis="x", style="plain")
    _finish(fig, ax, not drawn, "no scored events")
    _save(fig, path)


def plot_stage_costs(
    jobs: Mapping[str, Sequence[Mapping[str, object]]],
    hits_of_event: Mapping[str, float],
    path: str | Path,
) -> None:
    """Wall time of every per-event job vs the event's hits, one series per rule.

    ``jobs`` maps a rule to its jobs (``{"event", "s"}``); events with an unknown size
    (training events have no metrics) are left out.
    """
    fig, ax = _figure()
    drawn = False
    markers = "os^Dv<>ph"
    for i, (stage, runs) in enumerate(sorted(jobs.items())):
        x = np.array([hits_of_event.get(str(r.get("event")), math.nan) for r in runs], float)
        y = np.array([float(r["s"]) for r in runs], float)  # type: ignore[arg-type]
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            continue
        drawn = True
        ax.plot(
            x[ok],
            y[ok],
            markers[i % len(markers)],
            color=f"C{i % 10}",
            ms=6,
            alpha=0.85,
            linestyle="none",
            label=stage,
        )
    ax.set_xlabel("hits in the event")
    ax.set_ylabel("wall time of the job [s]")
    ax.set_ylim(bottom=0)
    ax.ticklabel_format(axis="x", style="plain")
    ax.grid(alpha=0.3)
    if drawn:
        fig.legend(loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    else:
        ax.text(0.5, 0.5, "no benchmarks of scored events", ha="center", transform=ax.transAxes)
    _save(fig, path)
