"""One torch module per model: an embedding block plus the model's own
interaction; ``forward(x)`` maps a :class:`~sklfi.nn.SparseBatch` to
outputs ``(B, K)`` (logits, or scaled values).

None knows about sklearn, skorch or how batches are laid out: each forward
reads the :class:`~sklfi.nn.Embedded` parts of its embedding, so it reads
like the model's equation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._batch import SparseBatch
from .blocks import MLP, Dropout, Readout
from .embedding import (
    DenseFeatures,
    FeatureEmbedding,
    FieldAwareEmbedding,
    FieldEmbedding,
)
from .interaction import AttentionPooling, pairwise_dots, pairwise_products

__all__ = ["AFM", "DLRM", "DeepFM", "FFM", "FM", "NFM", "WideDeep"]


class FM(nn.Module):
    """Factorization Machine (Rendle, 2010).

    ``y = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j`` over every pair of
    non-zero features, in ``O(N D)`` (:class:`FeatureEmbedding`).

    Parameters
    ----------
    n_features : int
    embedding_dim : int
    n_outputs : int
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
    """

    def __init__(
        self,
        n_features: int,
        embedding_dim: int = 8,
        n_outputs: int = 1,
        sparse: bool = False,
    ):
        super().__init__()
        self.embedding = FeatureEmbedding(
            n_features, embedding_dim, n_outputs, sparse=sparse
        )
        self.readout = Readout(embedding_dim, n_outputs)

    def forward(self, x: SparseBatch) -> Tensor:
        e = self.embedding(x)
        return e.linear + self.readout(e.pairs)


class FFM(nn.Module):
    """Field-aware Factorization Machine (Juan et al., 2016).

    Every feature has one latent vector per field:
    ``y = w0 + sum_i w_i x_i + sum_{i<j} <w_{i,f_j}, w_{j,f_i}> x_i x_j``
    (:class:`FieldAwareEmbedding`).

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    embedding_dim : int
    n_outputs : int
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int = 4,
        n_outputs: int = 1,
        sparse: bool = False,
    ):
        super().__init__()
        self.embedding = FieldAwareEmbedding(
            field_index, n_fields, embedding_dim, n_outputs, sparse=sparse
        )
        self.readout = Readout(embedding_dim, n_outputs)

    def forward(self, x: SparseBatch) -> Tensor:
        e = self.embedding(x)
        return e.linear + self.readout(e.pairs)


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
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int = 8,
        attention_dim: int = 8,
        dropout: float = 0.0,
        n_outputs: int = 1,
        sparse: bool = False,
    ):
        super().__init__()
        self.embedding = FieldEmbedding(
            field_index, n_fields, embedding_dim, n_outputs, sparse=sparse
        )
        self.dropout = Dropout(dropout)
        self.attention = AttentionPooling(embedding_dim, attention_dim)
        self.projection = nn.Linear(embedding_dim, n_outputs, bias=False)

    def pair_weights(self, x: SparseBatch) -> Tensor:
        """Attention weight of every field pair, ``(B, P)``."""
        return self.attention.weights(pairwise_products(self.embedding(x).fields))

    def forward(self, x: SparseBatch) -> Tensor:
        e = self.embedding(x)
        pairs = self.dropout(pairwise_products(e.fields))
        return e.linear + self.projection(self.attention(pairs))


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
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
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
        sparse: bool = False,
    ):
        super().__init__()
        self.embedding = FieldEmbedding(
            field_index, n_fields, embedding_dim, n_outputs, sparse=sparse
        )
        self.register_buffer("deep_fields", torch.as_tensor(deep_fields).long())
        # every field deep: no selection (a copy: 180 us against 57 us for
        # flattening a 4096-row batch) needed
        self.all_deep = torch.equal(self.deep_fields, torch.arange(n_fields))
        self.deep = MLP(
            len(deep_fields) * embedding_dim,
            hidden_layer_sizes,
            dropout,
            batch_norm,
            n_outputs,
        )

    def forward(self, x: SparseBatch) -> Tensor:
        e = self.embedding(x)
        deep = e.fields if self.all_deep else e.fields.index_select(1, self.deep_fields)
        return e.linear + self.deep(deep.flatten(1))


class DeepFM(nn.Module):
    """DeepFM (Guo et al., 2017): an FM and an MLP sharing one embedding.

    The FM part runs over every non-zero feature; the deep part is an MLP
    over the concatenated field embeddings ``e_f = sum_{i in f} x_i v_i``.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    embedding_dim : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    n_outputs : int
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
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
        sparse: bool = False,
    ):
        super().__init__()
        self.embedding = FieldEmbedding(
            field_index, n_fields, embedding_dim, n_outputs, sparse=sparse
        )
        self.readout = Readout(embedding_dim, n_outputs)
        self.deep = MLP(
            n_fields * embedding_dim, hidden_layer_sizes, dropout, batch_norm, n_outputs
        )

    def forward(self, x: SparseBatch) -> Tensor:
        e = self.embedding(x, pairs=True)
        return e.linear + self.readout(e.pairs) + self.deep(e.fields.flatten(1))


class NFM(nn.Module):
    """Neural Factorization Machine (He & Chua, 2017).

    ``y = w0 + sum_i w_i x_i + MLP(BiInteraction(x))``, the Bi-Interaction
    vector ``sum_{i<j} x_i v_i * x_j v_j`` going through optional batch norm
    and dropout, then the MLP.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    n_outputs : int
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
    """

    def __init__(
        self,
        n_features: int,
        embedding_dim: int = 8,
        hidden_layer_sizes=(64,),
        dropout: float = 0.0,
        batch_norm: bool = False,
        n_outputs: int = 1,
        sparse: bool = False,
    ):
        super().__init__()
        self.embedding = FeatureEmbedding(
            n_features, embedding_dim, n_outputs, sparse=sparse
        )
        self.pooling_norm = (
            nn.BatchNorm1d(embedding_dim) if batch_norm else nn.Identity()
        )
        self.dropout = Dropout(dropout)
        self.mlp = MLP(
            embedding_dim, hidden_layer_sizes, dropout, batch_norm, n_outputs
        )

    def forward(self, x: SparseBatch) -> Tensor:
        e = self.embedding(x)
        return e.linear + self.mlp(self.dropout(self.pooling_norm(e.pairs)))


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
    sparse : bool
        Sparse gradients for the embedding table (:class:`FeatureEmbedding`).
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
        sparse: bool = False,
    ):
        super().__init__()
        if interaction not in ("dot", "cat"):
            raise ValueError(
                f"interaction must be 'dot' or 'cat', got {interaction!r}."
            )
        numeric = torch.zeros(n_fields, dtype=torch.bool)
        numeric[list(numeric_fields)] = True
        field_index = torch.as_tensor(field_index).long()
        self.embedding = FieldEmbedding(
            field_index, n_fields, embedding_dim, 0, sparse=sparse
        )
        self.register_buffer("sparse_fields", torch.nonzero(~numeric).flatten())
        dense_columns = torch.nonzero(numeric[field_index]).flatten()
        self.dense = DenseFeatures(dense_columns, len(field_index))
        self.bottom = None
        if len(dense_columns):
            sizes = (*bottom_layer_sizes, embedding_dim)
            self.bottom = MLP(len(dense_columns), sizes, 0.0, batch_norm)
        self.interaction = interaction
        n_vectors = len(self.sparse_fields) + (self.bottom is not None)
        if interaction == "dot" and self.bottom is None and n_vectors < 2:
            raise ValueError(
                "DLRM's dot interaction needs two vectors or more, or numeric "
                "fields: with one embedded field and no numeric field there is "
                "no pair to take a dot product of, and it would predict a "
                "constant. Add fields, or use interaction='cat'."
            )
        if interaction == "dot":
            top_in = n_vectors * (n_vectors - 1) // 2
            top_in += embedding_dim if self.bottom is not None else 0
        else:
            top_in = n_vectors * embedding_dim
        self.top = MLP(top_in, hidden_layer_sizes, dropout, batch_norm, n_outputs)

    def forward(self, x: SparseBatch) -> Tensor:
        vectors = self.embedding(x).fields.index_select(1, self.sparse_fields)
        if self.bottom is not None:
            z = self.bottom(self.dense(x))  # (B, D)
            vectors = torch.cat([z.unsqueeze(1), vectors], 1)
        if self.interaction == "cat":
            return self.top(vectors.flatten(1))
        dots = pairwise_dots(vectors)
        if self.bottom is not None:
            dots = torch.cat([z, dots], 1)
        return self.top(dots)
