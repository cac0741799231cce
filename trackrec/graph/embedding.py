"""Metric-learning embedding of hits: a residual MLP and its two contrastive losses.

The learned graph construction of the Exa.TrkX and gnn_tracking pipelines (Ju et al., Eur.
Phys. J. C 81, 876 (2021), arXiv:2103.06995; Lieret & DeZoort, arXiv:2309.16754): an MLP
maps each hit's features to a point in a low-dimensional latent space where hits of one
particle lie close together, and the graph joins each hit to its nearest latent neighbours.

Losses, over pairs ``(u, v)`` with latent squared distance ``d2 = ||h_u - h_v||^2``:

* :func:`hinge_loss` (the attractive/repulsive hinge loss of the learned-clustering
  pipeline): ``mean(d2)`` over positive pairs (two hits of one particle of interest) plus
  ``w * mean(max(0, 1 - d2))`` over negative pairs (hits of different particles, or noise);
* :func:`info_nce_loss` (supervised InfoNCE, van den Oord et al. arXiv:1807.03748, with the
  similarity ``exp(-d2 / tau)``): for each positive pair, ``-log(s_pos / (s_pos + sum of
  s_neg))`` over the anchor's negative candidates.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ResidualMLP(nn.Module):
    r"""Hit embedding :math:`h = W_{out} z_L`, :math:`z_{l+1} = z_l + \mathrm{ReLU}(\mathrm{LN}(W_l z_l))`.

    Shapes: input ``[n_hits, in_dim]`` -> output ``[n_hits, out_dim]``. ``depth`` residual
    blocks of width ``hidden`` after an input projection ``z_0 = W_{in} x``.
    """

    def __init__(self, *, in_dim: int, hidden: int = 128, depth: int = 4, out_dim: int = 12):
        super().__init__()
        if min(in_dim, hidden, depth, out_dim) < 1:
            raise ValueError("in_dim, hidden, depth and out_dim must be >= 1")
        self.input = nn.Linear(in_dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.ReLU())
            for _ in range(depth)
        )
        self.output = nn.Linear(hidden, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        z = self.input(x)
        for block in self.blocks:
            z = z + block(z)
        return self.output(z)


def squared_distance(h: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """``||h[u] - h[v]||^2`` for index tensors ``u``, ``v`` of one length."""
    return (h[u] - h[v]).pow(2).sum(dim=-1)


def hinge_loss(
    h: Tensor, pos: tuple[Tensor, Tensor], neg: tuple[Tensor, Tensor], *,
    repulsive_weight: float = 1.0, margin: float = 1.0,
) -> tuple[Tensor, dict[str, float]]:
    """Attractive ``mean(d2)`` on ``pos`` plus repulsive ``w * mean(relu(margin^2 - d2))``."""
    attractive = squared_distance(h, *pos).mean() if len(pos[0]) else h.sum() * 0
    repulsive = (
        torch.relu(margin**2 - squared_distance(h, *neg)).mean() if len(neg[0]) else h.sum() * 0
    )
    loss = attractive + repulsive_weight * repulsive
    return loss, {"attractive": float(attractive.detach()), "repulsive": float(repulsive.detach())}


def info_nce_loss(
    h: Tensor, pos: tuple[Tensor, Tensor], candidates: Tensor, negative: Tensor, *,
    tau: float = 0.1,
) -> tuple[Tensor, dict[str, float]]:
    """Supervised InfoNCE with similarity ``exp(-d2 / tau)``.

    ``pos``: anchor and positive indices, ``[n_pos]`` each. ``candidates``: ``[n_hits, k]``
    latent neighbours of every hit; ``negative``: ``[n_hits, k]`` bool, true where the
    neighbour is a negative for that hit. Positives without negatives contribute zero.
    """
    anchor, positive = pos
    if len(anchor) == 0:
        return h.sum() * 0, {"info_nce": 0.0}
    logit_pos = -squared_distance(h, anchor, positive) / tau  # [n_pos]
    neighbours = candidates[anchor]  # [n_pos, k]
    d2_neg = (h[anchor].unsqueeze(1) - h[neighbours]).pow(2).sum(-1)  # [n_pos, k]
    logit_neg = (-d2_neg / tau).masked_fill(~negative[anchor], float("-inf"))
    logits = torch.cat([logit_pos.unsqueeze(1), logit_neg], dim=1)
    loss = (torch.logsumexp(logits, dim=1) - logit_pos).mean()
    return loss, {"info_nce": float(loss.detach())}
