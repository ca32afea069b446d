"""Datasets of CSR rows and their batch iterators: the one data path of
every estimator, from a sparse matrix (on the host, or moved once to the
model's device) to :class:`~sklfi._batch.SparseBatch` objects."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

from ._batch import SparseBatch, array_batch, host_tensor, one_per_field
from ._config import get_config
from ._random import cpu_generator
from ._relational import RelationalMatrix

__all__ = ["BatchIterator", "CSRDataset"]


def _on_device(nbytes: int, device: torch.device) -> bool:
    """Whether data of ``nbytes`` is to live on ``device``: the CPU's own
    memory, or a CUDA device's within ``device_memory_share`` of its free
    memory (:func:`sklfi.set_config`; what torch holds in its cache and does
    not use counted as free)."""
    if device.type == "cpu":
        return True
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    return nbytes <= get_config()["device_memory_share"] * (free + cached)


def _tensor(array: np.ndarray, device: torch.device) -> Tensor:
    """``array`` as a tensor on ``device`` (on the CPU, sharing its memory:
    :func:`~sklfi._batch.host_tensor`)."""
    out = host_tensor(array)
    return out if device.type == "cpu" else out.to(device)


def _send(array: np.ndarray, device: torch.device) -> Tensor:
    """A small host array (a chunk's bookkeeping) on ``device``, without
    waiting: to a GPU through pinned memory, a copy queued behind the
    device's work (a plain copy would wait for that work to finish)."""
    if device.type != "cuda":
        return _tensor(array, device)
    return torch.from_numpy(array).pin_memory().to(device, non_blocking=True)


class CSRDataset(Dataset):
    """Rows of a CSR matrix (and optional targets and sample weights).

    ``__getitems__`` returns a whole batch at once: ``(SparseBatch, y)``.
    The non-zeros stay where they are put: on the model's device when they
    fit there (``device_memory_share`` of :func:`sklfi.set_config`), moved
    once, and every batch is cut there; otherwise on the host, from where
    they reach the model's device in chunks of batches, each copied while
    the one before trains (:func:`_stream`). Batches are cut with torch's
    gathers, from the bookkeeping of rows (which rows, how many non-zeros,
    where each batch ends) done on the host, so that cutting a batch never
    waits for the device.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Canonical CSR (sorted, no duplicates), float32 values.
    y : ndarray of shape (n_samples,) or (n_samples, 1), or None
    sample_weight : ndarray of shape (n_samples,) or None
    fields : array-like of shape (n_features,), default=None
        Field id of every column, for a model that pools fields: batches are
        flagged :attr:`~SparseBatch.one_per_field` when ``X`` allows it
        (checked once here for all batches).
    n_fields : int, default=None
        Number of fields; by default one more than the largest id. With
        ``fields``, batches are also flagged
        :attr:`~SparseBatch.field_sorted` when each field's columns precede
        the next field's.
    device : str or torch.device, default="cpu"
        The model's device.
    fields_in_order : bool, default=None
        Whether each field's columns precede the next field's, if known
        (the model knows it once for all its datasets; a check of every
        column otherwise).
    """

    def __init__(
        self, X, y=None, sample_weight=None, fields=None, n_fields=None,
        device="cpu", fields_in_order=None,
    ):  # fmt: skip
        # a RelationalMatrix: the rows of a stacked matrix that make up each
        # row (its row part, then its entities' rows), each taken once a
        # batch (the batch's units)
        self.parts, self.n_rows = None, X.shape[0]
        if isinstance(X, RelationalMatrix):
            self.one_per_field = False  # (a unit holds its part's fields only)
            X, self.parts = X.sources()
        else:
            self.one_per_field = fields is not None and one_per_field(
                X, fields, n_fields
            )
        # (sorted rows, and each field's columns before the next field's)
        if fields is not None and fields_in_order is None:
            fields_in_order = bool(np.all(np.diff(np.asarray(fields)) >= 0))
        self.field_sorted = bool(fields is not None and X.has_sorted_indices
                                 and fields_in_order)  # fmt: skip
        self.indptr = np.asarray(X.indptr, dtype=np.int64)  # (the bookkeeping's)
        ones = bool(np.all(X.data == 1))  # (one-hot: no values, no products)
        arrays = {
            "indices": X.indices,
            "data": None if ones else X.data,
            "y": None if y is None else np.asarray(y),
            "sample_weight": None
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float32),
        }
        nbytes = sum(a.nbytes for a in arrays.values() if a is not None)
        self.target = torch.device("cpu" if device is None else device)
        self.resident = _on_device(nbytes, self.target)
        self.device = self.target if self.resident else torch.device("cpu")
        for name, array in arrays.items():
            setattr(self, name, None if array is None else _tensor(array, self.device))

    def __len__(self):
        return self.n_rows

    def batches(self, rows, batch_size, chunk=64):
        """Yield ``(SparseBatch, y)`` for consecutive batches of ``rows``
        (``None``: every row in order), on the model's device.

        The non-zeros of ``chunk`` batches are gathered at once (a chunk);
        each batch is then a zero-copy slice of them. Every row in order
        needs no gather: the batches are slices of the matrix's own arrays.
        Data kept on the host reaches the model's device a chunk at a time
        (:func:`_stream`).
        """
        if rows is None and self.n_rows <= batch_size and self.target.type == "cpu":
            yield self._whole(), self.y  # (a small request: one batch, directly)
            return
        if self.parts is not None:
            yield from self._unit_batches(rows, batch_size)
            return
        chunks = self._chunks(rows, batch_size * chunk)
        if not self.resident:
            chunks = _stream(chunks, self.target)
        for counts, (idx, val, y, weight) in chunks:
            offsets = np.concatenate(([0], np.cumsum(counts)))
            m, total = len(counts), int(offsets[-1])
            local = _repeat(np.arange(m) % batch_size, counts, total, self.target)
            # each row's first non-zero, counted from its batch's first one
            firsts = np.repeat(offsets[:m:batch_size], batch_size)[:m]
            starts = _send(offsets[:-1] - firsts, self.target).to(idx.dtype)
            cuts = offsets[np.append(np.arange(0, m, batch_size), m)].tolist()
            for k, start in enumerate(range(0, m, batch_size)):
                lo, hi = cuts[k], cuts[k + 1]
                end = min(start + batch_size, m)
                batch = SparseBatch(
                    idx[lo:hi], None if val is None else val[lo:hi], local[lo:hi],
                    starts[start:end], self.one_per_field, self.field_sorted,
                    sample_weight=None if weight is None else weight[start:end],
                )  # fmt: skip
                yield batch, (None if y is None else y[start:end])

    def _whole(self, n_rows=None) -> SparseBatch:
        """Every row, in order, as one batch on the CPU (:func:`array_batch`:
        the batch the general path cuts, made with a few numpy calls rather
        than its bookkeeping of chunks), padded to ``n_rows`` rows if
        given."""
        if self.parts is not None:
            batch = self._units_batch(np.arange(self.n_rows))[0]
            return batch if n_rows is None else batch.padded(n_rows)
        batch = array_batch(
            self.indptr, self.indices.numpy(),
            None if self.data is None else self.data.numpy(),
            (self.one_per_field, self.field_sorted), n_rows=n_rows,
        )  # fmt: skip
        batch.sample_weight = self.sample_weight
        return batch

    def _chunks(self, rows, size):
        """Yield, for every ``size`` rows of ``rows`` (``None``: every row
        in order), the rows' non-zero counts (numpy) and their columns,
        values, targets and weights (tensors where the data lives, or
        ``None``)."""
        n = self.n_rows if rows is None else len(rows)
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
        for first in range(0, n, size):
            if rows is None:
                counts, idx, val, part = self._slice(first, size)
            else:
                part = rows[first : first + size]
                counts, idx, val = self._gather(part)
                part = _send(part, self.device)
            yield counts, (idx, val, _at(self.y, part), _at(self.sample_weight, part))

    def _slice(self, first, size):
        """Consecutive rows from ``first``: their non-zero counts, and their
        non-zeros' columns and values, slices of the matrix's own."""
        stop = min(first + size, self.n_rows)
        nnz = slice(int(self.indptr[first]), int(self.indptr[stop]))
        counts = np.diff(self.indptr[first : stop + 1])
        return counts, self.indices[nnz], _at(self.data, nnz), slice(first, stop)

    def _unit_batches(self, rows, size):
        """:meth:`batches` of a RelationalMatrix: each batch's units."""
        order = np.arange(self.n_rows) if rows is None else np.asarray(rows)
        for first in range(0, len(order), size):
            batch, y = self._units_batch(order[first : first + size].astype(np.int64))
            yield batch.to(self.target), (None if y is None else y.to(self.target))

    def _units_batch(self, rows):
        """The RelationalMatrix rows ``rows`` as one batch of units (the rows'
        parts, every entity once: its features embedded once a batch), and
        their targets."""
        units, inverse = np.unique(self.parts[rows], return_inverse=True)
        counts, idx, val = self._gather(units)
        where = _send(rows, self.device)
        batch = SparseBatch(
            idx, val, _repeat(np.arange(len(units)), counts, len(idx), self.device),
            _send(np.cumsum(counts) - counts, self.device).to(idx.dtype),
            False, self.field_sorted, sample_weight=_at(self.sample_weight, where),
            units=_send(inverse.reshape(len(rows), -1), self.device),
        )  # fmt: skip
        return batch, _at(self.y, where)

    def _gather(self, rows):
        """The rows ``rows``: their non-zero counts, and their non-zeros'
        columns and values, gathered on the data's device."""
        begins = self.indptr[rows]
        counts = self.indptr[rows + 1] - begins
        total = int(counts.sum())
        # the position of every non-zero: its row's first, plus its rank in it
        shift = begins - (np.cumsum(counts) - counts)
        take = _repeat(shift, counts, total, self.device)
        take += torch.arange(total, device=self.device)
        return counts, self.indices[take], _at(self.data, take)

    def __getitems__(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        return next(self.batches(rows, max(len(rows), 1)))

    def __getitem__(self, i):
        return self.__getitems__([i])


def _stream(chunks, device):
    """The chunks of :meth:`CSRDataset._chunks`, their tensors moved to
    ``device``: to a GPU through pinned memory on a side stream, each
    chunk's copy queued before the previous chunk is handed on, so that it
    travels while that one trains."""
    if device.type != "cuda":
        for counts, tensors in chunks:
            yield counts, tuple(None if t is None else t.to(device) for t in tensors)
        return
    side, ahead = torch.cuda.Stream(device), None
    for counts, tensors in chunks:
        with torch.cuda.stream(side):
            moved = tuple(
                None if t is None else t.pin_memory().to(device, non_blocking=True)
                for t in tensors
            )
            copied = side.record_event()
        if ahead is not None:
            yield _arrived(*ahead, device)
        ahead = counts, moved, copied
    if ahead is not None:
        yield _arrived(*ahead, device)


def _arrived(counts, tensors, copied, device):
    """A chunk copied on a side stream, ready for the device's own stream:
    its work waits for the copy, and the chunk's memory is not reused
    before that work is done."""
    stream = torch.cuda.current_stream(device)
    stream.wait_event(copied)
    for t in tensors:
        if t is not None:
            t.record_stream(stream)
    return counts, tensors


def _repeat(values, counts, total, device) -> Tensor:
    """Each of ``values`` ``counts`` times, ``total`` in all, on ``device``:
    repeated there on a GPU (from a few numbers per row), with numpy on the
    CPU (3 times faster than torch's ``repeat_interleave`` there)."""
    if device.type == "cpu":
        return torch.from_numpy(np.repeat(values, counts))
    return torch.repeat_interleave(
        _send(values, device), _send(counts, device), output_size=total
    )


def _at(tensor, where):
    """``tensor[where]``, or ``None`` for no tensor."""
    return None if tensor is None else tensor[where]


class BatchIterator:
    """Batches of a :class:`CSRDataset`, in order or shuffled.

    Used by skorch in place of a DataLoader (``iterator_train`` and
    ``iterator_valid``): one CSR slice per batch and nothing else. The
    shuffling draws from the current fit's generator
    (:func:`sklfi._random.cpu_generator`). A shuffled (training) pass of two
    rows or more never ends in a batch of one row, which batch normalisation
    cannot train on: that row joins the batch before it.

    Parameters
    ----------
    dataset : CSRDataset or torch.utils.data.Subset of one
        A Subset comes from skorch's validation split.
    batch_size : int
    shuffle : bool, default=False
    shard : (rank, n_processes) or None, default=None
        Data-parallel training: a shuffled pass yields only this process's
        share of the rows, every ``n_processes``-th row of the shuffled order
        from ``rank`` on (the order is the same in every process, since the
        fit's seed is). When the rows do not divide evenly, the first rows of
        the order are taken again (as torch's ``DistributedSampler`` does), so
        that every process takes the same number of steps.
    """

    def __init__(self, dataset, batch_size, shuffle=False, shard=None):
        if isinstance(dataset, Subset):
            self.dataset, self.rows = dataset.dataset, np.asarray(dataset.indices)
        else:
            self.dataset, self.rows = dataset, np.arange(len(dataset))
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.shard = shard if shuffle else None

    def __len__(self):
        n, size = len(self.rows), self.batch_size
        if self.shard is not None:
            n = -(-n // self.shard[1])
        return -(-n // size) - (self.shuffle and n > 1 and n % size == 1)

    def __iter__(self):
        rows, size = self.rows, self.batch_size
        if not self.shuffle:
            yield from self.dataset.batches(rows, size)
            return
        rows = rows[torch.randperm(len(rows), generator=cpu_generator()).numpy()]
        if self.shard is not None:
            rank, n_processes = self.shard
            rows = np.resize(rows, -(-len(rows) // n_processes) * n_processes)
            rows = rows[rank::n_processes]
        split = len(rows) - (size + 1 if len(rows) > 1 and len(rows) % size == 1 else 0)
        yield from self.dataset.batches(rows[:split], size)
        if split < len(rows):  # the last row, with the batch before it
            yield from self.dataset.batches(rows[split:], size + 1)
