"""Field metadata and the field-aware sparse matrix.

A *field* is a group of columns that describe one variable: the one-hot
columns of ``user_id``, the multi-hot columns of ``genres``, the single column
of a scaled ``age``. Field-aware models (FFM, AFM, NFM, DeepFM, Wide & Deep,
DLRM) pool the embeddings of each field; FM ignores fields.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["FieldMatrix", "KINDS", "mixed_kinds"]

#: The kinds of field. ``numeric`` fields hold real values (DLRM sends them to
#: its bottom MLP); the others hold 0/1 indicators (one or several per row).
KINDS = ("categorical", "multi_valued", "numeric")


@dataclass(frozen=True, eq=False)
class Fields:
    """Field metadata of a matrix: the field of every column, names and kinds.

    Attributes
    ----------
    index : ndarray of shape (n_features,), dtype int64
        Field id (``0..F-1``) of every column.
    names : tuple of str, length F
    kinds : tuple of str, length F
        Each one of :data:`KINDS`.
    """

    index: np.ndarray
    names: tuple
    kinds: tuple

    @property
    def n_fields(self) -> int:
        return len(self.names)

    def id_of(self, field, what: str) -> int:
        """The id of a field given by name or id.

        Raises a ``ValueError`` that names ``what`` (the parameter or value
        that gave the field) when there is no such field.
        """
        if isinstance(field, str):
            if field in self.names:
                return self.names.index(field)
        elif (
            isinstance(field, numbers.Integral)
            and not isinstance(field, bool)
            and 0 <= field < self.n_fields
        ):
            return int(field)
        raise ValueError(
            f"{what} names the unknown field {field!r}; the fields are "
            f"{list(self.names)}."
        )

    def __eq__(self, other):
        return self is other or (
            isinstance(other, Fields)
            and np.array_equal(self.index, other.index)
            and self.names == other.names
            and self.kinds == other.kinds
        )

    __hash__ = None

    @classmethod
    def build(cls, fields, n_features, names=None, kinds=None, X=None):
        """Validate ``fields`` and complete names and kinds.

        ``fields`` is an array-like of length ``n_features`` of field ids
        (non-negative integers) or of field names (strings); ``None`` means one
        field per column. Missing kinds are inferred from ``X`` (see
        :func:`infer_kinds`).
        """
        if fields is None:
            index = np.arange(n_features, dtype=np.int64)
            default_names = [f"x{j}" for j in range(n_features)]
        else:
            index, default_names = _field_ids(fields, n_features)
        n_fields = len(default_names)
        names = default_names if names is None else [str(n) for n in names]
        if len(names) != n_fields:
            raise ValueError(
                f"field_names has {len(names)} entries but the fields define "
                f"{n_fields} fields."
            )
        if len(set(names)) != n_fields:
            raise ValueError(f"field names must be unique, got {names}.")
        if kinds is None:
            kinds = infer_kinds(X, index, n_fields)
        kinds = tuple(kinds)
        if len(kinds) != n_fields:
            raise ValueError(
                f"field_kinds has {len(kinds)} entries but the fields define "
                f"{n_fields} fields."
            )
        bad = sorted({k for k in kinds if k not in KINDS})
        if bad:
            raise ValueError(f"unknown field kinds {bad}; expected one of {KINDS}.")
        return cls(index, tuple(names), kinds)


def _field_ids(fields, n_features):
    """Return (int64 field id per column, field names) from a ``fields`` array."""
    if isinstance(fields, (str, bytes)) or not hasattr(fields, "__len__"):
        raise TypeError(
            "fields must be an array-like with one field id per column of X, "
            f"got {type(fields).__name__}."
        )
    arr = np.asarray(fields)
    if arr.ndim != 1:
        raise ValueError(f"fields must be one-dimensional, got shape {arr.shape}.")
    if arr.shape[0] != n_features:
        raise ValueError(
            f"fields has length {arr.shape[0]} but X has {n_features} columns: "
            "give the field id of every column."
        )
    if n_features == 0:
        return arr.astype(np.int64), []
    if arr.dtype.kind in "USO" and all(isinstance(f, str) for f in arr.tolist()):
        names, first, ids = np.unique(arr, return_index=True, return_inverse=True)
        order = np.argsort(first)  # number fields in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return rank[ids].astype(np.int64), [str(n) for n in names[order]]
    if arr.dtype.kind == "b" or (
        arr.dtype.kind not in "iu"
        and not (
            arr.dtype.kind == "f"
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        )
    ):
        raise TypeError(
            "fields must hold integer field ids (or field names as strings), "
            f"got dtype {arr.dtype}."
        )
    if arr.min() < 0:
        raise ValueError(
            f"fields must be non-negative field ids, got {int(arr.min())}."
        )
    uniq, ids = np.unique(arr.astype(np.int64), return_inverse=True)
    return ids.astype(np.int64), [f"field{int(u)}" for u in uniq]


def infer_kinds(X, index, n_fields, chunk=2**20):
    """Infer the kind of every field from the values of a CSR matrix.

    A field of one column whose values are not all 0 or 1 is ``numeric``; a
    field with two or more non-zeros in some row is ``multi_valued``; any other
    field is ``categorical``. Without ``X`` every field is ``categorical``.
    Rows are read in slices of about ``chunk`` non-zeros, so the memory
    needed is ``O(n_features + chunk)``, whatever the size of ``X``.

    In a canonical CSR matrix whose fields are runs of consecutive columns
    (as every sklfi transformer makes them), the non-zeros of a row in one
    field are neighbours: one comparison of each non-zero's field with the
    one before finds the multi-valued fields (0.2 s for 26 million
    non-zeros). Rows whose fields interleave are sorted by field first.
    """
    kinds = np.array(["categorical"] * n_fields, dtype=object)
    if X is None or n_fields == 0:
        return tuple(kinds)
    X = sp.csr_matrix(X)
    index = np.asarray(index)
    index = index.astype(np.int32 if n_fields < 2**31 else np.int64, copy=False)
    multi = np.zeros(n_fields, dtype=bool)
    non_binary = np.zeros(n_fields, dtype=bool)
    runs = X.has_sorted_indices and bool(np.all(index[1:] >= index[:-1]))
    # the first row of slices of about chunk non-zeros (and at least one row)
    firsts = np.unique(
        np.searchsorted(X.indptr, np.arange(0, X.nnz, chunk), "right") - 1
    )
    for lo, hi in zip(firsts, [*firsts[1:], X.shape[0]]):
        nnz = slice(X.indptr[lo], X.indptr[hi])
        field = index[X.indices[nnz]]
        data = X.data[nnz]
        non_binary[field[(data != 0) & (data != 1)]] = True
        if not runs:  # (each row's non-zeros in field order)
            row = np.repeat(np.arange(hi - lo), np.diff(X.indptr[lo : hi + 1]))
            field = field[np.lexsort((field, row))]
        # a non-zero of the field of the one before it, in the same row
        same = field[1:] == field[:-1]
        starts = X.indptr[lo + 1 : hi] - X.indptr[lo]  # (rows after the first)
        same[starts[(starts > 0) & (starts < len(field))] - 1] = False
        multi[field[1:][same]] = True
    kinds[multi] = "multi_valued"
    width = np.bincount(index, minlength=n_fields)
    kinds[non_binary & (width == 1)] = "numeric"
    return tuple(kinds)


class FieldMatrix:
    """A sparse CSR matrix that carries its field metadata.

    This is what sklfi transformers return, so that in
    ``make_pipeline(FieldEncoder(), FFMClassifier())`` the estimator learns the
    fields with no extra argument. Row indexing (``X[rows]``, as done by
    ``cross_val_score`` and ``GridSearchCV``) keeps the fields.

    Parameters
    ----------
    X : sparse matrix or array-like of shape (n_samples, n_features)
        The data; stored as a CSR matrix.
    fields : array-like of shape (n_features,)
        Field id (``0..F-1``) or field name of every column.
    field_names : sequence of str, default=None
        Name of every field; defaults to the names given in ``fields`` or
        ``"field<id>"``.
    field_kinds : sequence of str, default=None
        Kind of every field, each one of ``"categorical"``, ``"multi_valued"``
        and ``"numeric"``; inferred from the values when ``None``.
    feature_names : array-like of str of shape (n_features,), default=None
        Name of every column.

    Attributes
    ----------
    fields : ndarray of shape (n_features,)
        Field id of every column.
    field_names : tuple of str
    field_kinds : tuple of str
    feature_names : ndarray of str or None
    shape : tuple of int

    Examples
    --------
    >>> import numpy as np
    >>> from sklfi import FieldMatrix
    >>> X = FieldMatrix(np.eye(3), fields=[0, 0, 1], field_names=["user", "item"])
    >>> X[[0, 2]].field_names
    ('user', 'item')
    >>> X.tocsr().shape
    (3, 3)
    """

    def __init__(
        self, X, fields, field_names=None, field_kinds=None, feature_names=None
    ):
        X = sp.csr_matrix(X)
        self._X = X
        self._fields = Fields.build(
            fields, X.shape[1], names=field_names, kinds=field_kinds, X=X
        )
        if feature_names is not None:
            feature_names = np.asarray(feature_names, dtype=object)
            if feature_names.shape != (X.shape[1],):
                raise ValueError(
                    f"feature_names has shape {feature_names.shape}, expected "
                    f"({X.shape[1]},)."
                )
        self.feature_names = feature_names

    @classmethod
    def _from_parts(cls, X, fields, feature_names=None):
        obj = cls.__new__(cls)
        obj._X, obj._fields, obj.feature_names = X, fields, feature_names
        return obj

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
    def shape(self):
        return self._X.shape

    @property
    def nnz(self):
        return self._X.nnz

    @property
    def dtype(self):
        return self._X.dtype

    def __len__(self):
        return self._X.shape[0]

    def __getitem__(self, key):
        """Select rows; the columns, and so the fields, stay as they are."""
        key = row_key(key, "FieldMatrix")
        return self._from_parts(self._X[key], self._fields, self.feature_names)

    def tocsr(self):
        """Return the data as a plain :class:`scipy.sparse.csr_matrix`."""
        return self._X

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "a FieldMatrix is sparse and is not converted to a dense array "
            "implicitly; call X.tocsr() to get the scipy sparse matrix (for "
            "example with FunctionTransformer(lambda X: X.tocsr()) in a "
            "Pipeline with a non-sklfi estimator)."
        )

    def __repr__(self):
        n, d = self.shape
        return (
            f"<FieldMatrix of shape ({n}, {d}) with {self.nnz} stored values "
            f"in {len(self.field_names)} fields: {', '.join(self.field_names)}>"
        )


def hstack_fields(blocks):
    """Concatenate ``(csr, name, kind, feature_names)`` blocks into a FieldMatrix.

    Each block is one field; used by the transformers of
    :mod:`sklfi.preprocessing`.
    """
    mats, names, kinds, feats, index = [], [], [], [], []
    for f, (mat, name, kind, feature_names) in enumerate(blocks):
        mats.append(mat)
        names.append(name)
        kinds.append(kind)
        feats.extend(feature_names)
        index.append(np.full(mat.shape[1], f, dtype=np.int64))
    X = sp.hstack(mats, format="csr", dtype=np.float64)
    fields = Fields(np.concatenate(index), tuple(names), tuple(kinds))
    return FieldMatrix._from_parts(X, fields, np.asarray(feats, dtype=object))


def _kind(value) -> str:
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (numbers.Number, np.number)):
        return "number"
    return type(value).__name__


def mixed_kinds(values) -> list:
    """The kinds of value (``str``, ``number``, ``bool``, or a type's name) a
    1-d array of labels or categories mixes, or ``[]`` when it holds one kind
    (missing values aside): ``1``, ``"1"`` and ``True`` would otherwise be
    merged or compared across types. Cheap for arrays of one kind, which
    pandas tells apart without looking at every value in Python."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "categorical":  # (a Series of that dtype, or a Categorical)
        values = pd.Categorical(values).categories
        kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("mixed", "mixed-integer"):
        return []
    kinds = sorted(set(pd.Series(values).dropna().map(_kind)))
    return kinds if len(kinds) > 1 else []


def check_positive_integer(value, name: str) -> None:
    """A ``ValueError`` naming ``name`` unless ``value`` is an integer >= 1
    (``True`` is not a count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def row_key(key, kind):
    """A row selection from ``X[key]`` (``X[rows]`` or ``X[rows, :]``); an
    integer keeps its row as a one-row matrix."""
    if isinstance(key, tuple):
        rows, *rest = key
        if any(r is not Ellipsis and r != slice(None) for r in rest):
            raise IndexError(
                f"{kind} supports row indexing only (X[rows] or X[rows, :]); "
                "index X.tocsr() to select columns."
            )
        key = rows
    if isinstance(key, numbers.Integral):
        key = [key]
    return key
