"""Noise-hit filtering: features, classifiers (residual MLP, gradient-boosted trees, oracle,
off), the working point and the per-event filter stage."""
