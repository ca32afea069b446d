"""Torch building blocks shared by the models.

Shapes: ``B`` rows in the batch, ``N`` non-zeros in the batch, ``F`` fields,
``D`` embedding dimension, ``P = F (F - 1) / 2`` field pairs, ``K`` outputs.

Every model reads a batch as a :class:`SparseBatch`: the non-zeros of ``B``
rows of a sparse matrix in CSR order, so that work is proportional to the
number of non-zeros, however unequal the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "AttentionPooling",
    "DenseFeatures",
    "FeatureEmbedding",
    "FieldEmbedding",
    "MLP",
    "Readout",
    "SparseBatch",
    "bi_interaction",
    "one_per_field",
    "pair_indices",
    "pairwise_dots",
    "pairwise_products",
    "row_sum",
    "segment_sum",
]


@dataclass
class SparseBatch:
    """The non-zeros of ``B`` rows of a sparse matrix, in CSR order.

    Attributes
    ----------
    idx : IntTensor or LongTensor of shape (N,)
        Column of every non-zero.
    val : FloatTensor of shape (N,) or None
        Its value; ``None`` when every value is 1 (one-hot data), which
        spares a multiplication per lookup.
    row : Tensor of shape (N,)
        Its row in the batch, ``0..B-1`` (non-decreasing).
    offsets : Tensor of shape (B,)
        Position of every row's first non-zero (CSR ``indptr`` without its
        last entry), in ``idx``'s dtype; an empty row repeats the next
        row's offset.
    sample_weight : FloatTensor of shape (B,) or None
        Weights of the rows in the loss (used by the training loop only).
    one_per_field : bool, default=False
        Set by the producer of the batch when every row holds exactly one
        non-zero per field, in field order (non-zero ``k`` is row
        ``k // F``'s value of field ``k % F``): per-field sums then need no
        grouping. See :func:`sklfi.nn.one_per_field`.
    """

    idx: Tensor
    val: Tensor | None
    row: Tensor
    offsets: Tensor
    sample_weight: Tensor | None = None
    one_per_field: bool = False

    @property
    def n_rows(self) -> int:
        """``B``; rows may have no non-zero at all."""
        return len(self.offsets)

    def __len__(self) -> int:
        return self.n_rows

    def padded(self, n_rows: int) -> SparseBatch:
        """The batch with rows appended up to ``n_rows`` rows, whose outputs
        are meant to be dropped: empty rows, or copies of the last row in a
        batch flagged :attr:`one_per_field` (so that the flag still holds)."""
        extra, n = n_rows - self.n_rows, len(self.idx)
        if extra == 0:
            return self
        if not (self.one_per_field and self.n_rows):
            offsets = self.offsets.new_full((extra,), n)
            return SparseBatch(
                self.idx, self.val, self.row, torch.cat([self.offsets, offsets]),
                self.sample_weight,
            )  # fmt: skip
        F = n // self.n_rows  # the copies: rows n_rows.., non-zeros n..

        def grow(t, copies):
            return torch.cat([t, copies.to(t)])

        tail = slice(n - F, n)
        return SparseBatch(
            grow(self.idx, self.idx[tail].repeat(extra)),
            None if self.val is None else grow(self.val, self.val[tail].repeat(extra)),
            grow(self.row, torch.arange(self.n_rows, n_rows).repeat_interleave(F)),
            grow(self.offsets, torch.arange(n, n_rows * F, F)),
            self.sample_weight,
            True,
        )

    def to(self, device) -> SparseBatch:
        def move(t):
            return None if t is None else t.to(device)

        return SparseBatch(
            move(self.idx), move(self.val), move(self.row), move(self.offsets),
            move(self.sample_weight), self.one_per_field,
        )  # fmt: skip


def one_per_field(indptr, indices, field_of, n_fields: int) -> bool:
    """Whether the CSR rows given by ``indptr`` and ``indices`` (numpy arrays)
    hold exactly one non-zero per field, in field order: the condition for
    :attr:`SparseBatch.one_per_field`.

    ``field_of`` (``(n_features,)``) is the field of every column. Rather
    than look up the field of every non-zero, the check takes the smallest
    and largest column at each position of the rows and requires every
    column between them to be of that position's field. It may answer
    ``False`` for fields whose columns interleave, which is safe: such data
    takes the general path.
    """
    n_rows, F = len(indptr) - 1, n_fields
    if F == 0 or len(indices) != n_rows * F:
        return False
    if not np.array_equal(indptr, np.arange(0, len(indices) + 1, F)):
        return False
    if n_rows == 0:
        return True
    indices = np.require(indices, requirements="W")  # (as torch wants)
    lo, hi = torch.aminmax(torch.from_numpy(indices).view(n_rows, F), dim=0)
    lo, hi = lo.tolist(), hi.tolist()
    if any(hi[f] >= lo[f + 1] for f in range(F - 1)):
        return False  # (so that the ranges below span n_features at most)
    field_of = torch.as_tensor(field_of)
    return all(bool((field_of[lo[f] : hi[f] + 1] == f).all()) for f in range(F))


class _BagSum(torch.autograd.Function):
    """``out[s] = sum_{n in s} val_n * weight[idx_n]`` over consecutive segments.

    The forward pass is one ``embedding_bag`` (a fused, multi-threaded kernel
    3.5 to 9 times faster on CPU than a gather and an ``index_add_``); the
    backward pass scatters with ``index_add_``, which on CPU is cheaper than
    ``embedding_bag``'s own backward (that sorts the indices).
    """

    @staticmethod
    def forward(ctx, weight, idx, val, offsets, segment):
        ctx.save_for_backward(idx, val, segment)
        ctx.n_weights = len(weight)
        # detached, so that embedding_bag skips the buffers of its own backward
        return _bag(weight.detach(), idx, val, offsets)

    @staticmethod
    def backward(ctx, grad):
        idx, val, segment = ctx.saved_tensors
        g = grad if segment is None else grad.index_select(0, segment)
        if val is not None:
            g = g * val.unsqueeze(-1)
        if idx is not None:
            g = g.new_zeros(ctx.n_weights, g.shape[1]).index_add_(0, idx, g)
        return g, None, None, None, None


_POSITIONS: dict = {}


def _positions(n: int, like: Tensor) -> Tensor:
    """``arange(n)`` on ``like``'s device and dtype, sliced from a cached
    tensor: a fresh ``arange`` per batch costs as much as a small lookup.
    The result is a view of the cache: read it, never write to it."""
    key = (like.device, like.dtype)
    cached = _POSITIONS.get(key)
    if cached is None or len(cached) < n:
        size = max(n, 1024 if cached is None else 2 * len(cached))
        cached = torch.arange(size, device=like.device, dtype=like.dtype)
        _POSITIONS[key] = cached
    return cached[:n]


def _bag(weight, idx, val, offsets):
    if idx is None:  # the rows of ``weight`` themselves, in order
        idx = _positions(len(weight), offsets)
    return nn.functional.embedding_bag(
        idx, weight, offsets, mode="sum", per_sample_weights=val
    )


def segment_sum(
    v: Tensor,
    offsets: Tensor,
    segment: Tensor | None,
    idx: Tensor | None = None,
    val: Tensor | None = None,
) -> Tensor:
    """Sums over consecutive segments of non-zeros: ``(S, C)``.

    Without ``idx``, sums the rows of ``v`` (N, C); with ``idx`` (N,), the
    rows ``v[idx]`` (a lookup in a table ``v``), each scaled by ``val`` when
    given. Segment ``s`` starts at ``offsets[s]`` and ends where the next one
    starts; an empty segment sums to zero. ``segment`` (N,) is the segment of
    every non-zero, non-decreasing; ``None`` when non-zero ``s`` is segment
    ``s`` alone (then ``offsets`` must be ``0 .. N-1``).
    """
    if v.requires_grad and torch.is_grad_enabled():
        return _BagSum.apply(v, idx, val, offsets, segment)
    # detached, so that embedding_bag skips the buffers of a backward pass
    return _bag(v.detach(), idx, val, offsets)


def row_sum(v: Tensor, x: SparseBatch) -> Tensor:
    """Sum the entry values ``v`` (N, C) of each row: ``(B, C)``."""
    return segment_sum(v, x.offsets, x.row)


class FeatureEmbedding(nn.Module):
    """Weights ``[v_i, w_i]`` of every column, looked up per non-zero.

    One table holds, for every column ``i``, a vector ``v_i`` (``D`` values,
    normal initialisation) and ``K`` linear weights ``w_i`` (zeros), so a
    single lookup serves the interactions and the linear term: a model looks
    up each batch once, so the table receives one gradient scatter per step.
    :meth:`entries` gives every non-zero's weights; :meth:`fm_terms` the sums
    FM and NFM need; :class:`FieldEmbedding` the per-field sums, with lookup,
    value scaling and sum in one ``embedding_bag``.

    Parameters
    ----------
    n_features : int
    embedding_dim : int
        ``D``.
    n_linear : int, default=0
        ``K``, the linear weights per column (the number of outputs, or 0).
    init_std : float, default=0.01
        Standard deviation of the vectors' normal initialisation.
    """

    def __init__(
        self,
        n_features: int,
        embedding_dim: int,
        n_linear: int = 0,
        init_std: float = 0.01,
    ):
        super().__init__()
        self.embedding_dim, self.n_linear = embedding_dim, n_linear
        weight = torch.zeros(n_features, embedding_dim + n_linear)
        nn.init.normal_(weight[:, :embedding_dim], std=init_std)
        self.weight = nn.Parameter(weight)

    def entries(self, x: SparseBatch) -> Tensor:
        """``x_i [v_i, w_i]`` of every non-zero: ``(N, D + K)``."""
        w = self.weight.index_select(0, x.idx)
        return w if x.val is None else w * x.val.unsqueeze(-1)

    def fm_terms(self, x: SparseBatch) -> tuple[Tensor, Tensor]:
        """The Bi-Interaction vector ``sum_{i<j} x_i v_i * x_j v_j`` ``(B, D)``
        (summed over ``D``, FM's pair term) and the linear term
        ``sum_i x_i w_i`` ``(B, K)`` of every row."""
        D, K = self.embedding_dim, self.n_linear
        e = self.entries(x)  # (N, D + K)
        total, linear = row_sum(e, x).split([D, K], 1)
        return bi_interaction(total, row_sum(e[:, :D].square(), x)), linear


class FieldEmbedding(FeatureEmbedding):
    """Per-field sums of value-scaled weights: ``(B, F, D + K)``.

    The embedding of field ``f`` is ``e_f = sum_{i in f} x_i v_i``: the vector
    of the active category of a categorical field, the sum over the items of a
    multi-valued field (give values ``1/n`` for a mean), ``x v`` for a numeric
    field, and zero when the row has no non-zero in the field. The last ``K``
    values are the per-field sums of the linear terms ``x_i w_i``.

    Parameters
    ----------
    field_index : LongTensor of shape (n_features,)
        Field id of every column.
    embedding_dim : int
    n_fields : int
    n_linear : int, default=0
    init_std : float, default=0.01
    """

    def __init__(
        self,
        field_index: Tensor,
        embedding_dim: int,
        n_fields: int,
        n_linear: int = 0,
        init_std: float = 0.01,
    ):
        super().__init__(len(field_index), embedding_dim, n_linear, init_std)
        self.n_fields = n_fields
        self.register_buffer("field_of", field_index.long().clone())

    def _per_field(self, x: SparseBatch, v: Tensor, idx=None, val=None) -> Tensor:
        """:func:`segment_sum` over the (row, field) groups: ``(B, F, C)``.

        The groups are the slots ``row F + field``. A batch flagged
        :attr:`~SparseBatch.one_per_field` has one non-zero per slot, in slot
        order, so needs no grouping. Otherwise CSR order already makes the
        slots contiguous when every field's columns precede the next
        field's, and a stable sort of the non-zeros does when not.
        """
        n_slots = x.n_rows * self.n_fields
        if x.one_per_field:
            if idx is None:
                return v.reshape(x.n_rows, self.n_fields, -1)
            if val is None:  # one-hot: a gather, faster than bags of one
                return v.index_select(0, idx).view(x.n_rows, self.n_fields, -1)
            slot, offsets = None, _positions(n_slots, x.offsets)
        else:
            slot = x.row * self.n_fields + self.field_of.index_select(0, x.idx)
            if len(slot) > 1 and bool((slot[1:] < slot[:-1]).any()):
                slot, order = torch.sort(slot, stable=True)
                if idx is None:
                    v = v.index_select(0, order)
                else:
                    idx = idx.index_select(0, order)
                    val = None if val is None else val.index_select(0, order)
            counts = torch.bincount(slot, minlength=n_slots)
            offsets = (counts.cumsum(0) - counts).to(x.offsets.dtype)
        pooled = segment_sum(v, offsets, slot, idx, val)
        return pooled.view(x.n_rows, self.n_fields, -1)

    def pool(self, v: Tensor, x: SparseBatch) -> Tensor:
        """Sum the entry values ``v`` (N, C) per row and field: (B, F, C)."""
        return self._per_field(x, v)

    def forward(self, x: SparseBatch) -> Tensor:
        return self._per_field(x, self.weight, x.idx, x.val)

    def split(self, pooled: Tensor) -> tuple[Tensor, Tensor]:
        """The field vectors ``(B, F, D)`` and the linear term, summed over
        the fields, ``(B, K)`` of per-field sums ``(B, F, D + K)``."""
        vectors, linear = pooled.split([self.embedding_dim, self.n_linear], 2)
        return vectors, linear.sum(1)


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


def pairwise_products(e: Tensor) -> Tensor:
    """Element-wise products of all field pairs: ``(B, F, D) -> (B, P, D)``."""
    i, j = pair_indices(e.shape[1], e.device)
    return e.index_select(1, i) * e.index_select(1, j)


def pairwise_dots(e: Tensor) -> Tensor:
    """Dot products of all field pairs: ``(B, F, D) -> (B, P)``."""
    i, j = pair_indices(e.shape[1], e.device)
    F = e.shape[1]
    return torch.bmm(e, e.transpose(1, 2)).flatten(1).index_select(1, i * F + j)


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
        slot = torch.full((n_features,), self.n_dense, dtype=torch.long)
        slot[dense_columns] = torch.arange(self.n_dense)
        self.register_buffer("slot", slot)  # other columns -> extra slot, dropped

    def forward(self, x: SparseBatch) -> Tensor:
        flat = x.row * (self.n_dense + 1) + self.slot.index_select(0, x.idx)
        val = torch.ones(len(x.idx), device=x.idx.device) if x.val is None else x.val
        out = val.new_zeros(x.n_rows * (self.n_dense + 1))
        out = out.index_add_(0, flat, val).view(x.n_rows, self.n_dense + 1)
        return out[:, : self.n_dense]


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
