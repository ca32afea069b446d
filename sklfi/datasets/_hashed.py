"""Large synthetic CTR data with hashed ids, for scale tests."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from .._fields import FieldMatrix, Fields

__all__ = ["make_hashed_ctr"]


def make_hashed_ctr(
    n_samples=1_000_000,
    n_features=2**20,
    n_fields=24,
    n_multi_valued=2,
    items_per_row=3,
    random_state=None,
):
    """Click data of hashed categorical ids, as large as wanted.

    Every field owns an equal slice of the ``n_features`` columns; a row has
    one id per categorical field and up to ``2 * items_per_row`` ids per
    multi-valued field, each drawn from a heavy-tailed (Zipf) distribution and
    hashed into the field's slice, as in click logs. The label follows a
    logistic model with a weight per id and an interaction between the first
    two fields. Rows are built in chunks straight into a float32 CSR matrix
    (about 8 bytes per non-zero), so ten million rows fit in a few GB.

    Parameters
    ----------
    n_samples : int, default=1_000_000
    n_features : int, default=2**20
    n_fields : int, default=24
        Categorical (one id per row) fields.
    n_multi_valued : int, default=2
        Extra multi-valued fields, such as tags.
    items_per_row : int, default=3
        Mean number of ids per row in a multi-valued field.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : FieldMatrix of shape (n_samples, n_features)
        ``n_fields + n_multi_valued`` fields; about
        ``n_fields + n_multi_valued * items_per_row`` non-zeros per row.
    y : ndarray of shape (n_samples,), dtype int8
        Clicks (0 or 1).
    """
    rng = check_random_state(random_state)
    n_total = n_fields + n_multi_valued
    if n_features < n_total:
        raise ValueError(f"n_features={n_features} is below the {n_total} fields.")
    width = n_features // n_total
    offsets = np.arange(n_total) * width
    index = np.minimum(np.arange(n_features) // width, n_total - 1).astype(np.int64)
    weights = rng.normal(scale=0.5, size=n_features).astype(np.float32)
    factors = rng.normal(size=(n_features, 2)).astype(np.float32)

    # filled chunk by chunk: no second copy of the data at any time
    max_nnz = n_samples * (n_fields + 2 * items_per_row * n_multi_valued)
    indices = np.empty(max_nnz, dtype=np.int32)
    data = np.ones(max_nnz, dtype=np.float32)
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    labels = np.empty(n_samples, dtype=np.int8)
    nnz = 0
    for start in range(0, n_samples, 500_000):
        n = min(500_000, n_samples - start)
        parts = [offsets[f] + _hashed_ids(rng, n, width) for f in range(n_fields)]
        block = sp.csr_matrix(
            (np.ones(n * n_fields, dtype=np.float32), np.column_stack(parts).ravel(),
             np.arange(0, n * n_fields + 1, n_fields)),
            shape=(n, n_features),
        )  # fmt: skip
        for f in range(n_fields, n_total):
            rows = np.repeat(
                np.arange(n), rng.randint(0, 2 * items_per_row + 1, size=n)
            )
            cols = offsets[f] + _hashed_ids(rng, len(rows), width)
            multi = sp.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, cols)),
                shape=(n, n_features),
            )
            multi.data[:] = 1.0  # an id drawn twice in a row counts once
            block = block + multi
        block.sort_indices()
        score = block @ weights - 0.5
        first = block[:, :width] @ factors[:width]  # fields 0 and 1 interact
        second = block[:, width : 2 * width] @ factors[width : 2 * width]
        score += 2.0 * np.sum(first * second, axis=1)
        labels[start : start + n] = rng.uniform(size=n) < 1 / (1 + np.exp(-score))
        indices[nnz : nnz + block.nnz] = block.indices
        indptr[start + 1 : start + n + 1] = nnz + block.indptr[1:]
        nnz += block.nnz
    X = sp.csr_matrix(
        (data[:nnz], indices[:nnz], indptr), shape=(n_samples, n_features)
    )
    names = [f"c{f}" for f in range(n_fields)] + [
        f"m{f}" for f in range(n_multi_valued)
    ]
    kinds = ["categorical"] * n_fields + ["multi_valued"] * n_multi_valued
    fields = Fields(index, tuple(names), tuple(kinds))
    return FieldMatrix._from_parts(X, fields), labels


def _hashed_ids(rng, n, width):
    """Heavy-tailed ids hashed into ``[0, width)``."""
    raw = rng.zipf(1.2, size=n).astype(np.int64)
    return (raw * 2654435761) % width
