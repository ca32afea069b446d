"""Torch building blocks shared by the models.

Shapes: ``B`` batch, ``L`` non-zeros per row (padded), ``F`` fields, ``D``
embedding dimension, ``P = F (F - 1) / 2`` field pairs, ``K`` outputs.

Every block reads a batch as ``(idx, val)``: padded column indices and values
of shape ``(B, L)``, where index ``n_features`` is padding (its embedding row is
zero and its value 0).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = [
    "AttentionPooling",
    "DenseFeatures",
    "FeatureEmbedding",
    "FieldEmbedding",
    "LinearTerm",
    "MLP",
    "Readout",
    "bi_interaction",
    "pair_indices",
    "pairwise_products",
    "pairwise_dots",
]


class LinearTerm(nn.Module):
    """First-order term ``b + sum_i w_i x_i``: ``(B, L) -> (B, K)``."""

    def __init__(self, n_features: int, n_outputs: int = 1):
        super().__init__()
        self.weight = nn.Embedding(n_features + 1, n_outputs, padding_idx=n_features)
        nn.init.zeros_(self.weight.weight)
        self.bias = nn.Parameter(torch.zeros(n_outputs))

    def forward(self, idx: Tensor, val: Tensor) -> Tensor:
        return (self.weight(idx) * val.unsqueeze(-1)).sum(1) + self.bias


class FeatureEmbedding(nn.Module):
    """Value-scaled embedding of every non-zero ``x_i v_i``: ``(B, L) -> (B, L, D)``.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
    init_std : float
        Standard deviation of the normal initialisation.
    """

    def __init__(self, n_features: int, embedding_dim: int, init_std: float = 0.01):
        super().__init__()
        self.weight = nn.Embedding(
            n_features + 1, embedding_dim, padding_idx=n_features
        )
        nn.init.normal_(self.weight.weight, std=init_std)
        with torch.no_grad():
            self.weight.weight[n_features].zero_()

    def entries(self, idx: Tensor, val: Tensor) -> Tensor:
        return self.weight(idx) * val.unsqueeze(-1)

    forward = entries


class FieldEmbedding(FeatureEmbedding):
    """Per-field sums of value-scaled embeddings: ``(B, L) -> (B, F, D)``.

    The embedding of field ``f`` is ``e_f = sum_{i in f} x_i v_i``: the vector
    of the active category of a categorical field, the sum over the items of a
    multi-valued field (give values ``1/n`` for a mean), ``x v`` for a numeric
    field, and zero when the row has no non-zero in the field.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
        Field id of every column.
    embedding_dim : int
    n_fields : int
    init_std : float
    """

    def __init__(
        self,
        field_index: Tensor,
        embedding_dim: int,
        n_fields: int,
        init_std: float = 0.01,
    ):
        super().__init__(len(field_index), embedding_dim, init_std)
        self.n_fields = n_fields
        # field of every column, padding column -> extra slot F that is dropped
        self.register_buffer(
            "field_of", torch.cat([field_index.long(), torch.tensor([n_fields])])
        )

    def pool(self, v: Tensor, idx: Tensor) -> Tensor:
        """Sum the entry embeddings ``v`` (B, L, ...) of each field: (B, F, ...)."""
        B, L = idx.shape
        fld = self.field_of[idx].view(B, L, *([1] * (v.dim() - 2)))
        out = v.new_zeros(B, self.n_fields + 1, *v.shape[2:])
        return out.scatter_add_(1, fld.expand_as(v), v)[:, : self.n_fields]

    def forward(self, idx: Tensor, val: Tensor) -> Tensor:
        return self.pool(self.entries(idx, val), idx)


def bi_interaction(v: Tensor) -> Tensor:
    """Sum of the element-wise products of all pairs of rows of ``v``.

    ``sum_{i<j} v_i * v_j = ((sum_i v_i)^2 - sum_i v_i^2) / 2`` in ``O(L D)``:
    ``(B, L, D) -> (B, D)``. Summed over ``D`` it is FM's second-order term;
    as a vector it is NFM's Bi-Interaction pooling.
    """
    return 0.5 * (v.sum(1).square() - v.square().sum(1))


def pair_indices(n_fields: int, device=None) -> tuple[Tensor, Tensor]:
    """Row and column indices ``(i, j)``, ``i < j``, of the ``P`` field pairs."""
    return torch.triu_indices(n_fields, n_fields, offset=1, device=device).unbind(0)


def pairwise_products(e: Tensor) -> Tensor:
    """Element-wise products of all field pairs: ``(B, F, D) -> (B, P, D)``."""
    i, j = pair_indices(e.shape[1], e.device)
    return e[:, i] * e[:, j]


def pairwise_dots(e: Tensor) -> Tensor:
    """Dot products of all field pairs: ``(B, F, D) -> (B, P)``."""
    i, j = pair_indices(e.shape[1], e.device)
    return torch.bmm(e, e.transpose(1, 2))[:, i, j]


class Readout(nn.Module):
    """Map an interaction vector to the outputs: ``(B, D) -> (B, K)``.

    With one output it is the plain sum over ``D`` (the exact FM term); with
    ``K`` outputs each output weighs the ``D`` dimensions with its own vector,
    initialised to ones.
    """

    def __init__(self, dim: int, n_outputs: int = 1):
        super().__init__()
        self.weight = (
            nn.Parameter(torch.ones(dim, n_outputs)) if n_outputs > 1 else None
        )

    def forward(self, h: Tensor) -> Tensor:
        if self.weight is None:
            return h.sum(-1, keepdim=True)
        return h @ self.weight


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


class DenseFeatures(nn.Module):
    """Values of the numeric columns as a dense ``(B, n_dense)`` tensor.

    Parameters
    ----------
    dense_columns : LongTensor
        Indices of the numeric columns.
    n_features : int
    """

    def __init__(self, dense_columns: Tensor, n_features: int):
        super().__init__()
        self.n_dense = len(dense_columns)
        slot = torch.full((n_features + 1,), self.n_dense, dtype=torch.long)
        slot[dense_columns] = torch.arange(self.n_dense)
        self.register_buffer("slot", slot)  # other columns -> extra slot, dropped

    def forward(self, idx: Tensor, val: Tensor) -> Tensor:
        out = val.new_zeros(idx.shape[0], self.n_dense + 1)
        return out.scatter_add_(1, self.slot[idx], val)[:, : self.n_dense]


class MLP(nn.Sequential):
    """Fully connected ReLU layers, each optionally with batch norm and dropout.

    Parameters
    ----------
    in_features : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    out_features : int or None
        Size of a final linear layer without activation; ``None`` for none.
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes=(),
        dropout: float = 0.0,
        batch_norm: bool = False,
        out_features: int | None = None,
    ):
        layers: list[nn.Module] = []
        for size in hidden_layer_sizes:
            layers.append(nn.Linear(in_features, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_features = size
        if out_features is not None:
            layers.append(nn.Linear(in_features, out_features))
        super().__init__(*layers)
        self.out_features = in_features if out_features is None else out_features
