"""The noise classifiers: gradient-boosted trees and a residual MLP, both giving P(noise).

- ``gbdt``: scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`,
  exported to plain arrays (:func:`export_gbdt`, stored as ``.npz``, no pickle) and scored by
  a numba kernel (:func:`gbdt_predict_proba`) that the tests compare with scikit-learn's
  ``predict_proba``.
- ``mlp``: :class:`ResidualMLP`, a fully connected network with residual blocks trained with
  class-weighted binary cross-entropy (the noise and non-noise classes weigh the same in
  total), as in the learned-clustering literature's noise filter.

Both train on standardised features (the MLP) or raw features (the trees) and return the
probability that a hit is noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit, prange

# ---------------------------------------------------------------- gradient-boosted trees

GBDT_ARRAYS = ("feature", "threshold", "left", "right", "is_leaf", "value", "missing_left",
               "tree_start", "baseline")  # fmt: skip


def fit_gbdt(x: np.ndarray, y: np.ndarray, *, max_iter: int, learning_rate: float,
             max_leaf_nodes: int, l2_regularization: float, seed: int, threads: int = 2,
             verbose: bool = True):  # fmt: skip
    """A fitted binary HistGradientBoostingClassifier (balanced class weights).

    ``threads`` caps OpenMP: on a shared machine more threads than free cores make the
    fit many times slower (spinning threads wait for each other).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes,
        l2_regularization=l2_regularization, early_stopping=False, random_state=seed,
        class_weight="balanced", verbose=int(verbose),
    )  # fmt: skip
    with threadpool_limits(limits=threads, user_api="openmp"):
        return model.fit(x, y.astype(np.int8))


def export_gbdt(model) -> dict[str, np.ndarray]:
    """The trees of a fitted binary HistGradientBoostingClassifier as flat arrays."""
    if getattr(model, "n_trees_per_iteration_", 1) != 1:
        raise ValueError("only binary classifiers can be exported")
    if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise ValueError("categorical features cannot be exported")
    nodes = [predictors[0].nodes for predictors in model._predictors]
    sizes = np.array([len(n) for n in nodes], np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    allnodes = np.concatenate(nodes)
    return {
        "feature": allnodes["feature_idx"].astype(np.int64),
        "threshold": allnodes["num_threshold"].astype(np.float64),
        "left": allnodes["left"].astype(np.int64),
        "right": allnodes["right"].astype(np.int64),
        "is_leaf": allnodes["is_leaf"].astype(np.bool_),
        "value": allnodes["value"].astype(np.float64),
        "missing_left": allnodes["missing_go_to_left"].astype(np.bool_),
        "tree_start": starts,
        "baseline": np.asarray(model._baseline_prediction, np.float64).reshape(-1)[:1],
    }


@njit(cache=True, parallel=True)
def _gbdt_raw(x, feature, threshold, left, right, is_leaf, value, missing_left, tree_start,
              baseline, out):  # fmt: skip
    n_trees = tree_start.size - 1
    for i in prange(x.shape[0]):  # rows are independent: numba's threads share them
        total = baseline
        for t in range(n_trees):
            base = tree_start[t]
            node = 0
            while not is_leaf[base + node]:
                k = base + node
                v = x[i, feature[k]]
                if math.isnan(v):
                    go_left = missing_left[k]
                else:
                    go_left = v <= threshold[k]
                node = left[k] if go_left else right[k]
            total += value[base + node]
        out[i] = total


def gbdt_predict_proba(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """P(noise) of each row of ``x`` from exported trees (checked shapes, float64 out)."""
    missing = [k for k in GBDT_ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"tree model lacks array(s) {', '.join(missing)}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("features must be a 2-d array")
    if arrays["feature"].size and int(arrays["feature"].max()) >= x.shape[1]:
        raise ValueError("tree model uses more features than given")
    raw = np.empty(x.shape[0])
    _gbdt_raw(x, np.ascontiguousarray(arrays["feature"], np.int64),
              np.ascontiguousarray(arrays["threshold"], np.float64),
              np.ascontiguousarray(arrays["left"], np.int64),
              np.ascontiguousarray(arrays["right"], np.int64),
              np.ascontiguousarray(arrays["is_leaf"], np.bool_),
              np.ascontiguousarray(arrays["value"], np.float64),
              np.ascontiguousarray(arrays["missing_left"], np.bool_),
              np.ascontiguousarray(arrays["tree_start"], np.int64),
              float(arrays["baseline"][0]), raw)  # fmt: skip
    from scipy.special import expit

    return expit(raw)


# ---------------------------------------------------------------- residual MLP


def _torch():
    import torch

    return torch


def make_mlp(n_features: int, *, hidden: int, blocks: int):
    """A :class:`ResidualMLP` (built lazily so that importing this module needs no torch)."""
    torch = _torch()
    nn = torch.nn

    class ResidualMLP(nn.Module):
        """Fully connected noise classifier with residual blocks.

        ``h_0 = ReLU(W_in x)``; ``h_{k+1} = h_k + W_2 ReLU(LN(W_1 h_k))`` for ``blocks``
        blocks; logit ``= w_out . h``. Input ``x``: ``(n, n_features)`` standardised
        features; output: ``(n,)`` logits of P(noise).
        """

        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Linear(n_features, hidden)
            self.blocks = nn.ModuleList(
                nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.ReLU(),
                              nn.Linear(hidden, hidden))  # fmt: skip
                for _ in range(blocks)
            )
            self.out = nn.Linear(hidden, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.inp(x))
            for block in self.blocks:
                h = h + block(h)
            return self.out(h).squeeze(-1)

    return ResidualMLP()


def standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per feature (std 1 where constant)."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def train_mlp(x: np.ndarray, y: np.ndarray, *, hidden: int, blocks: int, epochs: int,
              batch_size: int, learning_rate: float, seed: int,
              state: dict | None = None,
              on_epoch: Callable[[int, dict, float], None] | None = None):  # fmt: skip
    """Train the residual MLP with class-weighted BCE; returns the model.

    ``state`` (from a checkpoint: ``{"model", "optimizer", "epoch"}``) resumes training;
    ``on_epoch(epoch, state, loss)`` is called after each epoch (for checkpoints, progress).
    """
    torch = _torch()
    torch.manual_seed(seed)
    model = make_mlp(x.shape[1], hidden=hidden, blocks=blocks)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    first = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        first = int(state["epoch"])
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    yt = torch.from_numpy(y.astype(np.float32))
    n_noise = float(yt.sum())
    pos_weight = torch.tensor((len(yt) - n_noise) / max(n_noise, 1.0))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        perm = torch.randperm(len(yt), generator=generator)
        if epoch < first:  # resumed: replay the shuffles so the run equals an unbroken one
            continue
        model.train()
        total = 0.0
        for b in range(0, len(yt), batch_size):
            idx = perm[b:b + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        if on_epoch is not None:
            on_epoch(epoch + 1, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "epoch": epoch + 1}, total / len(yt))  # fmt: skip
    return model


def mlp_predict_proba(model, x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """P(noise) from the MLP on raw features (standardised here)."""
    torch = _torch()
    model.eval()
    xs = ((x - mean) / std).astype(np.float32)
    out = np.empty(len(xs))
    with torch.no_grad():
        for b in range(0, len(xs), 65536):
            out[b:b + 65536] = torch.sigmoid(model(torch.from_numpy(xs[b:b + 65536]))).numpy()
    return out
