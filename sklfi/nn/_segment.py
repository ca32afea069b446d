"""Sums of (looked-up, value-scaled) vectors over consecutive segments of
non-zeros: the one reduction the embeddings need, for rows and for (row,
field) slots alike."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from .._batch import exporting


def _table_grad(g, idx, n_weights, sparse):
    """The gradient of a table from the gradients ``g`` (N, C) of its rows
    ``idx``: scattered into a dense table, or a sparse one holding only the
    rows of the batch (its cost independent of the table's size)."""
    if sparse:
        shape = (n_weights, g.shape[1])
        return torch.sparse_coo_tensor(
            idx.long().unsqueeze(0), g, shape, check_invariants=False
        )
    return add_rows(g.new_zeros(n_weights, g.shape[1]), idx, g)


def add_rows(out: Tensor, idx: Tensor, values: Tensor) -> Tensor:
    """``out[idx[n]] += values[n]`` for every ``n``, in place (while
    exporting, a new tensor: below), with the same
    sums in every run: on a GPU ``index_add_`` adds with atomics, in
    whatever order the threads come, so that floats round differently from
    run to run; ``index_put_`` with ``accumulate`` sorts the rows first. (On
    the CPU ``index_add_`` is deterministic, and faster.)

    While torch traces a module for export, a new tensor from a
    ``scatter_add`` (ONNX's ``ScatterElements`` that adds): ONNX Runtime
    shares the updates of the ``ScatterND`` that ``index_add`` becomes among
    its threads, and two updates of one row then race, one of them lost (a
    row of 10,000 answered 0.006 off, in one run of the tests). Its
    ``ScatterElements`` walks the updates in order (each thread its own
    columns)."""
    if exporting():
        where = idx.long().reshape(-1, *(1,) * (values.dim() - 1))
        return out.scatter_add(0, where.expand_as(values), values)
    if out.is_cuda:
        return out.index_put_((idx.long(),), values, accumulate=True)
    return out.index_add_(0, idx, values)


class _BagSum(torch.autograd.Function):
    """``out[s] = sum_{n in s} val_n * weight[idx_n]`` over consecutive segments.

    The forward pass is one ``embedding_bag`` (a fused, multi-threaded kernel
    3.5 to 9 times faster on CPU than a gather and an ``index_add_``); the
    backward pass scatters with ``index_add_``, which on CPU is cheaper than
    ``embedding_bag``'s own backward (that sorts the indices), or returns a
    sparse gradient.
    """

    @staticmethod
    def forward(ctx, weight, idx, val, offsets, segment, sparse):
        ctx.save_for_backward(idx, val, segment)
        ctx.n_weights, ctx.sparse = len(weight), sparse
        return _bag(weight, idx, val, offsets)

    @staticmethod
    def backward(ctx, grad):
        idx, val, segment = ctx.saved_tensors
        g = grad.index_select(0, segment)
        if val is not None:
            g = g * val.unsqueeze(-1)
        if idx is not None:
            g = _table_grad(g, idx, ctx.n_weights, ctx.sparse)
        return g, None, None, None, None, None


class _Gather(torch.autograd.Function):
    """``weight[idx]``, with the gradient of ``weight`` sparse or dense."""

    @staticmethod
    def forward(ctx, weight, idx, sparse):
        ctx.save_for_backward(idx)
        ctx.n_weights, ctx.sparse = len(weight), sparse
        return weight.index_select(0, idx)

    @staticmethod
    def backward(ctx, grad):
        (idx,) = ctx.saved_tensors
        return _table_grad(grad, idx, ctx.n_weights, ctx.sparse), None, None


def kept_tensors(make):
    """``make``, a function of hashable arguments that returns tensors
    nobody writes to (index tensors), with its results kept (in
    ``.kept``) for up to 1,024 sets of arguments: a served row's forward
    pass would spend more on making them than on its own products. They are
    made outside inference mode (a prediction may make them, and a training
    step then save them for its backward pass), and not kept when made
    while torch traces a module for export (its tensors are then not real
    ones)."""
    kept: dict = {}

    @functools.wraps(make)
    def get(*args):
        out = kept.get(args)
        if out is None:
            if exporting():
                return make(*args)
            with torch.inference_mode(False):
                out = make(*args)
            if len(kept) < 1024:
                kept[args] = out
        return out

    get.kept = kept
    return get


@kept_tensors
def _arange(size: int, device, dtype) -> Tensor:
    return torch.arange(size, device=device, dtype=dtype)


@kept_tensors
def _prefix(n: int, device, dtype) -> Tensor:
    # a view of an arange of a power-of-two length, shared by the lengths
    # below it
    return _arange(max(1024, 1 << (n - 1).bit_length()), device, dtype)[:n]


def _positions(n: int, like: Tensor) -> Tensor:
    """``arange(n)`` on ``like``'s device and dtype (:func:`kept_tensors`).
    Read it, never write to it."""
    return _prefix(n, like.device, like.dtype)


def _bag(weight, idx, val, offsets):
    if weight.requires_grad:
        # detached: embedding_bag asks whether its table requires a gradient,
        # and then makes the buffers of its own backward pass (which sklfi's
        # is not)
        weight = weight.detach()
    if idx is None:  # the rows of ``weight`` themselves, in order
        idx = _positions(weight.shape[0], offsets)
    # torch's own op, which ``nn.functional.embedding_bag`` calls after
    # checks of its arguments (a served row's time): sums (mode 0) of the
    # rows ``idx`` scaled by ``val``, over the segments that start at
    # ``offsets``
    return torch.embedding_bag(weight, idx, offsets, False, 0, False, val)[0]


def segment_sum(
    v: Tensor,
    offsets: Tensor | None,
    segment: Tensor | None,
    idx: Tensor | None = None,
    val: Tensor | None = None,
    sparse: bool = False,
) -> Tensor:
    """Sums over consecutive segments of non-zeros: ``(S, C)``.

    Without ``idx``, sums the rows of ``v`` (N, C); with ``idx`` (N,), the
    rows ``v[idx]`` (a lookup in a table ``v``), each scaled by ``val`` when
    given. Segment ``s`` starts at ``offsets[s]`` and ends where the next one
    starts; an empty segment sums to zero. ``segment`` (N,) is the segment of
    every non-zero, non-decreasing (while exporting, in any order:
    :func:`_scatter_sum`); ``None`` when non-zero ``s`` is segment
    ``s`` alone, which is then a plain gather (``offsets`` unused). With
    ``sparse``, a table ``v`` gets a sparse gradient (the rows of ``idx``).
    """
    if exporting():
        return _scatter_sum(v, offsets, segment, idx, val)
    training = v.requires_grad and torch.is_grad_enabled()
    if segment is None:
        if idx is None:
            out = v
        elif training:
            out = _Gather.apply(v, idx, sparse)
        elif val is not None and val.dtype == v.dtype:
            # every non-zero a segment of its own: one op, the same floats
            return _bag(v, idx, val, _positions(idx.shape[0], idx))
        else:
            out = v.index_select(0, idx)
        return out if val is None else out * val.unsqueeze(-1)
    if training:
        return _BagSum.apply(v, idx, val, offsets, segment, sparse)
    return _bag(v, idx, val, offsets)


def _scatter_sum(v, offsets, segment, idx, val):
    """:func:`segment_sum` in the operators ONNX Runtime runs fast (a
    ``Gather``, a ``Mul`` and a ``ScatterElements`` that adds:
    :func:`add_rows`), for export: ``embedding_bag`` would become a loop
    over the segments. Each segment's sum is its own: a row's
    answer does not depend on the rows beside it (a running sum over the
    batch would carry a row's huge or infinite values into the rows after
    it), and segments may come in any order (an exported graph's slots are
    not sorted)."""
    rows = v if idx is None else v.index_select(0, idx)
    if val is not None:
        rows = rows * val.unsqueeze(-1)
    if segment is None:
        return rows
    return add_rows(rows.new_zeros((offsets.shape[0], rows.shape[1])), segment, rows)


def row_sum(v: Tensor, x) -> Tensor:
    """Sum the per-non-zero values ``v`` (N, C) over each row of the
    :class:`~sklfi.nn.SparseBatch` ``x``: ``(B, C)``."""
    return segment_sum(v, x.offsets, x.row)


def unit_sum(t: Tensor, x) -> Tensor:
    """Per-row values ``(B, ...)`` of the :class:`~sklfi.nn.SparseBatch`
    ``x`` from its per-unit ones ``t`` ``(U, ...)``: each row's units added
    up (``t`` itself when every unit is a row, :attr:`~SparseBatch.units`).
    Each field lies in one unit of a row, so a field's sums are the same,
    to the last bit, as over the row's non-zeros at once. The gradient is
    scattered by :func:`add_rows`, the same in every run."""
    if x.units is None:
        return t
    flat, where = t.reshape(t.shape[0], -1), x.units.reshape(-1)
    if t.requires_grad and torch.is_grad_enabled():
        picked = _Gather.apply(flat, where, False)
    else:
        picked = flat.index_select(0, where)
    return picked.view(*x.units.shape, *t.shape[1:]).sum(1)
