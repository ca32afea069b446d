"""One torch module per model; ``forward(idx, val)`` returns logits ``(B, K)``.

Each module is a composition of the blocks in :mod:`sklfi.nn.layers`; none
knows about sklearn or skorch.
"""

from __future__ import annotations

from torch import Tensor, nn

from .layers import (
    FeatureEmbedding,
    FieldEmbedding,
    LinearTerm,
    Readout,
    bi_interaction,
)

__all__ = ["FM", "FFM"]


class FM(nn.Module):
    """Factorization Machine (Rendle, 2010).

    ``y = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j`` over every pair of
    non-zero features, computed in ``O(L D)`` with :func:`bi_interaction`.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
    n_outputs : int
    """

    def __init__(self, n_features: int, embedding_dim: int = 8, n_outputs: int = 1):
        super().__init__()
        self.linear = LinearTerm(n_features, n_outputs)
        self.embedding = FeatureEmbedding(n_features, embedding_dim)
        self.readout = Readout(embedding_dim, n_outputs)

    def forward(self, idx: Tensor, val: Tensor) -> Tensor:
        v = self.embedding(idx, val)  # (B, L, D)
        return self.linear(idx, val) + self.readout(bi_interaction(v))


class FFM(nn.Module):
    """Field-aware Factorization Machine (Juan et al., 2016).

    Every feature has one latent vector per field:
    ``y = w0 + sum_i w_i x_i + sum_{i<j} <w_{i,f_j}, w_{j,f_i}> x_i x_j``.
    With ``E_fg = sum_{i in f} x_i w_{i,g}`` (shape ``(B, F, F, D)``) the pair
    sum is ``(sum_{f,g} <E_fg, E_gf> - sum_i x_i^2 |w_{i,f_i}|^2) / 2``, which
    counts pairs inside a multi-valued field too, in ``O(L F D + F^2 D)``.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    embedding_dim : int
    n_outputs : int
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int = 4,
        n_outputs: int = 1,
    ):
        super().__init__()
        n_features = len(field_index)
        self.n_fields, self.embedding_dim = n_fields, embedding_dim
        self.linear = LinearTerm(n_features, n_outputs)
        self.embedding = FieldEmbedding(field_index, n_fields * embedding_dim, n_fields)
        self.readout = Readout(embedding_dim, n_outputs)

    def forward(self, idx: Tensor, val: Tensor) -> Tensor:
        B, L = idx.shape
        F, D = self.n_fields, self.embedding_dim
        w = self.embedding.entries(idx, val).view(B, L, F, D)  # x_i w_{i,g}
        E = self.embedding.pool(w, idx)  # (B, F, F, D)
        cross = (E * E.transpose(1, 2)).sum((1, 2))  # (B, D)
        own = (
            self.embedding.field_of[idx]
            .clamp(max=F - 1)
            .view(B, L, 1, 1)
            .expand(B, L, 1, D)
        )
        self_pairs = w.gather(2, own).squeeze(2).square().sum(1)  # (B, D)
        return self.linear(idx, val) + self.readout(0.5 * (cross - self_pairs))
