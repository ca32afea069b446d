"""CSR rows -> batch tensors, the one data path of every estimator.

A batch of ``B`` rows is the CSR slice of those rows, as a
:class:`~sklfi.nn.SparseBatch`: the column index, value and batch row of
every non-zero (``N`` of them). It is gathered with numpy from the CSR index
arrays: no loop over rows, nothing densified, no padding.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import Dataset, Subset

from .nn import SparseBatch

__all__ = ["BatchIterator", "CSRDataset", "sparse_batch", "sparse_batches"]


def sparse_batches(
    X: sp.csr_matrix,
    rows: np.ndarray | None,
    batch_size: int,
    chunk: int = 64,
    one_per_field: bool = False,
):
    """Yield ``(SparseBatch, batch_rows)`` for consecutive batches of ``rows``.

    The non-zeros of ``chunk`` batches are gathered with a few numpy calls at
    once; each batch is then a zero-copy slice of them. ``rows=None`` takes
    every row in order, and then the non-zeros are views of ``X``'s arrays,
    with nothing gathered. Column indices keep the CSR matrix's integer
    dtype, values its float dtype. ``one_per_field`` flags every batch (the
    caller has checked ``X`` with :func:`sklfi.nn.one_per_field`).
    """
    n = X.shape[0] if rows is None else len(rows)
    for first in range(0, n, batch_size * chunk):
        if rows is None:  # consecutive rows: their non-zeros are one slice
            part = np.arange(first, min(first + batch_size * chunk, n))
            offsets = X.indptr[first : first + len(part) + 1]
            nnz = slice(offsets[0], offsets[-1])
            offsets = offsets - offsets[0]
            counts = np.diff(offsets)
            # (copies of read-only arrays, a memory map say: torch wants
            # writable ones)
            idx = np.require(X.indices[nnz], requirements="W")
            val = np.require(X.data[nnz], requirements="W")
        else:
            part = rows[first : first + batch_size * chunk]
            starts = X.indptr[part]
            counts = X.indptr[part + 1] - starts
            offsets = np.r_[0, np.cumsum(counts)]
            take = np.arange(offsets[-1]) + np.repeat(starts - offsets[:-1], counts)
            idx, val = X.indices[take], X.data[take]
        idx = torch.from_numpy(idx)
        val = None if np.all(val == 1) else torch.from_numpy(val)
        local = torch.from_numpy(np.repeat(np.arange(len(part)) % batch_size, counts))
        # each row's first non-zero, counted from its batch's first one
        firsts = np.repeat(offsets[: len(part) : batch_size], batch_size)[: len(part)]
        starts = torch.from_numpy((offsets[:-1] - firsts).astype(X.indices.dtype))
        cuts = offsets[np.r_[np.arange(0, len(part), batch_size), len(part)]].tolist()
        for k, start in enumerate(range(0, len(part), batch_size)):
            lo, hi = cuts[k], cuts[k + 1]
            end = min(start + batch_size, len(part))
            part_val = None if val is None else val[lo:hi]
            batch = SparseBatch(
                idx[lo:hi], part_val, local[lo:hi], starts[start:end],
                one_per_field=one_per_field,
            )  # fmt: skip
            yield batch, part[start:end]


def sparse_batch(X: sp.csr_matrix, rows: np.ndarray) -> SparseBatch:
    """The non-zeros of ``X[rows]`` as one :class:`~sklfi.nn.SparseBatch`."""
    return next(sparse_batches(X, np.asarray(rows), max(len(rows), 1)))[0]


class CSRDataset(Dataset):
    """Rows of a CSR matrix (and optional targets and sample weights).

    ``__getitems__`` returns a whole batch at once: ``(SparseBatch, y)``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Canonical CSR (sorted, no duplicates), float32 values.
    y : ndarray of shape (n_samples,) or (n_samples, 1), or None
    sample_weight : ndarray of shape (n_samples,) or None
    one_per_field : bool, default=False
        Whether every row holds one non-zero per field, in field order
        (checked by the caller with :func:`sklfi.nn.one_per_field`, once for
        all batches); see :attr:`sklfi.nn.SparseBatch.one_per_field`.
    """

    def __init__(self, X, y=None, sample_weight=None, one_per_field=False):
        self.X = X
        self.one_per_field = one_per_field
        self.y = None if y is None else torch.as_tensor(y)
        self.sample_weight = (
            None
            if sample_weight is None
            else torch.as_tensor(sample_weight, dtype=torch.float32)
        )

    def __len__(self):
        return self.X.shape[0]

    def batches(self, rows, batch_size):
        """Yield ``(SparseBatch, y)`` for consecutive batches of ``rows``."""
        batches = sparse_batches(
            self.X, rows, batch_size, one_per_field=self.one_per_field
        )
        for batch, part in batches:
            if self.sample_weight is not None:
                batch.sample_weight = self.sample_weight[part]
            yield batch, (None if self.y is None else self.y[part])

    def __getitems__(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        return next(self.batches(rows, max(len(rows), 1)))

    def __getitem__(self, i):
        return self.__getitems__([i])


class BatchIterator:
    """Batches of a :class:`CSRDataset`, in order or shuffled.

    Used by skorch in place of a DataLoader (``iterator_train`` and
    ``iterator_valid``): one CSR slice per batch and nothing else. The
    shuffling draws from torch's global generator, which the estimators seed.

    Parameters
    ----------
    dataset : CSRDataset or torch.utils.data.Subset of one
        A Subset comes from skorch's validation split.
    batch_size : int
    shuffle : bool, default=False
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        if isinstance(dataset, Subset):
            self.dataset, self.rows = dataset.dataset, np.asarray(dataset.indices)
        else:
            self.dataset, self.rows = dataset, np.arange(len(dataset))
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.rows) // self.batch_size)

    def __iter__(self):
        rows = self.rows
        if self.shuffle:
            rows = rows[torch.randperm(len(rows)).numpy()]
        yield from self.dataset.batches(rows, self.batch_size)
