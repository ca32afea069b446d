"""Validation of ``X`` and its fields, shared by every estimator (the SGD
models and the Bayesian FM)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_y, check_consistent_length, validate_data

from ._fields import FieldMatrix, Fields
from ._relational import RelationalMatrix


class FieldInput:
    """Validation of ``X`` and its fields, shared by every estimator: sklearn's
    checks, a canonical float32 CSR matrix, and the fields (from a
    FieldMatrix, the ``fields`` parameter, or one per column) resolved in
    ``fit`` and checked in ``predict``. The estimator has a ``fields``
    parameter and defines ``_check_size``, its memory guard."""

    def _validate(self, X, y="no_validation", reset=True, **y_params):
        """Check X (and y, in fit); return canonical float32 CSR X (and y),
        or a RelationalMatrix of such parts."""
        if isinstance(X, RelationalMatrix):
            return self._validate_relational(X, y, reset, **y_params)
        fm = X if isinstance(X, FieldMatrix) else None
        data = _float32_csr(X.tocsr() if fm is not None else X)
        if not reset and isinstance(y, str) and self._checked(data, fm):
            return data
        kwargs = dict(accept_sparse="csr", dtype=np.float32, reset=reset)
        with_y = not isinstance(y, str)
        if with_y:
            Xc, y = validate_data(self, data, y, **kwargs, **y_params)
        else:
            Xc = validate_data(self, data, **kwargs)
        if not isinstance(Xc, sp.csr_matrix):  # (a csr_array, say)
            Xc = sp.csr_matrix(Xc)
        if not Xc.has_canonical_format:
            Xc = Xc.copy()
            Xc.sum_duplicates()
        if reset:
            self._set_fields(fm, Xc, getattr(data, "columns", None))
        elif (
            fm is not None
            and fm._fields is not self._fields
            and (
                fm.field_names != self.field_names_
                or not np.array_equal(fm.fields, self.fields_)
            )
        ):
            raise ValueError(
                "X is a FieldMatrix whose fields differ from the fields seen in "
                f"fit ({', '.join(self.field_names_)})."
            )
        return (Xc, y) if with_y else Xc

    def _validate_relational(self, X, y, reset, **y_params):
        """:meth:`_validate` for a RelationalMatrix: sklearn's checks of each
        part, of y, and of the expanded width and fields."""
        for n, what in ((X.shape[0], "sample"), (X.shape[1], "feature")):
            if n == 0:
                raise ValueError(
                    f"Found array with 0 {what}(s) (shape={X.shape}) while a "
                    "minimum of 1 is required."
                )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None."
            )
        X = X.checked()
        if reset:
            self.n_features_in_ = X.shape[1]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            if self.fields is not None and not np.array_equal(
                Fields.build(self.fields, X.shape[1], kinds=X.field_kinds).index,
                X.fields,
            ):
                raise ValueError(
                    "the fields parameter disagrees with the fields carried by "
                    "the RelationalMatrix X; leave fields=None to use X's own."
                )
            info = X._fields
            self._check_size(len(info.index), info.n_fields)
            self._fields, self.fields_ = info, info.index
            self.field_names_, self.field_kinds_ = info.names, info.kinds
        else:
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} "
                    f"is expecting {self.n_features_in_} features as input."
                )
            if X._fields is not self._fields and X._fields != self._fields:
                raise ValueError(
                    "X is a RelationalMatrix whose fields differ from the "
                    f"fields seen in fit ({', '.join(self.field_names_)})."
                )
        if isinstance(y, str):
            return X
        y = _check_y(y, **y_params)
        check_consistent_length(X, y)
        return X, y

    def _checked(self, X, fm) -> bool:
        """Whether ``X``, to predict, is already what :meth:`_validate`
        returns, its checks passed: the case of a served request, spared
        scikit-learn's general checks (a tenth of a millisecond). Anything
        else takes those checks, and their errors."""
        return (
            type(X) is sp.csr_matrix
            and X.dtype == np.float32
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and X.has_canonical_format
            and not hasattr(self, "feature_names_in_")
            and (fm is None or fm._fields == self._fields)
            # (a ufunc's reduce: all()'s Python wrapper costs more here)
            and bool(np.logical_and.reduce(np.isfinite(X.data)))
        )

    def _check_size(self, n_features: int, n_fields: int) -> None:
        """Refuse, before allocating it, a model that cannot fit in memory."""
        raise NotImplementedError

    def _set_fields(self, fm, X, columns):
        if self.fields is None and fm is None:  # one field per column
            self._check_size(X.shape[1], X.shape[1])
        if fm is not None:
            if self.fields is not None and not np.array_equal(
                Fields.build(self.fields, X.shape[1], X=X).index, fm.fields
            ):
                raise ValueError(
                    "the fields parameter disagrees with the fields carried by "
                    "the FieldMatrix X; leave fields=None to use X's own."
                )
            info = fm._fields
        else:
            names = None
            if self.fields is None and columns is not None:
                names = [str(c) for c in columns]
            info = Fields.build(self.fields, X.shape[1], names=names, X=X)
        self._check_size(len(info.index), info.n_fields)
        self._fields = info
        self.fields_ = info.index
        self.field_names_ = info.names
        self.field_kinds_ = info.kinds


def _float32_csr(X):
    """A real CSR matrix as float32 sharing ``X``'s index arrays where scipy
    keeps their type (sklearn's conversion copies them), and keeping its
    known canonical format (scipy caches it on ``X``, so predicting on the
    same matrix again skips the check); anything else unchanged, for
    ``validate_data`` to check."""
    csr = sp.issparse(X) and X.format == "csr" and X.dtype.kind in "biuf"
    if not csr or X.dtype == np.float32:
        return X
    with np.errstate(over="ignore"):  # too large for float32: the check says so
        data = X.data.astype(np.float32)
    if _plain(X):
        # X's own structure with the new values, made directly: scipy's
        # constructor (10 us, most of a served row's conversion) would
        # check again what _plain did and change nothing
        return made_csr(vars(X), data=data)
    out = sp.csr_matrix((data, X.indices, X.indptr), X.shape)
    if X.has_canonical_format:
        out.has_canonical_format = True
    return out


def _plain(X) -> bool:
    """Whether ``X`` is a ``csr_matrix`` whose arrays scipy's constructor
    would keep as they are: int32 indices, and arrays of the lengths its
    shape and non-zeros give (nothing to trim, nothing to refuse)."""
    indptr, indices = X.indptr, X.indices
    return (
        type(X) is sp.csr_matrix
        and indices.dtype == indptr.dtype == np.int32
        and indptr.ndim == indices.ndim == X.data.ndim == 1
        and len(indptr) == X.shape[0] + 1
        and indptr[0] == 0
        and indptr[-1] == len(indices) == len(X.data)
    )


def made_csr(attributes: dict, **changes) -> sp.csr_matrix:
    """A ``csr_matrix`` of the attributes of one (``vars`` of it) with
    ``changes``, made without scipy's constructor: for arrays known to be
    what it would keep (int32 index arrays of the right lengths), whose
    checks cost more than a served row's work."""
    out = sp.csr_matrix.__new__(sp.csr_matrix)
    out.__dict__.update(attributes, **changes)
    return out
