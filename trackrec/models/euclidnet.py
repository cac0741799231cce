"""EuclidNet: an edge classifier equivariant to rotations about the beam axis (SO(2))."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from trackrec.models.layers import mlp, psi


class EuclidNet(MessagePassing):
    r"""SO(2)-equivariant edge classifier on a hit graph.

    D. Murnane, S. Thais, A. Thete, "Equivariant Graph Neural Networks for Charged Particle
    Tracking", CHEP 2023 (arXiv:2304.05293), after LorentzNet (S. Gong et al., JHEP 07
    (2022) 030, arXiv:2201.08187) with the Minkowski metric replaced by the Euclidean one of
    the transverse plane.

    Each hit carries scalars :math:`h_i` (a learned embedding of rotation-invariant inputs:
    :math:`z`, and :math:`r` by default) and a vector :math:`v_i \in \mathbb{R}^2`, its
    transverse position :math:`(x, y)` divided by a fixed length. For an edge from
    :math:`j` = ``edge_index[0]`` to :math:`i` = ``edge_index[1]`` with invariant edge
    features :math:`a_{ij}` (differences in r, phi, z, eta), each of :math:`L` layers
    computes

    .. math::
        m_{ij} &= \phi_e\big(h_i, h_j, \psi(\lVert v_i - v_j \rVert^2),
                  \psi(\langle v_i, v_j \rangle), a_{ij}\big),
                  \qquad \psi(x) = \mathrm{sign}(x) \log(|x| + 1) \\
        v_i &\leftarrow v_i + c \sum_{j \sim i} \phi_x(m_{ij})\,(v_i - v_j) \\
        h_i &\leftarrow h_i + \phi_h\Big(h_i, \sum_{j \sim i} \sigma(\phi_m(m_{ij}))\, m_{ij}\Big)

    where :math:`j \sim i` runs over incoming and outgoing edges alike and :math:`c` is a
    small constant that keeps coordinate updates stable. Norms and dot products are
    invariant under a rotation :math:`R` of every :math:`v`, and :math:`v_i - v_j` turns
    with it, so all scalars (hence the scores) are invariant and the vectors equivariant.
    The dot product is not translation-invariant: shifting the hits in x changes the scores,
    as it should (the beam line is a fixed point). A decoder on the final scalars gives the
    edge logit :math:`s_{ij} = \phi_d(h_i, h_j, \psi(\lVert v_i - v_j \rVert^2), a_{ij})`.

    Args:
        scalar_features: number of invariant per-hit inputs.
        edge_features: number of invariant edge inputs :math:`a_{ij}` (0 for none).
        hidden: width of :math:`h` and :math:`m` (with 2 scalar and 4 edge features: 885
            parameters at hidden 8 and 2 layers, 973 at hidden 7 and 3 layers).
        layers: :math:`L`, message-passing layers (separate weights).
        coordinate_scale: :math:`c`.

    Shapes:
        - scalars: :math:`(N, F_s)` float
        - vectors: :math:`(N, 2)` float, transverse positions
        - edge_index: :math:`(2, E)` long, rows (source, target)
        - edge_attr: :math:`(E, F_a)` float (may have 0 columns)
        - output: :math:`(E,)` edge logits
    """

    def __init__(self, *, scalar_features: int, edge_features: int, hidden: int = 8,
                 layers: int = 3, coordinate_scale: float = 1e-2) -> None:
        super().__init__(aggr="add", flow="source_to_target")
        if min(scalar_features, hidden, layers) < 1 or edge_features < 0:
            raise ValueError("scalar_features, hidden and layers must be >= 1, edge_features >= 0")
        self.coordinate_scale = float(coordinate_scale)
        self.embedding = nn.Linear(scalar_features, hidden)
        self.edge_mlps = nn.ModuleList(
            mlp([2 * hidden + 2 + edge_features, hidden], final_activation=True)
            for _ in range(layers))
        self.coordinate_heads = nn.ModuleList(nn.Linear(hidden, 1) for _ in range(layers))
        self.attention_heads = nn.ModuleList(nn.Linear(hidden, 1) for _ in range(layers))
        self.scalar_mlps = nn.ModuleList(mlp([2 * hidden, hidden]) for _ in range(layers))
        self.decoder = mlp([2 * hidden + 1 + edge_features, hidden, 1])

    def forward(self, scalars: Tensor, vectors: Tensor, edge_index: Tensor,
                edge_attr: Tensor) -> Tensor:
        h = self.embedding(scalars)
        v = vectors
        src, dst = edge_index
        reverse = edge_index.flip(0)
        size = (h.size(0), h.size(0))
        for edge_mlp, coord_head, attention_head, scalar_mlp in zip(
                self.edge_mlps, self.coordinate_heads, self.attention_heads, self.scalar_mlps):
            m = self.edge_updater(edge_index, h=h, v=v, a=edge_attr, edge_mlp=edge_mlp)
            diff = v[dst] - v[src]  # v_i - v_j for the target i
            shift = coord_head(m) * diff
            weighted = torch.sigmoid(attention_head(m)) * m
            # each edge pulls its target along +diff and its source along -diff
            v = v + self.coordinate_scale * (
                self.propagate(edge_index, msg=shift, size=size)
                - self.propagate(reverse, msg=shift, size=size))
            aggregated = (self.propagate(edge_index, msg=weighted, size=size)
                          + self.propagate(reverse, msg=weighted, size=size))
            h = h + scalar_mlp(torch.cat([h, aggregated], dim=-1))
        distance = psi((v[dst] - v[src]).pow(2).sum(-1, keepdim=True))
        return self.decoder(torch.cat([h[dst], h[src], distance, edge_attr], dim=-1)).squeeze(-1)

    def edge_update(self, h_i: Tensor, h_j: Tensor, v_i: Tensor, v_j: Tensor, a: Tensor,
                    edge_mlp: nn.Module) -> Tensor:
        distance = psi((v_i - v_j).pow(2).sum(-1, keepdim=True))
        dot = psi((v_i * v_j).sum(-1, keepdim=True))
        return edge_mlp(torch.cat([h_i, h_j, distance, dot, a], dim=-1))

    def message(self, msg: Tensor) -> Tensor:
        return msg
