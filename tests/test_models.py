"""The GNN models and losses on tiny tensors, against slow obvious references."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from trackrec.models.condensation import CondensationNetwork  # noqa: E402
from trackrec.models.euclidnet import EuclidNet  # noqa: E402
from trackrec.models.interaction_network import InteractionNetwork  # noqa: E402
from trackrec.models.layers import count_parameters, psi  # noqa: E402
from trackrec.models.losses import condensation_loss, weighted_bce  # noqa: E402

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    ]),
]


def _graph(n: int = 12, e: int = 30, seed: int = 0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=gen, dtype=dtype)
    edge_index = torch.randint(0, n, (2, e), generator=gen)
    edge_attr = torch.randn(e, 4, generator=gen, dtype=dtype)
    return x, edge_index, edge_attr


def _in_reference(model: InteractionNetwork, x, edge_index, edge_attr):
    """The IN equations edge by edge, with phi_R as one Linear over the concatenation."""
    w = torch.cat([model.relational_target.weight, model.relational_source.weight,
                   model.relational_edge.weight], dim=1)
    b = model.relational_target.bias
    h = torch.relu(x @ model.node_encoder[0].weight.T + model.node_encoder[0].bias)
    e = torch.relu(edge_attr @ model.edge_encoder[0].weight.T + model.edge_encoder[0].bias)
    for _ in range(model.iterations):
        new_e = []
        for k in range(edge_index.size(1)):
            j, i = int(edge_index[0, k]), int(edge_index[1, k])
            z = torch.relu(w @ torch.cat([h[i], h[j], e[k]]) + b)
            new_e.append(e[k] + model.relational_out(z))
        e = torch.stack(new_e)
        incoming = torch.zeros_like(h)
        outgoing = torch.zeros_like(h)
        for k in range(edge_index.size(1)):
            j, i = int(edge_index[0, k]), int(edge_index[1, k])
            incoming[i] += e[k]
            outgoing[j] += e[k]
        h = h + model.object_mlp(torch.cat([h, incoming, outgoing], dim=-1))
    return model.edge_decoder(e).squeeze(-1)


@pytest.mark.parametrize("device", DEVICES)
def test_interaction_network_matches_edge_by_edge_reference(device: str) -> None:
    torch.manual_seed(0)
    model = InteractionNetwork(node_features=3, edge_features=4, hidden=6, iterations=3)
    model = model.double().to(device)
    x, edge_index, edge_attr = (t.to(device) for t in _graph())
    with torch.no_grad():
        fast = model(x, edge_index, edge_attr)
        slow = _in_reference(model, x, edge_index, edge_attr)
    assert fast.shape == (edge_index.size(1),)
    torch.testing.assert_close(fast, slow, rtol=1e-10, atol=1e-10)


def test_interaction_network_scores_follow_a_node_permutation() -> None:
    torch.manual_seed(1)
    model = InteractionNetwork(node_features=3, edge_features=4, hidden=8, iterations=2).double()
    x, edge_index, edge_attr = _graph(seed=3)
    perm = torch.randperm(x.size(0))
    inverse = torch.argsort(perm)
    with torch.no_grad():
        before = model(x, edge_index, edge_attr)
        after = model(x[perm], inverse[edge_index], edge_attr)
    torch.testing.assert_close(before, after)


def test_interaction_network_size_matches_the_paper_scale() -> None:
    model = InteractionNetwork(node_features=3, edge_features=4, hidden=28, iterations=6)
    # 6,448 parameters in the EuclidNet paper's largest IN; "about 6,000" in the issue
    assert 5_500 <= count_parameters(model) <= 7_000


def _rotate(xy: torch.Tensor, angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s], [s, c]], dtype=xy.dtype, device=xy.device)
    return xy @ rot.T


def _edge_features(xyz: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """dr, dphi, dz, deta from the positions, as graph construction defines them."""
    r = torch.hypot(xyz[:, 0], xyz[:, 1])
    phi = torch.atan2(xyz[:, 1], xyz[:, 0])
    eta = torch.asinh(xyz[:, 2] / r)
    src, dst = edge_index
    dphi = torch.remainder(phi[dst] - phi[src] + math.pi, 2 * math.pi) - math.pi
    return torch.stack([r[dst] - r[src], dphi, xyz[dst, 2] - xyz[src, 2], eta[dst] - eta[src]], 1)


def _euclid_inputs(xyz: torch.Tensor, edge_index: torch.Tensor):
    r = torch.hypot(xyz[:, 0], xyz[:, 1])
    scalars = torch.stack([xyz[:, 2], r], dim=1)
    return scalars, xyz[:, :2], edge_index, _edge_features(xyz, edge_index)


@pytest.mark.parametrize("device", DEVICES)
def test_euclidnet_scores_are_invariant_under_rotations_about_z(device: str) -> None:
    torch.manual_seed(2)
    model = EuclidNet(scalar_features=2, edge_features=4, hidden=8, layers=3,
                      coordinate_scale=0.1).double().to(device)
    gen = torch.Generator().manual_seed(5)
    xyz = (torch.rand(40, 3, generator=gen, dtype=torch.float64) * 2 - 1).to(device)
    edge_index = torch.randint(0, 40, (2, 120), generator=gen).to(device)
    with torch.no_grad():
        reference = model(*_euclid_inputs(xyz, edge_index))
        for angle in torch.rand(5, generator=gen, dtype=torch.float64) * 2 * math.pi:
            rotated = xyz.clone()
            rotated[:, :2] = _rotate(xyz[:, :2], float(angle))
            scores = model(*_euclid_inputs(rotated, edge_index))
            torch.testing.assert_close(scores, reference, rtol=1e-6, atol=1e-12)
        shifted = xyz.clone()
        shifted[:, 0] += 0.3
        moved = model(*_euclid_inputs(shifted, edge_index))
    assert (moved - reference).abs().max() > 1e-3  # a translation in x is not a symmetry


def test_euclidnet_is_under_1000_parameters_at_the_default_size() -> None:
    model = EuclidNet(scalar_features=2, edge_features=4, hidden=8, layers=2)
    assert count_parameters(model) < 1_000


def test_psi_is_signed_log() -> None:
    x = torch.tensor([-math.e + 1, 0.0, 3.0])
    torch.testing.assert_close(psi(x), torch.tensor([-1.0, 0.0, math.log(4.0)]))


def test_condensation_network_outputs_coordinates_and_beta() -> None:
    torch.manual_seed(3)
    model = CondensationNetwork(node_features=3, edge_features=4, hidden=8, iterations=2,
                                coordinates=5).double()
    x, edge_index, edge_attr = _graph()
    coords, beta = model(x, edge_index, edge_attr)
    assert coords.shape == (12, 5) and beta.shape == (12,)
    assert bool(((beta > 0) & (beta < 1)).all())
    coords.sum().backward()
    assert model.node_encoder[0].weight.grad is not None


def _condensation_reference(coords, beta, object_id, q_min, noise_weight):
    """Kieseler's loss as written: loops over hits and objects."""
    n = len(beta)
    beta = [min(float(b), 1 - 1e-4) for b in beta]
    q = [math.atanh(b) ** 2 + q_min for b in beta]
    objects = sorted({int(k) for k in object_id if k >= 0})
    alpha = {}
    for k in objects:
        members = [i for i in range(n) if object_id[i] == k]
        alpha[k] = max(members, key=lambda i: (q[i], -i))
    potential = 0.0
    for i in range(n):
        for k in objects:
            a = alpha[k]
            d = math.dist(coords[i], coords[a])
            if object_id[i] == k:
                potential += q[i] * q[a] * d * d
            else:
                potential += q[i] * q[a] * max(0.0, 1.0 - d)
    potential /= n
    beta_loss = sum(1 - beta[alpha[k]] for k in objects) / len(objects)
    noise = [beta[i] for i in range(n) if object_id[i] < 0]
    if noise:
        beta_loss += noise_weight * sum(noise) / len(noise)
    return potential, beta_loss


@pytest.mark.parametrize("chunk", [3, 4096])
def test_condensation_loss_matches_the_slow_reference(chunk: int) -> None:
    gen = torch.Generator().manual_seed(7)
    coords = torch.rand(17, 3, generator=gen, dtype=torch.float64) * 1.5
    beta = torch.rand(17, generator=gen, dtype=torch.float64)
    object_id = torch.tensor([0, 0, 1, 1, 1, -1, 2, 2, 4, 4, 4, -1, 0, 1, 2, 4, -1])
    total, potential, beta_loss = condensation_loss(coords, beta, object_id, q_min=0.2,
                                                    noise_weight=0.5, chunk=chunk)
    ref_potential, ref_beta = _condensation_reference(coords.tolist(), beta.tolist(),
                                                      object_id.tolist(), 0.2, 0.5)
    assert potential.item() == pytest.approx(ref_potential, rel=1e-10)
    assert beta_loss.item() == pytest.approx(ref_beta, rel=1e-10)
    assert total.item() == pytest.approx(ref_potential + ref_beta, rel=1e-10)


def test_condensation_loss_gradient_pulls_hits_to_their_condensation_point() -> None:
    coords = torch.tensor([[0.0, 0.0], [0.5, 0.0], [3.0, 0.0]], requires_grad=True)
    beta = torch.tensor([0.9, 0.1, 0.9])
    _, potential, _ = condensation_loss(coords, beta, torch.tensor([0, 0, 1]))
    potential.backward()
    assert coords.grad[1, 0] > 0  # moving hit 1 towards x = 0 lowers the loss


def test_weighted_bce_balances_the_classes() -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    labels = torch.tensor([1, 0, 0, 0])
    loss = weighted_bce(logits, labels)
    terms = [3 * math.log1p(math.exp(-2.0)), math.log1p(math.exp(-1.0)),
             math.log1p(math.exp(0.5)), math.log1p(math.exp(-3.0))]
    assert loss.item() == pytest.approx(sum(terms) / 4, rel=1e-6)
