"""Interaction Network edge classifier (Battaglia et al. 2016; DeZoort et al. 2021 for tracking)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from trackrec.models.layers import mlp


class InteractionNetwork(MessagePassing):
    r"""Interaction Network that scores the edges of a hit graph.

    P. W. Battaglia et al., "Interaction Networks for Learning about Objects, Relations and
    Physics", NeurIPS 2016 (arXiv:1612.00222); applied to tracking by G. DeZoort et al.,
    "Charged particle tracking via edge-classifying interaction networks", Comput. Softw. Big
    Sci. 5 (2021) 26 (arXiv:2103.16701), and by the Exa.TrkX pipeline.

    Node features :math:`x_i` and edge features :math:`a_{ij}` (for an edge from hit
    :math:`j` = ``edge_index[0]`` to hit :math:`i` = ``edge_index[1]``) are encoded, then
    :math:`T` message-passing iterations with shared weights update edges and nodes
    residually:

    .. math::
        h_i^0 &= \mathrm{ReLU}(W_x x_i + b_x), \qquad e_{ij}^0 = \mathrm{ReLU}(W_a a_{ij} + b_a) \\
        e_{ij}^{t+1} &= e_{ij}^t + \phi_R\big(h_i^t, h_j^t, e_{ij}^t\big) \\
        h_i^{t+1} &= h_i^t + \phi_O\Big(h_i^t, \sum_{j \to i} e_{ij}^{t+1},
                                        \sum_{i \to k} e_{ki}^{t+1}\Big) \\
        s_{ij} &= W_s\, e_{ij}^T + b_s \qquad \text{(logit; score} = \sigma(s_{ij}))

    :math:`\phi_R` and :math:`\phi_O` are two-layer MLPs (ReLU, then a linear layer).
    Incoming and outgoing edges are summed separately, so information flows both ways along
    directed (inner-to-outer) edges. The first layer of :math:`\phi_R` is split into per-node
    products followed by a gather, :math:`W_i h_i + W_j h_j + W_e e_{ij}`, which equals a
    linear layer over the concatenation but moves an :math:`H`-vector per edge endpoint
    instead of a :math:`3H` one (CPU inference is memory traffic).

    Args:
        node_features: :math:`F_x`, node input features.
        edge_features: :math:`F_a`, edge input features.
        hidden: :math:`H`, width of every latent (28 with 3 node and 4 edge features: 6,665
            parameters).
        iterations: :math:`T`, message-passing iterations (weights shared).

    Shapes:
        - x: :math:`(N, F_x)` float
        - edge_index: :math:`(2, E)` long, rows (source, target)
        - edge_attr: :math:`(E, F_a)` float
        - output: :math:`(E,)` edge logits (apply ``torch.sigmoid`` for scores)
    """

    def __init__(self, *, node_features: int, edge_features: int, hidden: int = 32,
                 iterations: int = 6) -> None:
        super().__init__(aggr="add", flow="source_to_target")
        if min(node_features, edge_features, hidden, iterations) < 1:
            raise ValueError("node_features, edge_features, hidden and iterations must be >= 1")
        self.iterations = iterations
        self.node_encoder = mlp([node_features, hidden], final_activation=True)
        self.edge_encoder = mlp([edge_features, hidden], final_activation=True)
        # phi_R's first layer, split over its three inputs (one bias)
        self.relational_target = nn.Linear(hidden, hidden)
        self.relational_source = nn.Linear(hidden, hidden, bias=False)
        self.relational_edge = nn.Linear(hidden, hidden, bias=False)
        self.relational_out = nn.Linear(hidden, hidden)
        self.object_mlp = mlp([3 * hidden, hidden, hidden])
        self.edge_decoder = nn.Linear(hidden, 1)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        h, e = self.encode(x, edge_index, edge_attr)
        return self.edge_decoder(e).squeeze(-1)

    def encode(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> tuple[Tensor, Tensor]:
        """Node latents :math:`h^T` ``(N, H)`` and edge latents :math:`e^T` ``(E, H)``."""
        h = self.node_encoder(x)
        e = self.edge_encoder(edge_attr)
        reverse = edge_index.flip(0)
        for _ in range(self.iterations):
            e = e + self.edge_updater(edge_index, a=self.relational_target(h),
                                      b=self.relational_source(h), e=e)
            incoming = self.propagate(edge_index, e=e, size=(h.size(0), h.size(0)))
            outgoing = self.propagate(reverse, e=e, size=(h.size(0), h.size(0)))
            h = h + self.object_mlp(torch.cat([h, incoming, outgoing], dim=-1))
        return h, e

    def edge_update(self, a_i: Tensor, b_j: Tensor, e: Tensor) -> Tensor:
        hidden = a_i + b_j + self.relational_edge(e)
        return self.relational_out(torch.relu_(hidden))

    def message(self, e: Tensor) -> Tensor:
        return e

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(hidden={self.edge_decoder.in_features}, "
                f"iterations={self.iterations})")
