"""The relational matrix: rows that point to entity tables, each entity's
features stored once (Rendle's relational FM input, myFM's RelationBlock).

A feature that belongs to an entity rather than to a row (every movie a
user rated, every user who rated a movie) repeats on each of the entity's
rows in a plain matrix: MovieLens-100K's 80,000 training rows hold 25 M
non-zeros that way, 80,000 in the tables. Models that know the layout
(the Bayesian FM's sampler, the SGD models' batches) read the tables
through the rows' indices; anything else can ask for the expanded matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

from ._fields import FieldMatrix, Fields, row_key

__all__ = ["RelationalMatrix"]


class RelationalMatrix:
    """A field-aware matrix whose rows point to entity tables.

    Row ``i`` is, column by column, the row-level columns ``X[i]`` followed,
    for every block ``(table, index)``, by the table's row ``index[i]`` (all
    zeros where ``index[i]`` is -1). The expanded matrix is never stored:
    each entity's features are kept once. Row indexing (``X[rows]``, as in
    ``cross_val_score`` and ``GridSearchCV``) selects rows and their indices
    and shares the tables. Every sklfi estimator accepts it; ``tocsr()``
    gives the expanded matrix for any other.

    Parameters
    ----------
    X : FieldMatrix of shape (n_samples, n_row_features)
        The row-level columns (possibly none: ``n_row_features = 0``).
    blocks : sequence of (FieldMatrix, array-like of int) pairs
        For each block, the entity table (one row per entity, its own
        fields) and the entity of every row, ``-1`` for none.

    Attributes
    ----------
    row_part : FieldMatrix
        The row-level columns.
    blocks : tuple of (FieldMatrix, ndarray) pairs
        The tables and the rows' entity indices (int64).
    fields : ndarray of shape (n_features,)
        Field id of every column of the expanded matrix.
    field_names, field_kinds : tuple of str
    feature_names : ndarray of str or None
    shape : tuple of int
        The expanded matrix's shape.

    See Also
    --------
    FieldMatrix : the plain field-aware matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfi import FieldMatrix, RelationalMatrix
    >>> rows = FieldMatrix(np.eye(3), fields=[0, 0, 0], field_names=["item"])
    >>> users = FieldMatrix([[1.0, 1.0], [0.0, 1.0]], fields=[0, 0],
    ...                     field_names=["user_likes"])
    >>> X = RelationalMatrix(rows, [(users, [0, 1, 0])])
    >>> X.tocsr().toarray()
    array([[1., 0., 0., 1., 1.],
           [0., 1., 0., 0., 1.],
           [0., 0., 1., 1., 1.]])
    >>> X[[1]].shape
    (1, 5)
    """

    def __init__(self, X, blocks):
        _check_part(X, "X")
        n = X.shape[0]
        checked = []
        for b, pair in enumerate(blocks):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(
                    f"blocks[{b}] must be a (table, index) pair, got "
                    f"{type(pair).__name__}."
                )
            table, index = pair
            _check_part(table, f"the table of blocks[{b}]")
            checked.append((table, _check_index(index, n, table.shape[0], b)))
        self._set(X, tuple(checked), _joined(X, [t for t, _ in checked]))

    def _set(self, X, blocks, fields, checked=None):
        self.row_part, self.blocks, self._fields = X, blocks, fields
        self._checked = checked  # (the dtype checked() made it of)
        return self

    @property
    def fields(self):
        return self._fields.index

    @property
    def field_names(self):
        return self._fields.names

    @property
    def field_kinds(self):
        return self._fields.kinds

    @property
    def feature_names(self):
        names = [self.row_part.feature_names] + [
            t.feature_names for t, _ in self.blocks
        ]
        if any(n is None for n in names):
            return None
        return np.concatenate(names).astype(object)

    @property
    def shape(self):
        return (self.row_part.shape[0], len(self._fields.index))

    @property
    def nnz(self):
        """Stored values of the expanded matrix (counted, not stored; as
        scipy counts them, duplicates and explicit zeros included)."""
        total = self.row_part.nnz
        for table, index in self.blocks:
            counts = np.append(np.diff(table.tocsr().indptr), 0)
            total += int(counts[index].sum())
        return total

    @property
    def dtype(self):
        """The type that holds every part's values."""
        return np.result_type(self.row_part.dtype, *(t.dtype for t, _ in self.blocks))

    def __len__(self):
        return self.row_part.shape[0]

    def __getitem__(self, key):
        """Select rows; the tables are shared, not copied."""
        key = row_key(key, "RelationalMatrix")
        blocks = tuple((table, index[key]) for table, index in self.blocks)
        return (
            type(self)
            .__new__(type(self))
            ._set(self.row_part[key], blocks, self._fields)
        )

    def sources(self):
        """The row part and the tables stacked as one CSR matrix of the
        expanded matrix's columns (each table followed by an empty row),
        and, for every row, the rows of it that make it up: ``(source,
        parts)`` with ``parts`` of shape ``(n_samples, 1 + n_blocks)``."""
        n = self.shape[0]
        mats, parts, start, offset = [], [np.arange(n)], n, self.row_part.shape[1]
        row_csr = self.row_part.tocsr()
        mats.append(sp.csr_matrix((row_csr.data, row_csr.indices, row_csr.indptr),
                                  (n, self.shape[1])))  # fmt: skip
        for table, index in self.blocks:
            csr = table.tocsr()
            m, width = csr.shape
            shifted = sp.csr_matrix(
                (csr.data, csr.indices + offset, csr.indptr), (m, self.shape[1])
            )
            mats += [shifted, sp.csr_matrix((1, self.shape[1]), dtype=csr.dtype)]
            parts.append(start + np.where(index >= 0, index, m))
            start, offset = start + m + 1, offset + width
        source = sp.vstack(mats, format="csr", dtype=self.dtype)
        return source, np.column_stack(parts).astype(np.int64)

    def tocsr(self):
        """The expanded matrix, as a :class:`scipy.sparse.csr_matrix`."""
        source, parts = self.sources()
        counts, take = gather_rows(source.indptr, parts.ravel())
        indptr = np.concatenate(([0], np.cumsum(counts.reshape(parts.shape).sum(1))))
        return sp.csr_matrix(
            (source.data[take], source.indices[take], indptr), self.shape
        )

    def __matmul__(self, other):
        """``X @ M`` for a dense ``M`` of ``n_features`` rows, from the
        tables' products, gathered (the expanded matrix is not built)."""
        M = np.asarray(other)
        p = self.row_part.shape[1]
        out = np.asarray(self.row_part.tocsr() @ M[:p])
        for table, index in self.blocks:
            width = table.shape[1]
            product = np.asarray(table.tocsr() @ M[p : p + width])
            zero = np.zeros((1,) + product.shape[1:], dtype=product.dtype)
            out = out + np.concatenate([product, zero])[index]
            p += width
        return out

    def power(self, n):
        """The matrix with every value raised to the power ``n``."""
        blocks = tuple((_power(t, n), index) for t, index in self.blocks)
        new = type(self).__new__(type(self))
        return new._set(_power(self.row_part, n), blocks, self._fields)

    def checked(self, dtype=np.float32):
        """The matrix with canonical CSR parts of ``dtype``, finite values
        (sklearn's checks of every part, with their errors), its tables
        holding only the entities its rows point to (a few rows' request
        then costs those entities, not the whole tables)."""
        made = getattr(self, "_checked", None)  # (np.dtype(None) is float64)
        if made is not None and made == np.dtype(dtype):
            return self  # (made by checked() already)
        referenced = [_referenced(t, index) for t, index in self.blocks]
        parts = [self.row_part] + [t for t, _ in referenced]
        csrs = []
        for part in parts:
            csr = _checked_part(part.tocsr(), dtype)
            csrs.append(FieldMatrix._from_parts(csr, part._fields, part.feature_names))
        blocks = tuple((t, index) for t, (_, index) in zip(csrs[1:], referenced))
        new = type(self).__new__(type(self))
        return new._set(csrs[0], blocks, self._fields, np.dtype(dtype))

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "a RelationalMatrix is sparse and is not converted to a dense "
            "array implicitly; call X.tocsr() for the expanded scipy sparse "
            "matrix."
        )

    def __repr__(self):
        n, d = self.shape
        tables = ", ".join(
            f"{t.shape[0]} x {'/'.join(t.field_names)}" for t, _ in self.blocks
        )
        return (
            f"<RelationalMatrix of shape ({n}, {d}) in {len(self.field_names)} "
            f"fields, {self.row_part.nnz} row-level values and tables {tables}>"
        )


def gather_rows(indptr, rows):
    """Non-zero counts of ``rows`` of a CSR matrix and the positions of
    their non-zeros, row after row."""
    begins = indptr[rows]
    counts = indptr[np.asarray(rows) + 1] - begins
    ends = np.cumsum(counts)
    take = np.repeat(begins - (ends - counts), counts) + np.arange(
        ends[-1] if len(ends) else 0
    )
    return counts, take


def _checked_part(csr, dtype):
    """A part as a canonical CSR matrix of finite ``dtype`` values: as it is
    when it is one already (a served request's few rows skip sklearn's
    general checks), else through them, with their errors."""
    if csr.dtype.kind == "f" and csr.dtype != dtype:
        with np.errstate(over="ignore"):  # (too large: the checks say so)
            csr = csr.astype(dtype)
    ready = (
        type(csr) is sp.csr_matrix
        and csr.dtype == dtype
        and csr.has_canonical_format
        and bool(np.isfinite(csr.data).all())
    )
    if ready:
        return csr
    csr = check_array(csr, accept_sparse="csr", dtype=dtype,
                      ensure_min_samples=0, ensure_min_features=0)  # fmt: skip
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    return csr


def _referenced(table, index):
    """The table's rows of the entities ``index`` points to, and the index
    into them (the table itself when it points to every one)."""
    used = np.unique(index[index >= 0])
    if len(used) == table.shape[0]:
        return table, index
    where = np.full(len(index), -1, dtype=np.int64)
    where[index >= 0] = np.searchsorted(used, index[index >= 0])
    rows = table.tocsr()[used]
    return FieldMatrix._from_parts(rows, table._fields, table.feature_names), where


def _power(part, n):
    csr = part.tocsr().power(n).tocsr()
    return FieldMatrix._from_parts(csr, part._fields, part.feature_names)


def _check_part(part, what):
    if not isinstance(part, FieldMatrix):
        raise TypeError(
            f"{what} must be a FieldMatrix (wrap a sparse matrix as "
            f"FieldMatrix(X, fields=...)), got {type(part).__name__}."
        )


def _check_index(index, n, m, b):
    arr = np.asarray(index)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"the index of blocks[{b}] must hold one entity per row ({n}), got "
            f"shape {arr.shape}."
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"the index of blocks[{b}] must hold integers, got {arr.dtype}."
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < -1 or arr.max() >= m):
        raise ValueError(
            f"the index of blocks[{b}] must lie in [-1, {m}) (its table has {m} "
            f"rows; -1 for no entity), got values from {arr.min()} to {arr.max()}."
        )
    return arr


def _joined(X, tables):
    """The fields of the expanded matrix: the row part's, then each table's."""
    index, names, kinds, shift = (
        [X._fields.index],
        [*X.field_names],
        [*X.field_kinds],
        X._fields.n_fields,
    )
    for table in tables:
        index.append(table._fields.index + shift)
        names += table.field_names
        kinds += table.field_kinds
        shift += table._fields.n_fields
    if len(set(names)) != len(names):
        raise ValueError(
            f"field names must be unique across the row part and the tables, got "
            f"{names}."
        )
    return Fields(np.concatenate(index).astype(np.int64), tuple(names), tuple(kinds))
