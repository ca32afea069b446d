"""Small sparse rows and naive (per-row, per-pair) formulas to test against."""

import itertools

import numpy as np
import scipy.sparse as sp
import torch

from sklfi.nn import SparseBatch

# 4 fields: categorical (5 columns), multi-valued (6), numeric (1), categorical (3)
FIELDS = np.array([0] * 5 + [1] * 6 + [2] + [3] * 3)
N_FIELDS = 4


def random_rows(n_rows=7, seed=0):
    """CSR rows with one category per categorical field, 0-3 items in the
    multi-valued field (some rows none) and a real value in the numeric one."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_rows, len(FIELDS)))
    for r in range(n_rows):
        dense[r, rng.integers(0, 5)] = 1.0
        for c in rng.choice(6, size=rng.integers(0, 4), replace=False):
            dense[r, 5 + c] = rng.uniform(0.2, 1.0)
        dense[r, 11] = rng.normal()
        dense[r, 12 + rng.integers(0, 3)] = 1.0
    # values exactly representable in float32, the dtype of batches
    return sp.csr_matrix(dense.astype(np.float32).astype(np.float64))


def one_per_field_rows(n_rows, one_hot, seed=7):
    """CSR rows with exactly one non-zero in each field of ``FIELDS``."""
    rng = np.random.default_rng(seed)
    sizes = [5, 6, 1, 3]
    cols = np.cumsum([0, *sizes[:-1]]) + rng.integers(0, sizes, size=(n_rows, 4))
    values = rng.uniform(0.5, 2, cols.size).astype(np.float32).astype(np.float64)
    if one_hot:
        values[:] = 1.0
    indptr = np.arange(0, cols.size + 1, 4)
    return sp.csr_matrix((values, cols.ravel(), indptr), shape=(n_rows, len(FIELDS)))


def batch(X, fields=None, dtype=torch.float64):
    """``X`` as one batch (flagged one_per_field when ``fields`` allow),
    values in ``dtype``."""
    x = SparseBatch.from_csr(X, fields)
    if x.val is not None:
        x.val = x.val.to(dtype)
    return x


def nonzeros(X, r):
    """(column, value) of every non-zero of row ``r``."""
    row = X.getrow(r)
    return list(zip(row.indices.tolist(), row.data.tolist()))


def field_embeddings(X, V, r, fields=FIELDS, n_fields=N_FIELDS):
    """``e_f = sum_{i in f} x_i V_i`` of row ``r``: ``(F, D)``."""
    e = np.zeros((n_fields, V.shape[1]))
    for i, x in nonzeros(X, r):
        e[fields[i]] += x * V[i]
    return e


def linear(X, w, bias, r):
    """``w_0 + sum_i w_i x_i`` of row ``r``."""
    return bias + sum(w[i] * x for i, x in nonzeros(X, r))


def fm_pairs(X, V, r):
    """``sum_{i<j} x_i V_i * x_j V_j`` of row ``r``: ``(D,)``."""
    out = np.zeros(V.shape[1])
    for (i, xi), (j, xj) in itertools.combinations(nonzeros(X, r), 2):
        out += V[i] * V[j] * xi * xj
    return out


def random_linear(embedding, seed=0):
    """Give an embedding random linear weights and biases (they start at 0);
    return them as numpy arrays ``(w (n_features, K), bias (K,))``."""
    gen = torch.Generator().manual_seed(seed)
    K = embedding.n_outputs
    with torch.no_grad():
        w = embedding.weight[:, embedding.weight.shape[1] - K :]
        w.copy_(torch.randn(w.shape, generator=gen, dtype=w.dtype))
        embedding.bias.copy_(torch.randn(K, generator=gen, dtype=w.dtype))
    return w.detach().numpy().copy(), embedding.bias.detach().numpy().copy()
