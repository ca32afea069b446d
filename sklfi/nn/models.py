"""One torch module per model; ``forward(x)`` maps a
:class:`~sklfi.nn.SparseBatch` to logits ``(B, K)``.

Each module is a composition of the blocks in :mod:`sklfi.nn.layers`; none
knows about sklearn or skorch. The linear weights live in the last ``K``
columns of the embedding table, so one lookup per batch serves the linear
term, the field embeddings and the FM sums alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .layers import (
    MLP,
    AttentionPooling,
    DenseFeatures,
    FeatureEmbedding,
    FieldEmbedding,
    Readout,
    SparseBatch,
    bi_interaction,
    pairwise_dots,
    pairwise_products,
    row_sum,
)

__all__ = ["AFM", "DLRM", "DeepFM", "FFM", "FM", "NFM", "WideDeep"]


class FM(nn.Module):
    """Factorization Machine (Rendle, 2010).

    ``y = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j`` over every pair of
    non-zero features, computed in ``O(N D)`` with :func:`bi_interaction`.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
    n_outputs : int
    """

    def __init__(self, n_features: int, embedding_dim: int = 8, n_outputs: int = 1):
        super().__init__()
        self.embedding = FeatureEmbedding(n_features, embedding_dim, n_outputs)
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.readout = Readout(embedding_dim, n_outputs)

    def forward(self, x: SparseBatch) -> Tensor:
        pairs, linear = self.embedding.fm_terms(x)
        return self.bias + linear + self.readout(pairs)


class FFM(nn.Module):
    """Field-aware Factorization Machine (Juan et al., 2016).

    Every feature has one latent vector per field:
    ``y = w0 + sum_i w_i x_i + sum_{i<j} <w_{i,f_j}, w_{j,f_i}> x_i x_j``.
    With ``E_fg = sum_{i in f} x_i w_{i,g}`` (shape ``(B, F, F, D)``) the pair
    sum is ``(sum_{f,g} <E_fg, E_gf> - sum_i x_i^2 |w_{i,f_i}|^2) / 2``, which
    counts pairs inside a multi-valued field too, in ``O(N F D + F^2 D)``.

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
        self.n_fields, self.embedding_dim = n_fields, embedding_dim
        self.embedding = FieldEmbedding(
            field_index, n_fields * embedding_dim, n_fields, n_outputs
        )
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.readout = Readout(embedding_dim, n_outputs)

    def forward(self, x: SparseBatch) -> Tensor:
        F, D = self.n_fields, self.embedding_dim
        E, linear = self.embedding.split(self.embedding(x))
        E = E.unflatten(2, (F, D))  # E[b, f, g] = sum_{i in f} x_i w_{i,g}
        cross = (E * E.transpose(1, 2)).sum((1, 2))  # (B, D)
        # x_i w_{i,f_i}: each non-zero's vector for its own field, (N, D)
        if x.one_per_field:  # E_ff, in the order of the non-zeros
            own = E.diagonal(0, 1, 2).transpose(1, 2).reshape(-1, D)
        else:  # looked up alone (the rows of F vectors are never gathered)
            table = self.embedding.weight[:, : F * D].unflatten(1, (F, D))
            own = table[x.idx, self.embedding.field_of.index_select(0, x.idx)]
            if x.val is not None:
                own = own * x.val.unsqueeze(-1)
        # (the same sum on both paths: a row's prediction is the same to the
        # last bit whichever path its batch takes)
        pairs = 0.5 * (cross - row_sum(own.square(), x))
        return self.bias + linear + self.readout(pairs)


class AFM(nn.Module):
    """Attentional Factorization Machine (Xiao et al., 2017).

    ``y = w0 + sum_i w_i x_i + p^T sum_{f<g} a_fg (e_f * e_g)``: the
    element-wise products of the ``P`` pairs of field embeddings, pooled with
    weights ``a`` from :class:`AttentionPooling`, projected by ``p``. Dropout
    acts on the pair products.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    embedding_dim, attention_dim : int
    dropout : float
    n_outputs : int
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int = 8,
        attention_dim: int = 8,
        dropout: float = 0.0,
        n_outputs: int = 1,
    ):
        super().__init__()
        self.embedding = FieldEmbedding(field_index, embedding_dim, n_fields, n_outputs)
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.dropout = nn.Dropout(dropout)
        self.attention = AttentionPooling(embedding_dim, attention_dim)
        self.projection = nn.Linear(embedding_dim, n_outputs, bias=False)

    def pair_weights(self, x: SparseBatch) -> Tensor:
        """Attention weight of every field pair, ``(B, P)``."""
        fields, _ = self.embedding.split(self.embedding(x))
        return self.attention.weights(pairwise_products(fields))

    def forward(self, x: SparseBatch) -> Tensor:
        fields, linear = self.embedding.split(self.embedding(x))
        pairs = self.dropout(pairwise_products(fields))
        return self.bias + linear + self.projection(self.attention(pairs))


class WideDeep(nn.Module):
    """Wide & Deep (Cheng et al., 2016).

    The log-odds of a wide linear model over every column (cross-product
    columns included) plus those of an MLP over the concatenated embeddings
    of the ``deep_fields``.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    deep_fields : sequence of int
        Fields embedded for the deep part (cross-product fields stay wide).
    embedding_dim : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    n_outputs : int
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        deep_fields,
        embedding_dim: int = 8,
        hidden_layer_sizes=(64, 32),
        dropout: float = 0.0,
        batch_norm: bool = False,
        n_outputs: int = 1,
    ):
        super().__init__()
        self.embedding = FieldEmbedding(field_index, embedding_dim, n_fields, n_outputs)
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.register_buffer("deep_fields", torch.as_tensor(deep_fields).long())
        # every field deep: no selection (a copy) needed
        self.all_deep = torch.equal(self.deep_fields, torch.arange(n_fields))
        self.deep = MLP(
            len(deep_fields) * embedding_dim,
            hidden_layer_sizes,
            dropout,
            batch_norm,
            n_outputs,
        )

    def forward(self, x: SparseBatch) -> Tensor:
        fields, linear = self.embedding.split(self.embedding(x))
        if not getattr(self, "all_deep", False):  # (absent in older pickles)
            fields = fields.index_select(1, self.deep_fields)
        deep = fields.flatten(1)
        return self.bias + linear + self.deep(deep)


class DeepFM(nn.Module):
    """DeepFM (Guo et al., 2017): an FM and an MLP sharing one embedding.

    The FM part is :class:`FM` over every non-zero feature; the deep part is an
    MLP over the concatenated field embeddings ``e_f = sum_{i in f} x_i v_i``.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    embedding_dim : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    n_outputs : int
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int = 8,
        hidden_layer_sizes=(64, 32),
        dropout: float = 0.0,
        batch_norm: bool = False,
        n_outputs: int = 1,
    ):
        super().__init__()
        self.embedding = FieldEmbedding(field_index, embedding_dim, n_fields, n_outputs)
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.readout = Readout(embedding_dim, n_outputs)
        self.deep = MLP(
            n_fields * embedding_dim, hidden_layer_sizes, dropout, batch_norm, n_outputs
        )

    def forward(self, x: SparseBatch) -> Tensor:
        D = self.embedding.embedding_dim
        e = self.embedding.entries(x)  # (N, D + K), looked up once
        fields, linear = self.embedding.split(self.embedding.pool(e, x))
        pairs = bi_interaction(fields.sum(1), row_sum(e[:, :D].square(), x))
        fm = self.bias + linear + self.readout(pairs)
        return fm + self.deep(fields.flatten(1))


class NFM(nn.Module):
    """Neural Factorization Machine (He & Chua, 2017).

    ``y = w0 + sum_i w_i x_i + MLP(BiInteraction(x))``, the Bi-Interaction
    vector ``sum_{i<j} x_i v_i * x_j v_j`` (:func:`bi_interaction`) going
    through optional batch norm and dropout, then the MLP.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    n_outputs : int
    """

    def __init__(
        self,
        n_features: int,
        embedding_dim: int = 8,
        hidden_layer_sizes=(64,),
        dropout: float = 0.0,
        batch_norm: bool = False,
        n_outputs: int = 1,
    ):
        super().__init__()
        self.embedding = FeatureEmbedding(n_features, embedding_dim, n_outputs)
        self.bias = nn.Parameter(torch.zeros(n_outputs))
        self.pooling_norm = nn.BatchNorm1d(embedding_dim) if batch_norm else None
        self.dropout = nn.Dropout(dropout)
        self.mlp = MLP(
            embedding_dim, hidden_layer_sizes, dropout, batch_norm, n_outputs
        )

    def forward(self, x: SparseBatch) -> Tensor:
        h, linear = self.embedding.fm_terms(x)
        if self.pooling_norm is not None:
            h = self.pooling_norm(h)
        return self.bias + linear + self.mlp(self.dropout(h))


class DLRM(nn.Module):
    """Deep Learning Recommendation Model (Naumov et al., 2019).

    Numeric columns go through a bottom MLP to a vector of size ``D``; the
    other fields are embedded. ``interaction="dot"`` takes the dot products
    of all pairs among these vectors and concatenates them with the bottom
    output; ``"cat"`` concatenates the vectors. A top MLP maps the result to
    the outputs.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    numeric_fields : sequence of int
        Fields whose columns are dense inputs of the bottom MLP.
    embedding_dim : int
    bottom_layer_sizes, hidden_layer_sizes : sequence of int
        Hidden layers of the bottom MLP (which ends in ``D`` units) and of the
        top MLP.
    interaction : {"dot", "cat"}
    dropout : float
    batch_norm : bool
    n_outputs : int
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        numeric_fields=(),
        embedding_dim: int = 8,
        bottom_layer_sizes=(64,),
        hidden_layer_sizes=(64, 32),
        interaction: str = "dot",
        dropout: float = 0.0,
        batch_norm: bool = False,
        n_outputs: int = 1,
    ):
        super().__init__()
        numeric = torch.zeros(n_fields, dtype=torch.bool)
        numeric[list(numeric_fields)] = True
        self.embedding = FieldEmbedding(field_index, embedding_dim, n_fields)
        self.register_buffer("sparse_fields", torch.nonzero(~numeric).flatten())
        dense_columns = torch.nonzero(numeric[field_index.long()]).flatten()
        self.dense = DenseFeatures(dense_columns, len(field_index))
        self.bottom = None
        if len(dense_columns):
            sizes = (*bottom_layer_sizes, embedding_dim)
            self.bottom = MLP(len(dense_columns), sizes, 0.0, batch_norm)
        self.interaction = interaction
        n_vectors = len(self.sparse_fields) + (self.bottom is not None)
        if interaction == "dot":
            top_in = n_vectors * (n_vectors - 1) // 2
            top_in += embedding_dim if self.bottom is not None else 0
        else:
            top_in = n_vectors * embedding_dim
        self.top = MLP(top_in, hidden_layer_sizes, dropout, batch_norm, n_outputs)

    def forward(self, x: SparseBatch) -> Tensor:
        vectors = self.embedding(x).index_select(1, self.sparse_fields)  # (B, F_s, D)
        if self.bottom is not None:
            z = self.bottom(self.dense(x))  # (B, D)
            vectors = torch.cat([z.unsqueeze(1), vectors], 1)
        if self.interaction == "cat":
            return self.top(vectors.flatten(1))
        dots = pairwise_dots(vectors)
        if self.bottom is not None:
            dots = torch.cat([z, dots], 1)
        return self.top(dots)
