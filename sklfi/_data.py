"""CSR rows -> padded batch tensors, the one data path of every estimator.

A batch of ``B`` rows becomes two tensors of shape ``(B, L)``, ``L`` being the
largest number of non-zeros of a row in the batch:

* ``idx``: the column index of every non-zero, padded with ``n_features`` (the
  padding row of every embedding table, which stays zero);
* ``val``: its value, padded with 0.

Built with numpy on the CSR index arrays (no loop over rows, nothing
densified), one slice of the CSR matrix per batch.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import Dataset

__all__ = ["CSRDataset", "pad_rows", "passthrough"]


def pad_rows(X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(idx, val)`` arrays of shape ``(n_rows, L)`` of a CSR matrix."""
    n_rows, n_features = X.shape
    counts = np.diff(X.indptr)
    width = max(int(counts.max()) if n_rows else 0, 1)
    idx = np.full((n_rows, width), n_features, dtype=np.int64)
    val = np.zeros((n_rows, width), dtype=np.float32)
    rows = np.repeat(np.arange(n_rows), counts)
    pos = np.arange(X.nnz) - np.repeat(X.indptr[:-1], counts)
    idx[rows, pos] = X.indices
    val[rows, pos] = X.data
    return idx, val


def passthrough(batch):
    """Collate function for datasets that already return whole batches."""
    return batch


class CSRDataset(Dataset):
    """Rows of a CSR matrix (and optional targets and sample weights).

    ``__getitems__`` returns a whole batch at once, so skorch's DataLoader must
    use :func:`passthrough` as its ``collate_fn``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Canonical CSR (sorted, no duplicates), float32 values.
    y : ndarray of shape (n_samples,) or None
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
        idx, val = pad_rows(self.X[rows])
        Xb = {"idx": torch.from_numpy(idx), "val": torch.from_numpy(val)}
        if self.sample_weight is not None:
            Xb["sample_weight"] = self.sample_weight[rows]
        yb = None if self.y is None else self.y[rows]
        return Xb, yb

    def __getitem__(self, i):
        Xb, yb = self.__getitems__([i])
        return {k: v[0] for k, v in Xb.items()}, (None if yb is None else yb[0])
