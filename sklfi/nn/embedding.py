"""Embedding blocks: a batch of sparse rows -> the named parts a model reads.

Every block holds one table with, for every column ``i``, its latent
vector(s) and ``K`` linear weights ``w_i`` (plus ``K`` biases ``w_0``), so
that one lookup per batch serves the interactions and the linear term and
the table receives one gradient scatter per step. Models never slice the
table: they read an :class:`Embedded`.

Shapes: ``B`` rows, ``N`` non-zeros, ``F`` fields, ``D`` embedding
dimension, ``K`` outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._batch import SparseBatch
from ._segment import add_rows, row_sum, segment_sum, unit_sum
from .interaction import bi_interaction

__all__ = [
    "DenseFeatures",
    "Embedded",
    "FeatureEmbedding",
    "FieldAwareEmbedding",
    "FieldEmbedding",
]


@dataclass
class Embedded:
    """The parts of a batch's embedding, for ``B`` rows.

    Attributes
    ----------
    linear : Tensor of shape (B, K) or None
        The linear term ``w_0 + sum_i x_i w_i`` (``None`` for ``K = 0``).
    fields : Tensor of shape (B, F, D) or None
        The field embeddings ``e_f = sum_{i in f} x_i v_i`` (field blocks).
    pairs : Tensor of shape (B, D) or None
        The pair-interaction vector: ``sum_{i<j} x_i v_i * x_j v_j`` (NFM's
        Bi-Interaction; summed over ``D``, FM's pair term), or its
        field-aware form for :class:`FieldAwareEmbedding`.
    """

    linear: Tensor | None
    fields: Tensor | None = None
    pairs: Tensor | None = None


class _Intercept(nn.Module):
    """A bias in a module of its own: DDP takes every parameter of a module
    that is a sparse ``nn.Embedding`` for one with a sparse gradient."""

    def __init__(self, n_outputs: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_outputs))


class FeatureEmbedding(nn.Embedding):
    """A latent vector ``v_i`` and a linear model: the inputs of FM and NFM.

    ``forward`` gives the linear term and the pair vector
    ``sum_{i<j} x_i v_i * x_j v_j = ((sum_i x_i v_i)^2 - sum_i (x_i v_i)^2) / 2``
    over every non-zero of a row, in ``O(N D)``.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
        ``D``.
    n_outputs : int, default=1
        ``K``, the linear weights per column (0 for none).
    init_std : float, default=0.01
        Standard deviation of the vectors' normal initialisation (the linear
        weights and biases start at zero).
    sparse : bool, default=False
        Give the table a sparse gradient, holding only the rows of the batch,
        for an optimizer that updates only those (:class:`LazyAdamW`): the
        cost of a step then does not grow with the number of columns.

    Notes
    -----
    The class is an :class:`torch.nn.Embedding` (with its own table layout
    and forward) for PyTorch's DistributedDataParallel, which expects sparse
    gradients only from the parameters of an ``nn.Embedding`` whose
    ``sparse`` is true; the bias is in a child module.
    """

    def __init__(
        self,
        n_features: int,
        embedding_dim: int,
        n_outputs: int = 1,
        init_std: float = 0.01,
        sparse: bool = False,
    ):
        nn.Module.__init__(self)  # (not nn.Embedding's: the table is ours)
        self.num_embeddings, self.embedding_dim = n_features, embedding_dim
        self.n_outputs, self.sparse = n_outputs, sparse
        self.padding_idx = self.max_norm = None  # (read by nn.Embedding's repr)
        self.norm_type, self.scale_grad_by_freq = 2.0, False
        self._width = embedding_dim  # of the vectors in a row of the table
        self.init_std = init_std
        self.weight = nn.Parameter(torch.empty(n_features, embedding_dim + n_outputs))
        # (none without a linear term: DDP refuses a parameter with no grad)
        self.intercept = _Intercept(n_outputs) if n_outputs else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Vectors drawn from N(0, init_std**2); linear weights and bias 0
        (in place of ``nn.Embedding``'s N(0, 1) over the whole table)."""
        with torch.no_grad():
            self.weight.zero_()
            nn.init.normal_(self.weight[:, : self._width], std=self.init_std)
            if self.intercept is not None:
                self.intercept.bias.zero_()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # parameters saved before the bias had its own module
        if prefix + "bias" in state_dict:
            state_dict[prefix + "intercept.bias"] = state_dict.pop(prefix + "bias")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def bias(self) -> nn.Parameter | None:
        """The linear term's bias, ``(K,)`` (``None`` when ``K`` is 0)."""
        return None if self.intercept is None else self.intercept.bias

    def _split(self, t: Tensor) -> tuple[Tensor, Tensor | None]:
        """Vectors and linear parts of the last dimension of ``t`` (views)."""
        if not self.n_outputs:
            return t, None
        # (the op itself: ``Tensor.split``'s Python wrapper costs as much)
        return t.split_with_sizes((self._width, self.n_outputs), -1)

    def _entries(self, x: SparseBatch) -> Tensor:
        """``x_i [v_i, w_i]`` of every non-zero: ``(N, D + K)``."""
        return segment_sum(self.weight, None, None, x.idx, x.val, self.sparse)

    def forward(self, x: SparseBatch) -> Embedded:
        e = self._entries(x)
        total, linear = self._split(unit_sum(row_sum(e, x), x))
        squares = unit_sum(row_sum(self._split(e)[0].square(), x), x)
        linear = None if linear is None else self.bias + linear
        return Embedded(linear, pairs=bi_interaction(total, squares))


class FieldEmbedding(FeatureEmbedding):
    """Field embeddings ``e_f = sum_{i in f} x_i v_i`` and a linear model.

    The embedding of a categorical field is the vector of its active
    category; of a multi-valued field, the sum over its items (give values
    ``1/n`` for a mean); of a numeric field, ``x v``; zero when the row has
    no non-zero in the field. One ``embedding_bag`` over the batch's
    (row, field) slots (:meth:`SparseBatch.by_field`) does lookup, value
    scaling and sum.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
        Field id of every column.
    n_fields : int
        ``F``.
    embedding_dim : int
    n_outputs : int, default=1
    init_std : float, default=0.01
    sparse : bool, default=False
        As for :class:`FeatureEmbedding`.
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int,
        n_outputs: int = 1,
        init_std: float = 0.01,
        sparse: bool = False,
    ):
        super().__init__(len(field_index), embedding_dim, n_outputs, init_std, sparse)
        self.n_fields = n_fields
        self.register_buffer("field_index", torch.as_tensor(field_index).long())

    def _pool(self, g: SparseBatch, v: Tensor, idx=None, val=None) -> Tensor:
        """:func:`segment_sum` over the (row, field) slots of a batch ``g``
        grouped by field: ``(B, F, C)``."""
        sparse = self.sparse and idx is not None  # (a lookup in the table)
        pooled = segment_sum(v, g.slot_offsets, g.slot, idx, val, sparse)
        return unit_sum(pooled.view(g.n_units, self.n_fields, -1), g)

    def forward(self, x: SparseBatch, pairs: bool = False) -> Embedded:
        """The linear term and field embeddings; with ``pairs``, also the
        pair vector over every non-zero (pairs inside a multi-valued field
        included), for one more sum over the non-zeros."""
        g = x.by_field(self.field_index, self.n_fields)
        if not pairs:
            fields, linear = self._split(self._pool(g, self.weight, g.idx, g.val))
            return Embedded(self._linear(linear), fields)
        e = self._entries(g)
        fields, linear = self._split(self._pool(g, e))
        squares = unit_sum(row_sum(self._split(e)[0].square(), g), g)
        pair = bi_interaction(fields.sum(1), squares)
        return Embedded(self._linear(linear), fields, pair)

    def _linear(self, per_field: Tensor | None) -> Tensor | None:
        """The linear term from its per-field sums ``(B, F, K)``."""
        return None if per_field is None else self.bias + per_field.sum(1)


class FieldAwareEmbedding(FieldEmbedding):
    """One latent vector per (column, field) and a linear model: FFM's input.

    Column ``i`` has a vector ``w_{i,g}`` for every field ``g``, used in its
    pairs with the columns of field ``g``. ``forward`` gives the linear term
    and the field-aware pair vector
    ``sum_{i<j} x_i w_{i,f_j} * x_j w_{j,f_i}`` ``(B, D)``. With
    ``E_fg = sum_{i in f} x_i w_{i,g}`` (``(B, F, F, D)``) it is
    ``(sum_{f,g} E_fg * E_gf - sum_i (x_i w_{i,f_i})^2) / 2``, which counts
    the pairs inside a multi-valued field too, in ``O(N F D + F^2 D)``.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
    n_fields : int
    embedding_dim : int
        ``D``, the size of each of a column's ``F`` vectors.
    n_outputs : int, default=1
    init_std : float, default=0.01
    sparse : bool, default=False
        As for :class:`FeatureEmbedding`.
    """

    def __init__(
        self,
        field_index: Tensor,
        n_fields: int,
        embedding_dim: int,
        n_outputs: int = 1,
        init_std: float = 0.01,
        sparse: bool = False,
    ):
        super().__init__(
            field_index, n_fields, n_fields * embedding_dim, n_outputs, init_std,
            sparse,
        )  # fmt: skip
        self.embedding_dim = embedding_dim  # (and the table's width F D)

    def forward(self, x: SparseBatch) -> Embedded:
        F, D = self.n_fields, self.embedding_dim
        g = x.by_field(self.field_index, F)
        E, linear = self._split(self._pool(g, self.weight, g.idx, g.val))
        E = E.unflatten(2, (F, D))  # E[b, f, g] = sum_{i in f} x_i w_{i,g}
        cross = (E * E.transpose(1, 2)).sum((1, 2))  # (B, D)
        # x_i w_{i,f_i}, every non-zero's vector for its own field: (N, D)
        if g.slot is None:  # one non-zero per slot: E_ff, in slot order
            own = E.diagonal(0, 1, 2).transpose(1, 2).reshape(-1, D)
        elif self.sparse:  # the rows gathered, for a sparse gradient
            rows = self._split(self._entries(g))[0].unflatten(1, (F, D))
            at = torch.arange(len(g.idx), device=g.idx.device)
            own = rows[at, self.field_index[g.idx]]
        else:  # looked up alone (the rows of F vectors are never gathered)
            table = self._split(self.weight)[0].unflatten(1, (F, D))
            own = table[g.idx, self.field_index.index_select(0, g.idx)]
            if g.val is not None:
                own = own * g.val.unsqueeze(-1)
        # (a row gets the same sums on both paths, to the last bit)
        pairs = 0.5 * (cross - unit_sum(row_sum(own.square(), g), g))
        return Embedded(self._linear(linear), pairs=pairs)


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
        slot = torch.full((n_features,), self.n_dense, dtype=torch.long)
        slot[dense_columns] = torch.arange(self.n_dense)
        self.register_buffer("slot", slot)  # other columns -> extra slot, dropped
        # the values of a one-hot batch, in the module's float dtype
        self.register_buffer("one", torch.ones(()))

    def forward(self, x: SparseBatch) -> Tensor:
        flat = x.row * (self.n_dense + 1) + self.slot.index_select(0, x.idx)
        val = self.one.expand(len(x.idx)) if x.val is None else x.val
        out = val.new_zeros(x.n_units * (self.n_dense + 1))
        out = add_rows(out, flat, val).view(x.n_units, self.n_dense + 1)
        return unit_sum(out[:, : self.n_dense], x)
