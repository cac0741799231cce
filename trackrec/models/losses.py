"""Training losses: class-weighted binary cross-entropy and the object-condensation loss."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def weighted_bce(logits: Tensor, labels: Tensor, *, pos_weight: float | None = None) -> Tensor:
    """Binary cross-entropy with true edges weighted by ``pos_weight``.

    ``None`` weights them by the false/true ratio of the batch, so both classes count equally.
    """
    labels = labels.to(logits.dtype)
    if pos_weight is None:
        n_pos = labels.sum()
        pos_weight = float((labels.numel() - n_pos) / n_pos.clamp(min=1.0))
    weight = torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight)


def condensation_loss(coords: Tensor, beta: Tensor, object_id: Tensor, *, q_min: float = 0.1,
                      noise_weight: float = 1.0, chunk: int = 4096
                      ) -> tuple[Tensor, Tensor, Tensor]:
    r"""Object-condensation potential loss and beta loss (Kieseler 2020, eqs. 1-5).

    ``object_id`` is ``-1`` for noise (hits that belong to no object) and ``0 .. K-1``
    otherwise. With charge :math:`q_i = \mathrm{artanh}^2 \beta_i + q_{min}` and
    :math:`\alpha_k` the hit of object :math:`k` of largest :math:`q` (its condensation
    point):

    .. math::
        L_V &= \frac{1}{N} \sum_i q_i \sum_k q_{\alpha_k} \Big( M_{ik}
               \lVert c_i - c_{\alpha_k} \rVert^2
               + (1 - M_{ik}) \max\big(0, 1 - \lVert c_i - c_{\alpha_k} \rVert\big) \Big) \\
        L_\beta &= \frac{1}{K} \sum_k (1 - \beta_{\alpha_k})
                   + s_B \frac{1}{N_B} \sum_{i \in \text{noise}} \beta_i

    :math:`M_{ik} = 1` when hit :math:`i` belongs to object :math:`k`. The repulsion runs
    over hits in chunks of ``chunk`` (memory ``chunk x K``).

    Returns ``(L_V + L_beta, L_V, L_beta)``.
    """
    n = coords.size(0)
    beta = beta.clamp(max=1.0 - 1e-4)
    q = torch.atanh(beta) ** 2 + q_min
    is_object = object_id >= 0
    n_objects = int(object_id.max().item()) + 1 if bool(is_object.any()) else 0
    zero = coords.sum() * 0.0
    if n_objects == 0:
        noise_term = beta.mean() * noise_weight if n else zero
        return noise_term, zero, noise_term
    ids = object_id[is_object]
    # condensation point of each object: the hit of largest q (ties: first hit)
    q_obj = q[is_object].detach()
    best = torch.full((n_objects,), -1.0, dtype=q.dtype, device=q.device)
    best = best.scatter_reduce(0, ids, q_obj, reduce="amax")
    positions = torch.nonzero(is_object).squeeze(1)
    candidates = torch.where(q_obj == best[ids], positions, torch.full_like(positions, n))
    alpha = torch.full((n_objects,), n, dtype=torch.long, device=q.device)
    alpha = alpha.scatter_reduce(0, ids, candidates, reduce="amin")
    present = alpha < n  # ids without hits (unused numbers) have no condensation point
    alpha = alpha[present]
    index_of = torch.full((n_objects,), -1, dtype=torch.long, device=q.device)
    index_of[present] = torch.arange(int(present.sum()), device=q.device)
    c_alpha, q_alpha = coords[alpha], q[alpha]

    own = torch.full_like(object_id, -1)
    own[is_object] = index_of[ids]
    attraction = (q[is_object] * q_alpha[own[is_object]]
                  * (coords[is_object] - c_alpha[own[is_object]]).pow(2).sum(-1)).sum()
    repulsion = zero
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        distance = torch.cdist(coords[start:stop], c_alpha)  # (chunk, K)
        hinge = torch.relu(1.0 - distance) * q_alpha
        mine = own[start:stop]
        hinge = hinge.masked_fill(
            torch.arange(len(alpha), device=q.device)[None, :] == mine[:, None], 0.0)
        repulsion = repulsion + (q[start:stop] * hinge.sum(-1)).sum()
    potential = (attraction + repulsion) / n
    beta_loss = (1.0 - beta[alpha]).mean()
    noise = ~is_object
    if bool(noise.any()):
        beta_loss = beta_loss + noise_weight * beta[noise].mean()
    return potential + beta_loss, potential, beta_loss
