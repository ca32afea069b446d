"""Interaction blocks: how field or feature embeddings meet.

Shapes: ``B`` rows, ``F`` fields, ``D`` embedding dimension,
``P = F (F - 1) / 2`` field pairs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._segment import kept_tensors

__all__ = [
    "AttentionPooling",
    "bi_interaction",
    "pair_indices",
    "pairwise_dots",
    "pairwise_products",
]


def bi_interaction(total: Tensor, total_sq: Tensor) -> Tensor:
    """Sum of the element-wise products of all pairs of vectors of a row.

    ``sum_{i<j} v_i * v_j = ((sum_i v_i)^2 - sum_i v_i^2) / 2``, from the sum
    ``total`` and the sum of squares ``total_sq`` of the row's vectors (both
    ``(B, D)``), so the pairs cost ``O(N D)``. Summed over ``D`` it is FM's
    second-order term; as a vector it is NFM's Bi-Interaction pooling.
    """
    return 0.5 * (total.square() - total_sq)


def pair_indices(n_fields: int, device=None) -> tuple[Tensor, Tensor]:
    """Indices ``(i, j)``, ``i < j``, of the ``P`` field pairs, row-major."""
    return torch.triu_indices(n_fields, n_fields, offset=1, device=device).unbind(0)


@kept_tensors
def _pairs(n_fields: int, device) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`pair_indices`, and the pairs' positions in a flattened
    ``(F, F)`` matrix (kept: :func:`~sklfi.nn._segment.kept_tensors`)."""
    i, j = pair_indices(n_fields, device)
    return i, j, i * n_fields + j


def pairwise_products(e: Tensor) -> Tensor:
    """Element-wise products of all field pairs: ``(B, F, D) -> (B, P, D)``."""
    i, j, _ = _pairs(e.shape[1], e.device)
    return _fields(e, i) * _fields(e, j)


def _fields(e: Tensor, i: Tensor) -> Tensor:
    """``e[:, i]``. A field is in many pairs: the gradient adds up its pairs'.
    On a GPU, ``index_select``'s backward adds them with atomics, in an order
    that changes from run to run, and indexing's sorts them first (the same
    sums every run); on the CPU ``index_select`` is deterministic, and 1.3
    times faster."""
    return e[:, i] if e.is_cuda else e.index_select(1, i)


def pairwise_dots(e: Tensor) -> Tensor:
    """Dot products of all field pairs: ``(B, F, D) -> (B, P)``."""
    flat = _pairs(e.shape[1], e.device)[2]
    return torch.bmm(e, e.transpose(1, 2)).flatten(1).index_select(1, flat)


class AttentionPooling(nn.Module):
    """Attention-weighted sum of pair vectors (Xiao et al., 2017).

    ``a = softmax_P(h^T ReLU(W p + b))``, output ``sum_P a_p p``:
    ``(B, P, D) -> (B, D)``; :meth:`weights` returns ``a`` ``(B, P)``.

    Parameters
    ----------
    embedding_dim : int
    attention_dim : int
        Size of the attention network's hidden layer.
    """

    def __init__(self, embedding_dim: int, attention_dim: int):
        super().__init__()
        self.hidden = nn.Linear(embedding_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def weights(self, pairs: Tensor) -> Tensor:
        return torch.softmax(self.score(torch.relu(self.hidden(pairs))).squeeze(-1), 1)

    def forward(self, pairs: Tensor) -> Tensor:
        return (self.weights(pairs).unsqueeze(-1) * pairs).sum(1)
