"""Fit summary: resolutions, pulls and charge misidentification from ``fitted`` tables.

For every method, over the tracks whose fit succeeded and that have a matched particle:

- the relative pT resolution ``(pT_fit - pT_true) / pT_true`` and the q/pT resolution
  ``q/pT_fit - q/pT_true`` (1/GeV) in bins of the true pT (all |eta| < 4) and of the true eta
  (pT above ``eta_min_pt``), each bin's width by the iteratively 3-RMS-pruned RMS and by the
  68.27 % quantile half-width (:mod:`trackrec.metrics.resolution`);
- the charge misidentification rate (fitted sign of q/pT differs from the particle's);
- the pulls ``(fit - true) / sigma`` of the five parameters (pruned mean and RMS).

:func:`fit_summary` returns a JSON-ready dict; :func:`plot_resolution` draws one figure per
binning variable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from trackrec.kalman.fit import PARAMETERS
from trackrec.metrics.resolution import binned_resolution, pruned_rms, quantile_width

PT_EDGES = (0.2, 0.5, 0.7, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0)
ETA_EDGES = tuple(np.round(np.arange(-4.0, 4.0 + 0.25, 0.5), 6).tolist())
ETA_MIN_PT = 0.9
QUANTITIES = {"rel_pt": "relative pT resolution", "qopt": "q/pT resolution (1/GeV)"}


def residual_frame(fitted: pd.DataFrame) -> pd.DataFrame:
    """Matched, successfully fitted tracks with their residuals and pulls."""
    needed = ["true_qopt", "qopt"]
    if any(c not in fitted.columns for c in needed):
        return pd.DataFrame(columns=["true_pt", "true_eta", "rel_pt", "qopt", "charge_ok"])
    ok = fitted["particle_id"].to_numpy() != 0
    ok &= np.isfinite(fitted[["qopt", "true_qopt"]].to_numpy()).all(axis=1)
    f = fitted.loc[ok]
    pt_fit = 1.0 / np.abs(f["qopt"].to_numpy())
    pt_true = f["true_pt"].to_numpy()
    out = pd.DataFrame({
        "true_pt": pt_true, "true_eta": f["true_eta"].to_numpy(),
        "rel_pt": (pt_fit - pt_true) / pt_true,
        "qopt": f["qopt"].to_numpy() - f["true_qopt"].to_numpy(),
        "charge_ok": np.sign(f["qopt"].to_numpy()) == np.sign(f["true_qopt"].to_numpy()),
    })  # fmt: skip
    for name in PARAMETERS:
        diff = f[name].to_numpy() - f[f"true_{name}"].to_numpy()
        if name == "phi":
            diff = (diff + np.pi) % (2.0 * np.pi) - np.pi
        out[f"pull_{name}"] = diff / f[f"sigma_{name}"].to_numpy()
    return out


def _clean(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _table(frame: pd.DataFrame) -> list[dict[str, float | None]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def method_summary(fitted: pd.DataFrame, *, pt_edges: Sequence[float] = PT_EDGES,
                   eta_edges: Sequence[float] = ETA_EDGES,
                   eta_min_pt: float = ETA_MIN_PT) -> dict:  # fmt: skip
    """Summary of one method's fitted tracks (all events concatenated)."""
    res = residual_frame(fitted)
    fitted_ok = np.isfinite(fitted["qopt"].to_numpy()) if len(fitted) else np.zeros(0, bool)
    summary: dict = {
        "n_tracks": int(len(fitted)),
        "n_fitted": int(fitted_ok.sum()),
        "n_matched": int(len(res)),
        "fit_failure_rate": _clean(1.0 - fitted_ok.mean()) if len(fitted) else None,
        "charge_misid_rate": _clean(1.0 - res["charge_ok"].mean()) if len(res) else None,
        "median_chi2_ndf": _clean(float(np.median(
            fitted["chi2"].to_numpy()[fitted_ok] / fitted["ndf"].to_numpy()[fitted_ok])))
        if fitted_ok.any() else None,
    }  # fmt: skip
    central = res[np.abs(res["true_eta"]) < 4.0]
    above = res[res["true_pt"] > eta_min_pt]
    for quantity in QUANTITIES:
        summary[f"{quantity}_vs_pt"] = _table(binned_resolution(central, quantity, "true_pt",
                                                                pt_edges))  # fmt: skip
        summary[f"{quantity}_vs_eta"] = _table(binned_resolution(above, quantity, "true_eta",
                                                                 eta_edges))  # fmt: skip
    pulls = {}
    for name in PARAMETERS:
        values = res[f"pull_{name}"].to_numpy() if len(res) else np.zeros(0)
        mean, rms, kept = pruned_rms(values)
        pulls[name] = {"mean": _clean(mean), "pruned_rms": _clean(rms), "n_kept": kept,
                       "quantile_width": _clean(quantile_width(values)), "n": int(values.size)}  # fmt: skip
    summary["pulls"] = pulls
    return summary


def fit_summary(fitted: Mapping[str, pd.DataFrame], **options) -> dict:
    """``{"eta_min_pt": ..., "methods": {method: method_summary}}``, self-contained."""
    return {
        "description": "Kalman fit resolutions (fitted minus true, matched tracks), pulls and "
        "charge misidentification per method; widths: 3-RMS-pruned RMS and 68.27% quantile "
        "half-width; eta bins hold tracks of particles with pT above eta_min_pt (GeV).",
        "eta_min_pt": options.get("eta_min_pt", ETA_MIN_PT),
        "methods": {m: method_summary(frame, **options) for m, frame in sorted(fitted.items())},
    }


def plot_resolution(summary: dict, variable: str, path: str | Path) -> None:
    """Two panels (relative pT, q/pT) of widths vs ``variable`` (pt or eta) for each method:
    pruned RMS filled, quantile width open markers."""
    from matplotlib.figure import Figure

    from trackrec.io.atomic import atomic_output

    fig = Figure(figsize=(10.0, 4.0))
    axes = fig.subplots(1, 2)
    for ax, (quantity, label) in zip(axes, QUANTITIES.items()):
        for i, (method, ms) in enumerate(summary["methods"].items()):
            rows = pd.DataFrame(ms[f"{quantity}_vs_{variable}"])
            if rows.empty:
                continue
            rows = rows[rows["n"] > 0]
            centre = 0.5 * (rows["lo"] + rows["hi"])
            ax.plot(centre, rows["rms"], "o", color=f"C{i}", label=f"{method}: pruned RMS")
            ax.plot(centre, rows["quantile_width"], "s", mfc="none", color=f"C{i}",
                    label=f"{method}: 68% quantile")  # fmt: skip
        ax.set_xlabel("true pT [GeV]" if variable == "pt" else "true eta")
        ax.set_ylabel(label)
        if variable == "pt":
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
