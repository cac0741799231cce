"""Small building blocks shared by the models: MLPs and the signed-log squashing ``psi``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def mlp(sizes: Sequence[int], *, final_activation: bool = False) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (and after the last if asked)."""
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def psi(x: Tensor) -> Tensor:
    """``sign(x) * log(|x| + 1)``: keeps the sign, squashes large magnitudes (EuclidNet, LorentzNet)."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
