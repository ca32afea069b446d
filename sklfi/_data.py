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

__all__ = ["BatchIterator", "CSRDataset", "sparse_batch"]


def sparse_batch(X: sp.csr_matrix, rows: np.ndarray) -> SparseBatch:
    """The non-zeros of ``X[rows]`` as a :class:`~sklfi.nn.SparseBatch`."""
    starts = X.indptr[rows]
    counts = X.indptr[rows + 1] - starts
    ends = np.cumsum(counts)
    take = np.arange(ends[-1] if len(rows) else 0) + np.repeat(
        starts - ends + counts, counts
    )
    return SparseBatch(
        idx=torch.from_numpy(X.indices[take].astype(np.int64)),
        val=torch.from_numpy(X.data[take]),
        row=torch.from_numpy(np.repeat(np.arange(len(rows)), counts)),
        n_rows=len(rows),
    )


class CSRDataset(Dataset):
    """Rows of a CSR matrix (and optional targets and sample weights).

    ``__getitems__`` returns a whole batch at once: ``(SparseBatch, y)``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Canonical CSR (sorted, no duplicates), float32 values.
    y : ndarray of shape (n_samples,) or (n_samples, 1), or None
    sample_weight : ndarray of shape (n_samples,) or None
    """

    def __init__(self, X, y=None, sample_weight=None):
        self.X = X
        self.y = None if y is None else torch.as_tensor(y)
        self.sample_weight = (
            None
            if sample_weight is None
            else torch.as_tensor(sample_weight, dtype=torch.float32)
        )

    def __len__(self):
        return self.X.shape[0]

    def __getitems__(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        batch = sparse_batch(self.X, rows)
        if self.sample_weight is not None:
            batch.sample_weight = self.sample_weight[rows]
        return batch, (None if self.y is None else self.y[rows])

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
        for start in range(0, len(rows), self.batch_size):
            yield self.dataset.__getitems__(rows[start : start + self.batch_size])
