"""FieldEncoder's transform of a few rows (a served request), in plain
Python and numpy: pandas' per-call costs (a Series per column, an index
lookup, a sparse block per field and their concatenation: 2-3 ms for one
row of eight columns) dwarf the work.

The result is the matrix the general path makes, bit for bit. Anything
out of the ordinary (a value of another type than the categories', an
unhashable one, an unknown category under ``handle_unknown="error"``, a
number column that is not numbers) returns ``None``, and the general path
then encodes the rows, or raises its error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._fields import FieldMatrix
from .._input import made_csr

#: Up to this many rows, FieldEncoder.transform takes this path.
FEW_ROWS = 32

#: A canonical csr_matrix's attributes besides its arrays and shape (as
#: scipy sets them; the format known).
CANONICAL = {
    **{k: v for k, v in vars(sp.csr_matrix((1, 1))).items()
       if k not in ("data", "indices", "indptr", "_shape")},
    "_has_canonical_format": True,
    "_has_sorted_indices": True,
}  # fmt: skip


class Layout:
    """What encoding a row needs from a fitted FieldEncoder, made once: each
    field's first column and code of every category, and the output's
    fields and column names."""

    def __init__(self, encoder):
        self.fields, self.codes, self.starts = [], [], []
        start = 0
        for col, name, kind in zip(
            encoder._columns, encoder.field_names_, encoder.field_kinds_
        ):
            cats = encoder.categories_.get(name)
            codes = None if cats is None else {c: i for i, c in enumerate(cats)}
            width = 1 if cats is None else len(cats)
            self.fields.append((col, name, kind, _kind_of(cats)))
            self.codes.append(codes)
            self.starts.append(start)
            start += width
        self.n_columns = start
        self.out = encoder._output_fields()
        self.feature_names = encoder.get_feature_names_out()


def _kind_of(cats):
    """The numpy kind of values a column must hold to be looked up by a
    dict as ``Index.get_indexer`` would (``None`` for numeric fields)."""
    if cats is None:
        return None
    if pd.api.types.is_bool_dtype(cats):
        return "b"
    if pd.api.types.is_integer_dtype(cats):
        return "iu"
    if pd.api.types.is_float_dtype(cats):
        return "f"
    return "O" if all(isinstance(c, str) for c in cats) else None


def encode_rows(encoder, layout: Layout, X: pd.DataFrame):
    """The FieldMatrix of ``X``'s few rows, or ``None`` (see the module)."""
    n = len(X)
    rows, cols, vals = [], [], []
    for (col, name, kind, want), codes, start in zip(
        layout.fields, layout.codes, layout.starts
    ):
        values = _column(X, col)
        if values is None:
            return None
        if kind == "numeric":
            if values.dtype.kind not in "fiub":
                return None
            raw = values.astype(np.float64)
            if np.isinf(raw).any():
                return None
            with np.errstate(over="ignore"):
                value = (raw - encoder.mean_[name]) / encoder.scale_[name]
            if np.isinf(value).any():
                return None
            keep = np.flatnonzero((value != 0) & (value == value))  # (not NaN)
            rows.extend(keep.tolist())
            cols.extend([start] * len(keep))
            vals.extend(value[keep].tolist())
            continue
        if want is None or (want != "O" and values.dtype.kind not in want):
            return None
        error = encoder.handle_unknown == "error"
        for r, v in enumerate(values.tolist()):
            items = _items(v, kind, encoder.sep)
            if items is None:
                return None
            for item in items:
                if want == "O" and not isinstance(item, str):
                    return None
                code = codes.get(item, -1)
                if code < 0:
                    if error:
                        return None
                    continue
                rows.append(r)
                cols.append(start + code)
                vals.append(1.0)
    return FieldMatrix._from_parts(
        _csr(rows, cols, vals, n, layout.n_columns), layout.out, layout.feature_names
    )


def _csr(rows, cols, vals, n_rows, n_columns):
    """The canonical CSR matrix of the entries (an entry twice is summed, as
    an item twice counts 2 in the general path), made directly: scipy's
    conversion from (row, column) pairs costs more than the rest."""
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    vals = np.asarray(vals, np.float64)
    key = rows * n_columns + cols
    order = np.argsort(key, kind="stable")
    key, vals = key[order], vals[order]
    first = np.flatnonzero(np.diff(key, prepend=-1))
    if len(first) < len(key):
        vals = np.add.reduceat(vals, first)
    key = key[first]
    indptr = np.searchsorted(key // n_columns, np.arange(n_rows + 1))
    if max(n_rows, n_columns) > np.iinfo(np.int32).max:  # (scipy's int64)
        X = sp.csr_matrix((vals, key % n_columns, indptr), (n_rows, n_columns))
        X.has_canonical_format = True
        return X
    # (the arrays scipy's constructor would keep, made directly: its checks
    # cost more than the rest)
    return made_csr(
        CANONICAL,
        _shape=(n_rows, n_columns),
        data=vals,
        indices=(key % n_columns).astype(np.int32),
        indptr=indptr.astype(np.int32),
    )


def _column(X: pd.DataFrame, col):
    """A column's values as a numpy array (``None`` for an extension type
    numpy cannot hold as it is), without making a Series: pandas' own
    accessor takes a microsecond, a Series eight."""
    get = getattr(X, "_get_column_array", None)
    if get is None:
        values = X[col].array
    else:
        where = X.columns.get_loc(col)
        if not isinstance(where, int):  # (a repeated label: the general path)
            return None
        values = get(where)
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values.dtype, pd.StringDtype):  # (text: an object array)
        return np.asarray(values, dtype=object)
    return None


def _items(value, kind, sep):
    """The categories of one cell: ``[]`` when missing, ``None`` when the
    cell is not an ordinary one."""
    if kind == "categorical":
        if isinstance(value, (list, tuple, set, dict, np.ndarray)):
            return None
        return [] if _missing(value) else [value]
    if isinstance(value, str):
        return [item for item in value.split(sep) if item != ""]
    if isinstance(value, (list, tuple)):
        return [item for item in value if item != ""]
    return [] if _missing(value) else None


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)
