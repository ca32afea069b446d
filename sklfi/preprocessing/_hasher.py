"""FieldHasher: a DataFrame -> a field-aware matrix of hashed ids, with no
state, so any chunk of a large file is encoded alone, in any process, with
the same columns."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import murmurhash3_32
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import _incremental_mean_and_var

from .._fields import FieldMatrix, Fields, mixed_kinds
from ._encoder import (
    FieldEncoder,
    _numeric,
    _standardise,
    as_frame,
    check_column_names,
    standardised,
)

__all__ = ["FieldHasher"]


def _token(value) -> str:
    """The text a value is hashed by: whole floats as integers, so that an id
    read as 12 in one chunk and 12.0 in another (a column with missing
    values) lands in the same column."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer, np.bool_)):
        return str(value.item())
    return str(value)


def _utf8(text: str) -> bytes:
    """The bytes murmurhash3_32 hashes ``text`` by: its UTF-8, as
    scikit-learn encodes it (ordinary strings keep their columns), with lone
    surrogates too (which ``errors="surrogateescape"`` makes of undecodable
    bytes, for one), which strict UTF-8 refuses."""
    return text.encode("utf-8", "surrogatepass")


def _hash(values: pd.Series, n_features: int, seed: int):
    """Column of every non-missing value, and the positions of those values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    buckets = (
        np.fromiter(
            (murmurhash3_32(_utf8(_token(u)), seed, positive=True) for u in uniques),
            dtype=np.int64,
            count=len(uniques),
        )
        % n_features
    )
    known = codes >= 0
    return buckets[codes[known]], np.flatnonzero(known)


class FieldHasher(TransformerMixin, BaseEstimator):
    """Hash the columns of a DataFrame into the fields of a sparse matrix.

    Every selected column becomes one field of the output
    :class:`~sklfi.FieldMatrix`, in the DataFrame's column order:

    * categorical: ``n_features`` columns; each value goes to the column of
      its MurmurHash3 (as scikit-learn's ``FeatureHasher``), with a seed per
      field, valued 1;
    * multi-valued (lists, or strings joined by ``sep``): the same, one
      column per item (items hashed to one column add up);
    * numeric: one column, standardised as :class:`FieldEncoder` does, with
      the mean and standard deviation learnt by :meth:`fit` or, chunk by
      chunk, :meth:`partial_fit` (missing values become 0, the mean).

    Hashing learns nothing: any chunk of a large file, in any process, is
    encoded with the same columns, ids of any type and size included, and
    ids never seen before get a column too; a hasher without numeric
    columns needs no fit. Numeric columns need their statistics first
    (unscaled numbers, charges in the thousands next to one-hot columns,
    cost a model several points of AUC): stream the file once through
    :meth:`partial_fit`, then train; or learn them from the first chunk
    and keep updating them as chunks come. Values are hashed by their text, with whole
    floats taken as integers (``12.0`` as ``12``: an id column with missing
    values reads as floats). Different values may share a column (hash
    collisions), a few percent when a field has about as many distinct
    values as ``n_features``/20.

    Parameters
    ----------
    n_features : int, default=2**20
        Columns of every categorical or multi-valued field.
    categorical, multi_valued, numeric : list of column labels, default=None
        Columns of each kind; columns in none of them are dropped. When all
        three are ``None`` every column is encoded, its kind inferred from its
        dtype as in :class:`FieldEncoder` (read chunks with the same dtypes,
        e.g. ``pd.read_csv(..., dtype=...)``, or the kinds, so the columns,
        may differ between chunks).
    sep : str, default="|"
        Separator of multi-valued columns given as strings.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of the last DataFrame seen by ``fit`` or
        ``partial_fit``.
    mean_, scale_ : dict
        Mean and standard deviation of each numeric column (by name), as
        :class:`FieldEncoder` has them.
    n_samples_seen_ : dict
        Non-missing values seen of each numeric column, for the running
        statistics of ``partial_fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfi.preprocessing import FieldHasher
    >>> ads = pd.DataFrame({"site": ["a.com", "b.org"], "tags": ["x|y", "z"]})
    >>> hasher = FieldHasher(n_features=2**10, categorical=["site"],
    ...                      multi_valued=["tags"])
    >>> X = hasher.transform(ads)  # no numeric column: no fit needed
    >>> X.shape, X.field_names
    ((2, 2048), ('site', 'tags'))

    Numeric columns are standardised with statistics learnt chunk by chunk:

    >>> prices = FieldHasher(n_features=2**10, categorical=["site"],
    ...                      numeric=["price"])
    >>> for chunk in (ads.assign(price=[10.0, 30.0]), ads.assign(price=[20.0, 40.0])):
    ...     prices = prices.partial_fit(chunk)
    >>> prices.mean_["price"], round(prices.scale_["price"], 3)
    (25.0, 11.18)
    """

    _parameter_constraints = {
        "n_features": [Interval(Integral, 1, 2**31 - 1, closed="both")],
        "categorical": [list, None],
        "multi_valued": [list, None],
        "numeric": [list, None],
        "sep": [str],
    }

    def __init__(
        self,
        n_features=2**20,
        categorical=None,
        multi_valued=None,
        numeric=None,
        sep="|",
    ):
        self.n_features = n_features
        self.categorical = categorical
        self.multi_valued = multi_valued
        self.numeric = numeric
        self.sep = sep

    def fit(self, X, y=None):
        """Learn the mean and standard deviation of ``X``'s numeric columns
        (as :class:`FieldEncoder` does); hashing learns nothing.

        Parameters
        ----------
        X : DataFrame
        y : ignored

        Returns
        -------
        self
        """
        return self._learn(X, first=True)

    def partial_fit(self, X, y=None):
        """Update the numeric columns' running mean and standard deviation
        with the chunk ``X`` (as ``StandardScaler.partial_fit``: the
        statistics of all the chunks so far).

        Parameters
        ----------
        X : DataFrame
        y : ignored

        Returns
        -------
        self
        """
        return self._learn(X, first=not hasattr(self, "mean_"))

    def _learn(self, X, first):
        self._validate_params()
        X = as_frame(X)
        columns = self._columns(X)
        self.n_features_in_ = X.shape[1]
        if first:
            self.mean_, self.scale_, self.n_samples_seen_, self._var = {}, {}, {}, {}
        for col, kind in columns:
            name = str(col)
            if kind != "numeric":
                continue
            values = _numeric(X[col], name)
            seen = self.n_samples_seen_.get(name, 0)
            if seen and not np.isfinite(values).any():
                continue  # (a chunk with no value of the column: nothing to add)
            if not seen:  # (one frame: FieldEncoder's own statistics)
                mean, scale = _standardise(values)
                count = int(np.isfinite(values).sum())
                var = float(np.nanvar(values)) if count else 0.0
            else:
                mean, var, count = _incremental_mean_and_var(
                    values.reshape(-1, 1),
                    np.array([self.mean_[name]]),
                    np.array([self._var[name]]),
                    np.array([seen], dtype=np.float64),
                )
                mean, var, count = float(mean[0]), float(var[0]), int(count[0])
                scale = float(np.sqrt(var)) if var > 0 else 1.0
            self.mean_[name], self.scale_[name] = float(mean), float(scale)
            self._var[name], self.n_samples_seen_[name] = float(var), count
        return self

    def _columns(self, X: pd.DataFrame) -> list:
        """(column, kind) of the columns to encode, as FieldEncoder finds them."""
        encoder = FieldEncoder(self.categorical, self.multi_valued, self.numeric)
        check_column_names(X)
        columns = encoder._column_kinds(X)
        if not columns:
            raise ValueError("FieldHasher has no column to encode.")
        return columns

    def transform(self, X):
        """Hash ``X`` into a :class:`~sklfi.FieldMatrix`.

        Parameters
        ----------
        X : DataFrame

        Returns
        -------
        FieldMatrix of shape (n_samples, n_output_features)
        """
        self._validate_params()
        X = as_frame(X)
        columns = self._columns(X)
        n, encoder = len(X), FieldEncoder(sep=self.sep)
        blocks, widths, kinds, names = [], [], [], []
        for col, kind in columns:
            name = str(col)
            if kind == "numeric":
                values = standardised(_numeric(X[col], name), *self._scaling(name))
                blocks.append(sp.csr_matrix(values.reshape(-1, 1)))
                widths.append(1)
            else:
                values = encoder._values(X[col], name, kind)
                mixed = mixed_kinds(values.dropna())
                if mixed:  # (1 and True are one value to pandas: which text?)
                    raise TypeError(
                        f"column {name!r} mixes values of several types "
                        f"({', '.join(mixed)}); convert it to one type, e.g. "
                        f"X[{col!r}].astype(str)."
                    )
                seed = murmurhash3_32(_utf8(name), 0, positive=True)
                buckets, known = _hash(values, self.n_features, seed)
                rows = values.index.to_numpy()[known]
                shape = (n, self.n_features)
                blocks.append(
                    sp.csr_matrix((np.ones(len(rows)), (rows, buckets)), shape=shape)
                )
                widths.append(self.n_features)
            kinds.append(kind)
            names.append(name)
        fields = self._fields(tuple(names), tuple(kinds), tuple(widths))
        return FieldMatrix._from_parts(sp.hstack(blocks, format="csr"), fields)

    def _scaling(self, name):
        """The mean and standard deviation of numeric column ``name``."""
        seen = getattr(self, "mean_", {})
        if name not in seen:
            raise NotFittedError(
                f"FieldHasher has no statistics for the numeric column {name!r}: "
                "call partial_fit on each chunk (one pass over the data, then "
                "transform) or fit on a sample first, so that it is standardised "
                "as FieldEncoder standardises it."
            )
        return seen[name], self.scale_[name]

    def _fields(self, names, kinds, widths) -> Fields:
        """The fields of an output, made once for each set of columns: the
        field of every one of millions of columns is worth keeping."""
        key = (names, kinds, widths)
        cached = getattr(self, "_fields_cache", None)
        if cached is None or cached[0] != key:
            index = np.repeat(np.arange(len(widths), dtype=np.int64), widths)
            cached = (key, Fields(index, names, kinds))
            self._fields_cache = cached
        return cached[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
