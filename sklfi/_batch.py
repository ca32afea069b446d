"""The batch every model reads: :class:`SparseBatch`.

A batch of ``B`` rows is the CSR slice of those rows: the column, value and
batch row of every non-zero (``N`` of them), gathered from the CSR index
arrays by :class:`~sklfi._data.CSRDataset` (no loop over rows, nothing
densified, no padding). A field embedding asks the batch for
its (row, field) *slots* (:meth:`SparseBatch.by_field`); how they are found
is the batch's business, known to no model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

__all__ = ["SparseBatch", "array_batch", "csr_batch", "one_per_field"]


_is_exporting = getattr(torch.compiler, "is_exporting", None)  # (torch >= 2.5)


def exporting() -> bool:
    """Whether torch is tracing a module for export (``torch.export``, the
    ONNX exporter's front end): the graph then takes the ops that export."""
    return bool(_is_exporting and _is_exporting())


@dataclass
class SparseBatch:
    """The non-zeros of ``B`` rows of a sparse matrix, row by row.

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
        Position of every row's first non-zero, in ``idx``'s dtype; an empty
        row repeats the next row's offset.
    one_per_field : bool, default=False
        Set by the producer of the batch when every row holds exactly one
        non-zero per field, in field order (checked once per matrix): then
        the (row, field) slots need no grouping.
    field_sorted : bool, default=False
        Set by the producer of the batch when every row's non-zeros are in
        field order (a field's columns precede the next field's, and rows
        are sorted): then the slots need no sort.
    slot, slot_offsets : Tensor or None
        Set in a batch returned by :meth:`by_field`: the slot
        ``row * F + field`` of every non-zero (non-decreasing) and the
        position of every slot's first non-zero; ``None`` when non-zero
        ``k`` is slot ``k`` alone (:attr:`one_per_field`).
    sample_weight : FloatTensor of shape (B,) or None
        Weights of the rows in the loss (used by the training loop only).
    units : LongTensor of shape (B, P) or None
        Set in a batch of a :class:`~sklfi.RelationalMatrix`: the non-zeros
        are then those of ``U`` *units* (each row's row-level part, and each
        entity the batch's rows point to, once), :attr:`row` and
        :attr:`offsets` are the units', and row ``b`` is the sum of units
        ``units[b]`` (:func:`sklfi.nn._segment.unit_sum`). ``None``: every
        unit is a row.
    """

    idx: Tensor
    val: Tensor | None
    row: Tensor
    offsets: Tensor
    one_per_field: bool = False
    field_sorted: bool = False
    slot: Tensor | None = None
    slot_offsets: Tensor | None = None
    sample_weight: Tensor | None = None
    units: Tensor | None = None

    @property
    def n_rows(self) -> int:
        """``B``; rows may have no non-zero at all."""
        if self.units is not None:
            return self.units.shape[0]
        return self.offsets.shape[0]  # (not len(): a symbol when exported)

    @property
    def n_units(self) -> int:
        """``U``, the units the non-zeros are grouped in (:attr:`units`)."""
        return self.offsets.shape[0]

    def __len__(self) -> int:
        return self.n_rows

    @classmethod
    def from_csr(
        cls, X, fields=None, n_fields=None, n_rows=None, fields_in_order=None
    ) -> SparseBatch:
        """Every row of a sparse matrix ``X`` as one batch on the CPU.

        ``fields`` (the field id of every column) lets the batch know when
        it holds one non-zero per field, and sets its (row, field) slots as
        :meth:`by_field` sets them; ``fields_in_order`` says whether each
        field's columns precede the next field's, if known (a check of every
        column otherwise). With ``n_rows``, the batch is padded to that many
        rows as :meth:`padded` pads it.
        """
        X = sp.csr_matrix(X, dtype=np.float32, copy=True)
        X.sum_duplicates()  # (in place: on a copy, which shares no array)
        return csr_batch(X, fields, n_fields, n_rows, fields_in_order)

    def by_field(self, field_index: Tensor, n_fields: int) -> SparseBatch:
        """The batch with its non-zeros in (row, field) slot order and
        :attr:`slot` and :attr:`slot_offsets` set, for the field of every
        column ``field_index`` (``(n_features,)``, on the batch's device).

        Rows keep their non-zeros (so :attr:`row` and :attr:`offsets` still
        hold); a stable sort of the non-zeros by slot groups them, unless the
        batch is known to be in field order (:attr:`field_sorted`). Nothing
        here reads a value back from the device.
        """
        n_slots = self.n_units * n_fields
        if self.slot_offsets is not None and self.slot_offsets.shape[0] == n_slots:
            return self  # (its producer set the slots: :func:`csr_batch`)
        if self.one_per_field:
            if self.idx.shape[0] != n_slots:
                raise ValueError(
                    f"a batch flagged one_per_field holds {len(self.idx)} "
                    f"non-zeros, not one per row and field ({n_slots})."
                )
            return self
        idx, val = self.idx, self.val
        slot = self.row * n_fields + field_index.index_select(0, idx)
        if not (self.field_sorted or exporting()):
            # (an exported graph adds a slot's values in any order)
            slot, order = torch.sort(slot, stable=True)
            idx = idx.index_select(0, order)
            val = None if val is None else val.index_select(0, order)
        # the first non-zero of every slot: the number of non-zeros before it
        # (counted with index_add_, not bincount, which reads its maximum
        # back from the device; integer sums are exact in any order; for
        # export, ONNX's ScatterElements, whose sums no thread races on; see
        # sklfi.nn._segment.add_rows)
        counts, ones = slot.new_zeros(n_slots), torch.ones_like(slot)
        if exporting():
            counts = counts.scatter_add(0, slot, ones)
        else:
            counts = counts.index_add_(0, slot, ones)
        starts = (counts.cumsum(0) - counts).to(idx.dtype)
        return replace(self, idx=idx, val=val, slot=slot, slot_offsets=starts)

    def padded(self, n_rows: int) -> SparseBatch:
        """The batch with rows appended up to ``n_rows`` rows, whose outputs
        are meant to be dropped: a fixed batch size for every forward pass.
        The extra rows are empty, or, in a batch flagged
        :attr:`one_per_field`, copies of the last row (so that the flag
        still holds)."""
        extra, N = n_rows - self.n_rows, self.idx.shape[0]
        if extra <= 0:
            return self
        if self.units is not None:  # (rows of one more, empty, unit)
            units = self.units.new_full((extra, self.units.shape[1]), self.n_units)
            offsets = torch.cat([self.offsets, self.offsets.new_full((1,), N)])
            return replace(self, offsets=offsets, units=torch.cat([self.units, units]))
        if not self.one_per_field:  # (its slots, if set, found again)
            offsets = self.offsets.new_full((extra,), N)
            offsets = torch.cat([self.offsets, offsets])
            return replace(self, offsets=offsets, slot=None, slot_offsets=None)
        F = N // self.n_rows  # the copies: rows n_rows.., non-zeros N..

        def grow(t, copies):
            return torch.cat([t, copies.to(t)])

        tail = slice(N - F, N)
        return replace(
            self,
            idx=grow(self.idx, self.idx[tail].repeat(extra)),
            val=None
            if self.val is None
            else grow(self.val, self.val[tail].repeat(extra)),
            row=grow(self.row, self._arange(self.n_rows, n_rows).repeat_interleave(F)),
            offsets=grow(self.offsets, self._arange(N, n_rows * F, F)),
        )

    def _arange(self, *args) -> Tensor:
        return torch.arange(*args, device=self.idx.device)

    def to(self, device) -> SparseBatch:
        """The batch with every tensor on ``device``."""
        device, here = torch.device(device), self.idx.device
        if here.type == device.type and device.index in (None, here.index):
            return self

        def move(t):
            return None if t is None else t.to(device)

        return replace(
            self,
            idx=move(self.idx),
            val=move(self.val),
            row=move(self.row),
            offsets=move(self.offsets),
            slot=move(self.slot),
            slot_offsets=move(self.slot_offsets),
            sample_weight=move(self.sample_weight),
            units=move(self.units),
        )


def one_per_field(X: sp.csr_matrix, fields, n_fields=None) -> bool:
    """Whether every row of a canonical CSR matrix ``X`` holds exactly one
    non-zero per field, in field order, for ``fields``, the field id of every
    column (``n_fields`` fields: by default one more than the largest id).

    Rather than look up the field of every non-zero, the check takes the
    smallest and largest column at each position of the rows and requires
    every column between them to be of that position's field (0.2 ms for
    20,000 rows of 8 fields). It may answer ``False`` for fields whose
    columns interleave, which is safe: such data is grouped explicitly.
    """
    field_index = np.asarray(fields, dtype=np.int64)
    if n_fields is None:
        n_fields = int(field_index.max()) + 1 if len(field_index) else 0
    indptr, indices, F = X.indptr, X.indices, n_fields
    n_rows = X.shape[0]
    if F == 0 or len(indices) != n_rows * F:
        return False
    if not np.array_equal(indptr, np.arange(0, len(indices) + 1, F)):
        return False
    if n_rows == 0:
        return True
    if len(indices) <= 4096:  # (a few rows: the field of every non-zero)
        found = field_index[indices].reshape(n_rows, F)
        return bool((found == np.arange(F)).all())
    indices = np.require(indices, requirements="W")  # (as torch wants)
    lo, hi = torch.aminmax(torch.from_numpy(indices).view(n_rows, F), dim=0)
    lo, hi = lo.tolist(), hi.tolist()
    if any(hi[f] >= lo[f + 1] for f in range(F - 1)):
        return False  # (so that the ranges below span n_features at most)
    field_index = torch.as_tensor(field_index)
    return all(bool((field_index[lo[f] : hi[f] + 1] == f).all()) for f in range(F))


def csr_batch(
    X, fields=None, n_fields=None, n_rows=None, fields_in_order=None
) -> SparseBatch:
    """The rows of a canonical float32 CSR matrix ``X`` as one batch on the
    CPU, made with a few numpy calls: for a served request, whose batch
    torch's calls would make in more time than its lookups take.

    With ``n_rows``, padded to that many rows as :meth:`SparseBatch.padded`
    pads; with ``fields`` (the field of every column) and ``n_fields``, its
    slots set as :meth:`SparseBatch.by_field` sets them (the same tensors,
    so the same sums); ``fields_in_order`` as for
    :meth:`SparseBatch.from_csr`.
    """
    flags = (False, False)
    if fields is not None:
        fields = np.asarray(fields, dtype=np.int64)
        if n_fields is None:
            n_fields = int(fields.max()) + 1 if len(fields) else 0
        if fields_in_order is None:
            fields_in_order = bool(np.all(np.diff(fields) >= 0))
        flags = (
            one_per_field(X, fields, n_fields),
            bool(X.has_sorted_indices and fields_in_order),
        )
    # one-hot: no values (a ufunc's reduce, not ``all``'s Python wrapper)
    val = None if np.logical_and.reduce(X.data == 1) else X.data
    return array_batch(X.indptr, X.indices, val, flags, fields, n_fields, n_rows)


def array_batch(
    indptr, idx, val, flags, fields=None, n_fields=None, n_rows=None
) -> SparseBatch:
    """:func:`csr_batch` of a CSR matrix's arrays (``val`` ``None`` when
    one-hot) and its flags (:attr:`~SparseBatch.one_per_field`,
    :attr:`~SparseBatch.field_sorted`)."""
    flagged, field_sorted = flags
    n = len(indptr) - 1
    extra = 0 if n_rows is None else max(n_rows - n, 0)
    if extra and flagged and n:  # (copies of the last row)
        N = len(idx)
        F = N // n
        take = np.arange(N + extra * F)
        take[N:] = take[N:] % F + (N - F)
        idx, val = idx[take], (None if val is None else val[take])
        indptr = np.arange(0, (n + extra) * F + 1, F)
    elif extra:  # (empty rows: offsets at the end, no non-zero)
        padded = np.empty(n + extra + 1, indptr.dtype)
        padded[: n + 1], padded[n + 1 :] = indptr, indptr[-1]
        indptr = padded
    counts = indptr[1:] - indptr[:-1]
    row = np.arange(len(counts)).repeat(counts)
    slot = starts = None
    if fields is not None and not flagged:
        slot = row * n_fields + fields[idx]
        if not field_sorted:
            order = np.argsort(slot, kind="stable")
            slot, idx = slot[order], idx[order]
            val = None if val is None else val[order]
        # the first non-zero of every slot: the non-zeros of the slots before
        # (a count, linear in the batch: a search would be 5x slower at 4096)
        per_slot = np.bincount(slot, minlength=len(counts) * n_fields)
        starts = (per_slot.cumsum() - per_slot).astype(idx.dtype)
        slot, starts = torch.from_numpy(slot), torch.from_numpy(starts)
    # (idx and val may be the caller's read-only arrays; the others are new)
    return SparseBatch(
        host_tensor(idx), None if val is None else host_tensor(val),
        torch.from_numpy(row), torch.from_numpy(indptr[:-1].astype(idx.dtype)),
        flagged, field_sorted, slot=slot, slot_offsets=starts,
    )  # fmt: skip


def host_tensor(array: np.ndarray) -> Tensor:
    """``array`` as a CPU tensor sharing its memory, read-only arrays (a
    memory map) included, which sklfi only reads."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():  # (torch warns of read-only arrays)
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)
