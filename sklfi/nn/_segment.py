"""Sums of (looked-up, value-scaled) vectors over consecutive segments of
non-zeros: the one reduction the embeddings need, for rows and for (row,
field) slots alike."""

from __future__ import annotations

import torch
from torch import Tensor, nn


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
        g = grad.index_select(0, segment)
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
    offsets: Tensor | None,
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
    ``s`` alone, which is then a plain gather (``offsets`` unused).
    """
    if segment is None:
        out = v if idx is None else v.index_select(0, idx)
        return out if val is None else out * val.unsqueeze(-1)
    if v.requires_grad and torch.is_grad_enabled():
        return _BagSum.apply(v, idx, val, offsets, segment)
    # detached, so that embedding_bag skips the buffers of a backward pass
    return _bag(v.detach(), idx, val, offsets)


def row_sum(v: Tensor, x) -> Tensor:
    """Sum the per-non-zero values ``v`` (N, C) over each row of the
    :class:`~sklfi.nn.SparseBatch` ``x``: ``(B, C)``."""
    return segment_sum(v, x.offsets, x.row)
