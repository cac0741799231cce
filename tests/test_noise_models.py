"""Noise classifiers and the working point: exported trees against scikit-learn, the MLP's
determinism and resumption, thresholds and metrics against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from trackrec.errors import TrackrecError
from trackrec.noise.filter import (
    choose_threshold,
    filter_metrics,
    roc_auc,
    roc_from_histograms,
    score_histograms,
)
from trackrec.noise.models import (
    export_gbdt,
    gbdt_predict_proba,
    make_mlp,
    mlp_predict_proba,
    standardisation,
    train_mlp,
)


def toy_data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] ** 2 + 0.3 * rng.normal(size=n)) > 0.8
    return x, y


def test_exported_trees_score_exactly_as_sklearn() -> None:
    x, y = toy_data()
    x[::17, 2] = np.nan  # missing values take the side the trees learned
    model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, random_state=0,
                                           early_stopping=False).fit(x, y)  # fmt: skip
    test, _ = toy_data(500, seed=1)
    test[::7, 2] = np.nan
    np.testing.assert_allclose(gbdt_predict_proba(export_gbdt(model), test),
                               model.predict_proba(test)[:, 1], rtol=1e-12, atol=1e-12)  # fmt: skip


def test_truncated_tree_arrays_are_refused() -> None:
    x, y = toy_data(300)
    arrays = export_gbdt(HistGradientBoostingClassifier(max_iter=2).fit(x, y))
    del arrays["threshold"]
    with pytest.raises(ValueError, match="threshold"):
        gbdt_predict_proba(arrays, x)


def test_mlp_shapes_determinism_and_resume() -> None:
    net = make_mlp(5, hidden=8, blocks=2)
    assert net(__import__("torch").zeros(3, 5)).shape == (3,)
    x, y = toy_data(1000)
    mean, std = standardisation(x)
    xs = (x - mean) / std
    kwargs = dict(hidden=8, blocks=2, epochs=3, batch_size=128, learning_rate=1e-2, seed=4)
    one = mlp_predict_proba(train_mlp(xs, y, **kwargs), x, mean, std)
    two = mlp_predict_proba(train_mlp(xs, y, **kwargs), x, mean, std)
    np.testing.assert_array_equal(one, two)
    saved = {}

    def keep(epoch, state, loss):
        if epoch == 1:
            import copy

            saved.update(copy.deepcopy(state))

    train_mlp(xs, y, **{**kwargs, "epochs": 1}, on_epoch=keep)
    resumed = mlp_predict_proba(train_mlp(xs, y, **kwargs, state=saved), x, mean, std)
    np.testing.assert_allclose(resumed, one, rtol=1e-6, atol=1e-7)
    assert roc_auc_score(y, one) > 0.9  # it learned something


def test_threshold_loses_at_most_the_allowed_fraction() -> None:
    poi = np.arange(1000) / 1000.0  # 0.000 .. 0.999
    t = choose_threshold(poi, 0.005)
    assert (poi > t).sum() == 5
    assert choose_threshold(poi, 0.0) == pytest.approx(0.999)
    with pytest.raises(TrackrecError, match="no hits of particles of interest"):
        choose_threshold(np.array([]), 0.005)


def test_metrics_on_a_hand_made_event() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.2, 0.05])
    noise = np.array([True, True, True, False, False, False])
    poi = np.array([False, False, False, True, True, False])
    got = filter_metrics(scores, 0.5, noise, poi)
    assert got["noise_removed_frac"] == pytest.approx(2 / 3)
    assert got["good_hit_loss_pt0.9"] == pytest.approx(1 / 2)
    assert got["good_hit_loss_all"] == pytest.approx(1 / 3)
    assert got["noise_auc"] == pytest.approx(roc_auc_score(noise, scores))


def test_auc_with_ties_equals_sklearn() -> None:
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 5, 400) / 4.0
    labels = rng.random(400) < 0.3
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_roc_from_histograms_matches_direct_counts() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(2000)
    noise = rng.random(2000) < 0.2
    poi = ~noise & (rng.random(2000) < 0.3)
    halves = [score_histograms(scores[s], noise[s], poi[s]) for s in (slice(0, 900), slice(900, None))]
    roc = roc_from_histograms(halves)
    assert roc["noise_removed"][0] == 0 and roc["noise_removed"][-1] == pytest.approx(1.0)
    # at the edge logit = 0 (score 0.5) the pooled fraction is the direct count
    k = int(np.flatnonzero(np.isclose(roc["threshold_logit"], 0.0))[0])
    assert roc["noise_removed"][k] == pytest.approx((scores[noise] > 0.5).mean())
    assert roc["poi_loss"][k] == pytest.approx((scores[poi] > 0.5).mean())
