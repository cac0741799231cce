"""Object-condensation network: per-hit cluster coordinates and condensation strength beta."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from trackrec.models.layers import mlp


class CondensationNetwork(MessagePassing):
    r"""Interaction-Network backbone with a per-hit object-condensation head.

    J. Kieseler, "Object condensation: one-stage grid-free multi-object reconstruction in
    physics detectors, graph and image data", Eur. Phys. J. C 80 (2020) 886
    (arXiv:2002.03605); for tracking: K. Lieret, G. DeZoort, "High pileup particle tracking
    with object condensation", CTD 2023 (arXiv:2312.03823).

    The backbone is the Interaction Network of
    :class:`~trackrec.models.interaction_network.InteractionNetwork` (encoders, then
    :math:`T` residual edge and node updates with shared weights); the head maps the final
    node latents :math:`h_i^T` to a point in a :math:`D`-dimensional clustering space and a
    condensation strength:

    .. math::
        e_{ij}^{t+1} &= e_{ij}^t + \phi_R(h_i^t, h_j^t, e_{ij}^t), \qquad
        h_i^{t+1} = h_i^t + \phi_O\Big(h_i^t, \sum_{j \to i} e_{ij}^{t+1},
                                        \sum_{i \to k} e_{ki}^{t+1}\Big) \\
        (c_i, \tilde\beta_i) &= \phi_C(h_i^T), \qquad \beta_i = \sigma(\tilde\beta_i)

    Trained with :func:`trackrec.models.losses.condensation_loss`: hits of one particle
    are pulled to the hit of highest :math:`\beta` of that particle (its condensation point)
    and pushed from other particles' condensation points; DBSCAN on :math:`c` then gives
    tracks.

    Args:
        node_features, edge_features: input widths :math:`F_x`, :math:`F_a`.
        hidden: :math:`H`, latent width.
        iterations: :math:`T`.
        coordinates: :math:`D`, clustering-space dimension.

    Shapes:
        - x: :math:`(N, F_x)`; edge_index: :math:`(2, E)`; edge_attr: :math:`(E, F_a)`
        - output: coordinates :math:`(N, D)` and beta :math:`(N,)` in (0, 1)
    """

    def __init__(self, *, node_features: int, edge_features: int, hidden: int = 32,
                 iterations: int = 4, coordinates: int = 8) -> None:
        super().__init__(aggr="add", flow="source_to_target")
        if min(node_features, edge_features, hidden, iterations, coordinates) < 1:
            raise ValueError("all sizes must be >= 1")
        self.iterations = iterations
        self.node_encoder = mlp([node_features, hidden], final_activation=True)
        self.edge_encoder = mlp([edge_features, hidden], final_activation=True)
        self.relational_target = nn.Linear(hidden, hidden)
        self.relational_source = nn.Linear(hidden, hidden, bias=False)
        self.relational_edge = nn.Linear(hidden, hidden, bias=False)
        self.relational_out = nn.Linear(hidden, hidden)
        self.object_mlp = mlp([3 * hidden, hidden, hidden])
        self.head = mlp([hidden, hidden, coordinates + 1])

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> tuple[Tensor, Tensor]:
        h = self.node_encoder(x)
        e = self.edge_encoder(edge_attr)
        reverse = edge_index.flip(0)
        size = (h.size(0), h.size(0))
        for _ in range(self.iterations):
            e = e + self.edge_updater(edge_index, a=self.relational_target(h),
                                      b=self.relational_source(h), e=e)
            incoming = self.propagate(edge_index, e=e, size=size)
            outgoing = self.propagate(reverse, e=e, size=size)
            h = h + self.object_mlp(torch.cat([h, incoming, outgoing], dim=-1))
        out = self.head(h)
        return out[:, :-1], torch.sigmoid(out[:, -1])

    def edge_update(self, a_i: Tensor, b_j: Tensor, e: Tensor) -> Tensor:
        return self.relational_out(torch.relu_(a_i + b_j + self.relational_edge(e)))

    def message(self, e: Tensor) -> Tensor:
        return e
