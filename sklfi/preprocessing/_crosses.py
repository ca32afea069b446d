"""FieldCrosser: cross-product fields, the memorisation features of Wide & Deep."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._fields import FieldMatrix, Fields
from .._relational import RelationalMatrix

__all__ = ["FieldCrosser"]


def _cartesian(rows_a, keys_a, vals_a, rows_b, keys_b, vals_b, width_b, n_rows):
    """Per row, every pair of an entry of a and an entry of b (row-sorted)."""
    count_b = np.bincount(rows_b, minlength=n_rows)
    start_b = np.cumsum(count_b) - count_b
    repeat = count_b[rows_a]
    a = np.repeat(np.arange(len(rows_a)), repeat)
    b = (
        start_b[rows_a[a]]
        + np.arange(len(a))
        - np.repeat(np.cumsum(repeat) - repeat, repeat)
    )
    return rows_a[a], keys_a[a] * width_b + keys_b[b], vals_a[a] * vals_b[b]


class FieldCrosser(TransformerMixin, BaseEstimator):
    """Append cross-product fields to a :class:`~sklfi.FieldMatrix`.

    A cross of fields ``(a, b)`` is a new categorical field with one column per
    combination of a category of ``a`` and a category of ``b`` seen together
    in ``fit`` (``AND(gender=F, occupation=writer)``), valued by the product
    of the two values. These are the memorisation features of the wide part
    of Wide & Deep; crosses of more than two fields, and of multi-valued
    fields (every pair of items), work the same way. Combinations unseen in
    ``fit`` are left out.

    Parameters
    ----------
    crosses : list of tuples of field names or ids
        The fields to cross, e.g. ``[("gender", "occupation")]``.

    Attributes
    ----------
    vocabularies_ : list of ndarray
        Sorted keys of the combinations seen in ``fit``, one array per cross.
    field_names_ : tuple of str
        Names of the output fields: the input ones, then ``"a x b"`` per cross.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfi.preprocessing import FieldCrosser, FieldEncoder
    >>> df = pd.DataFrame({"gender": ["F", "M", "F"], "job": ["dev", "dev", "art"]})
    >>> X = FieldEncoder().fit_transform(df)
    >>> Xc = FieldCrosser([("gender", "job")]).fit_transform(X)
    >>> Xc.field_names
    ('gender', 'job', 'gender x job')
    >>> Xc.feature_names[-3:].tolist()
    ['gender=F x job=art', 'gender=F x job=dev', 'gender=M x job=dev']
    """

    def __init__(self, crosses):
        self.crosses = crosses

    def _resolve(self, fields: Fields):
        """Crosses as tuples of field ids, checked against ``fields``."""
        if isinstance(self.crosses, (str, bytes)) or not hasattr(
            self.crosses, "__iter__"
        ):
            raise TypeError(
                "crosses must be a list of tuples of field names or ids, got "
                f"{self.crosses!r}."
            )
        resolved = []
        for cross in self.crosses:
            if isinstance(cross, (str, bytes)) or len(cross) < 2:
                raise ValueError(
                    f"each cross must name two or more fields, got {cross!r}."
                )
            ids = []
            for f in cross:
                f = fields.id_of(f, f"cross {cross!r}")
                if fields.kinds[f] == "numeric":
                    raise ValueError(
                        f"cross {cross!r}: field {fields.names[f]!r} is numeric; "
                        "only categorical and multi-valued fields can be crossed."
                    )
                ids.append(int(f))
            resolved.append(tuple(ids))
        return resolved

    def _keys(self, X: sp.csr_matrix, fields: Fields, cross):
        """(row, key, value) of every combination of the cross in every row."""
        width = np.bincount(fields.index, minlength=fields.n_fields)
        if np.prod([float(width[f]) for f in cross]) >= 2**63:
            raise ValueError(f"cross {cross} has too many combinations to encode.")
        local = np.empty(X.shape[1], dtype=np.int64)  # column -> rank in its field
        for f in set(cross):
            cols = np.flatnonzero(fields.index == f)
            local[cols] = np.arange(len(cols))
        entry_rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        entry_field = fields.index[X.indices]
        out = None
        for f in cross:
            mask = entry_field == f
            part = (entry_rows[mask], local[X.indices[mask]], X.data[mask])
            out = part if out is None else _cartesian(*out, *part, width[f], X.shape[0])
        return out

    def fit(self, X, y=None):
        """Learn the combinations of each cross present in ``X``.

        Parameters
        ----------
        X : FieldMatrix
        y : ignored

        Returns
        -------
        self
        """
        X = _check_field_matrix(X)
        self._fields = X._fields
        self._crosses = self._resolve(X._fields)
        self.n_features_in_ = X.shape[1]
        self.vocabularies_ = [
            np.unique(self._keys(X.tocsr(), X._fields, c)[1]) for c in self._crosses
        ]
        names = X._fields.names
        self.field_names_ = names + tuple(
            " x ".join(names[f] for f in c) for c in self._crosses
        )
        self._cross_feature_names = [
            self._feature_names(X, c, v)
            for c, v in zip(self._crosses, self.vocabularies_)
        ]
        return self

    def transform(self, X):
        """Return ``X`` with one cross-product field appended per cross.

        Parameters
        ----------
        X : FieldMatrix with the fields seen in ``fit``

        Returns
        -------
        FieldMatrix
        """
        check_is_fitted(self, "vocabularies_")
        X = _check_field_matrix(X)
        if X._fields != self._fields:
            raise ValueError("X's fields differ from the fields seen in fit.")
        csr = X.tocsr()
        fields, n = self._fields, X.shape[0]
        blocks, index, kinds, feats = [csr], [fields.index], list(fields.kinds), []
        for k, (cross, vocab) in enumerate(zip(self._crosses, self.vocabularies_)):
            rows, keys, vals = self._keys(csr, fields, cross)
            pos = np.minimum(np.searchsorted(vocab, keys), max(len(vocab) - 1, 0))
            known = vocab[pos] == keys if len(vocab) else np.zeros(len(keys), bool)
            blocks.append(
                sp.csr_matrix(
                    (vals[known], (rows[known], pos[known])), shape=(n, len(vocab))
                )
            )
            index.append(np.full(len(vocab), fields.n_fields + k, dtype=np.int64))
            multi = any(fields.kinds[f] == "multi_valued" for f in cross)
            kinds.append("multi_valued" if multi else "categorical")
            feats.extend(self._cross_feature_names[k])
        out_fields = Fields(np.concatenate(index), self.field_names_, tuple(kinds))
        names = None
        if X.feature_names is not None and self._has_names:
            names = np.concatenate([X.feature_names, np.asarray(feats, dtype=object)])
        return FieldMatrix._from_parts(
            sp.hstack(blocks, format="csr"), out_fields, names
        )

    def _feature_names(self, X, cross, vocab):
        fields = self._fields
        self._has_names = X.feature_names is not None
        if X.feature_names is None:
            name = " x ".join(fields.names[f] for f in cross)
            return [f"{name}[{j}]" for j in range(len(vocab))]
        width = np.bincount(fields.index, minlength=fields.n_fields)
        per_field = {
            f: X.feature_names[np.flatnonzero(fields.index == f)] for f in set(cross)
        }
        names, keys = None, vocab.copy()
        for f in reversed(cross):  # undo the mixed-radix key, last field first
            part = per_field[f][keys % width[f]].astype(str)
            names = (
                part if names is None else np.char.add(np.char.add(part, " x "), names)
            )
            keys = keys // width[f]
        return [] if names is None else names.tolist()


def _check_field_matrix(X) -> FieldMatrix:
    if isinstance(X, RelationalMatrix):  # (crosses read the expanded columns)
        return FieldMatrix._from_parts(X.tocsr(), X._fields, X.feature_names)
    if not isinstance(X, FieldMatrix):
        raise TypeError(
            "FieldCrosser needs a FieldMatrix (from FieldEncoder, or "
            f"FieldMatrix(X, fields)) to know the fields; got {type(X).__name__}."
        )
    return X
