"""FieldEncoder: a pandas DataFrame -> a field-aware sparse matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._fields import FieldMatrix, Fields, hstack_fields, mixed_kinds
from ._rows import FEW_ROWS, Layout, encode_rows

__all__ = ["FieldEncoder"]


def _is_listlike(value) -> bool:
    return isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series))


def as_frame(X) -> pd.DataFrame:
    """``X`` as a DataFrame (arrays get integer column labels)."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, FieldMatrix) or sp.issparse(X):
        raise TypeError(
            "FieldEncoder encodes a pandas DataFrame (or a 2-d array of raw "
            f"values), got {type(X).__name__}."
        )
    X = pd.DataFrame(X)
    return X


def check_column_names(X: pd.DataFrame) -> None:
    """A ``ValueError`` unless every column has a name of its own as text:
    the name of a column is its field's (``0`` and ``"0"`` would be one
    field, and one hash seed)."""
    names = pd.Index([str(c) for c in X.columns])
    repeated = names[names.duplicated()].unique().tolist()
    if repeated:
        alike = [c for c in X.columns if str(c) in repeated]
        raise ValueError(
            f"the DataFrame has several columns named {repeated} (as text: "
            f"{', '.join(map(repr, alike))}): give every column a name of its own."
        )


def _codes(values: pd.Series, categories: pd.Index) -> np.ndarray:
    """Position of every value in ``categories``; -1 for unknown or missing."""
    return categories.get_indexer(values)


class FieldEncoder(TransformerMixin, BaseEstimator):
    """Encode the columns of a DataFrame as fields of a sparse matrix.

    Every selected column becomes one field of the output
    :class:`~sklfi.FieldMatrix`, in the DataFrame's column order:

    * categorical: one-hot over the categories seen in ``fit``;
    * multi-valued (lists, tuples, sets or strings joined by ``sep``, such as
      genres ``"Action|Comedy"``): multi-hot, one column per item;
    * numeric: one column, standardised with the mean and standard deviation
      seen in ``fit`` (missing values become 0, the mean).

    Missing categorical values (``None``, ``NaN``) and, by default, categories
    unseen in ``fit`` leave their field all-zero.

    Parameters
    ----------
    categorical : list of column labels, default=None
        Columns to one-hot encode.
    multi_valued : list of column labels, default=None
        Columns to multi-hot encode.
    numeric : list of column labels, default=None
        Columns to standardise.
    sep : str, default="|"
        Separator of multi-valued columns given as strings.
    handle_unknown : {"ignore", "error"}, default="ignore"
        What ``transform`` does with a category (or item) unseen in ``fit``:
        leave it out (``"ignore"``) or raise a ``ValueError`` (``"error"``).

    When all three lists are ``None`` every column is encoded and its kind is
    inferred from its dtype: bool, string, object and category columns are
    categorical, unless their values are lists (multi-valued); number columns
    are numeric (so give integer ids such as ``user_id`` in ``categorical``).
    When any list is given, columns named in none of them are dropped.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Column labels of the DataFrame seen in ``fit`` (as strings).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    field_names_ : tuple of str
        The encoded columns, one field each, in output order.
    field_kinds_ : tuple of str
        ``"categorical"``, ``"multi_valued"`` or ``"numeric"`` per field.
    categories_ : dict
        Categories (items) of each categorical (multi-valued) field, in the
        order of their output columns.
    mean_, scale_ : dict
        Mean and standard deviation of each numeric field.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfi.preprocessing import FieldEncoder
    >>> df = pd.DataFrame({"user": ["a", "b"], "genres": ["x|y", "y"],
    ...                    "age": [20.0, 40.0]})
    >>> enc = FieldEncoder(categorical=["user"], multi_valued=["genres"],
    ...                    numeric=["age"])
    >>> X = enc.fit_transform(df)
    >>> X.field_names
    ('user', 'genres', 'age')
    >>> enc.get_feature_names_out().tolist()
    ['user=a', 'user=b', 'genres=x', 'genres=y', 'age']
    """

    def __init__(
        self,
        categorical=None,
        multi_valued=None,
        numeric=None,
        sep="|",
        handle_unknown="ignore",
    ):
        self.categorical = categorical
        self.multi_valued = multi_valued
        self.numeric = numeric
        self.sep = sep
        self.handle_unknown = handle_unknown

    # -- fit ------------------------------------------------------------------
    def _column_kinds(self, X: pd.DataFrame) -> list:
        lists = {
            "categorical": self.categorical,
            "multi_valued": self.multi_valued,
            "numeric": self.numeric,
        }
        if all(v is None for v in lists.values()):
            return [(col, _infer_kind(X[col])) for col in X.columns]
        kind_of = {}
        for kind, cols in lists.items():
            if isinstance(cols, str) or (cols is not None and np.isscalar(cols)):
                raise TypeError(
                    f"{kind} must be a list of column labels, got {cols!r}."
                )
            for col in cols or []:
                if col not in X.columns:
                    raise ValueError(
                        f"column {col!r} given in {kind} is not in the DataFrame "
                        f"(columns: {list(X.columns)})."
                    )
                if col in kind_of:
                    raise ValueError(
                        f"column {col!r} is listed in both {kind_of[col]} and {kind}."
                    )
                kind_of[col] = kind
        return [(col, kind_of[col]) for col in X.columns if col in kind_of]

    def fit(self, X, y=None):
        """Learn the fields, categories and scales of ``X``.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
        y : ignored

        Returns
        -------
        self
        """
        if self.handle_unknown not in ("ignore", "error"):
            raise ValueError(
                "handle_unknown must be 'ignore' or 'error', got "
                f"{self.handle_unknown!r}."
            )
        X = as_frame(X)
        if X.shape[0] == 0:
            raise ValueError("FieldEncoder needs at least one row; got 0 samples.")
        check_column_names(X)
        columns = self._column_kinds(X)
        if not columns:
            raise ValueError("FieldEncoder has no column to encode.")
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        self._columns = [col for col, _ in columns]
        self.field_names_ = tuple(str(col) for col in self._columns)
        self.field_kinds_ = tuple(kind for _, kind in columns)
        self.categories_, self.mean_, self.scale_ = {}, {}, {}
        for col, kind in columns:
            name = str(col)
            if kind == "numeric":
                self.mean_[name], self.scale_[name] = _standardise(
                    _numeric(X[col], name)
                )
            else:
                values = self._values(X[col], name, kind).dropna()
                kinds = mixed_kinds(values)
                if kinds:
                    raise TypeError(
                        f"column {name!r} mixes values of several types "
                        f"({', '.join(kinds)}), such as 1 and '1', which would "
                        "be taken for one category or sorted across types: "
                        f"convert it to one type, e.g. X[{col!r}].astype(str)."
                    )
                self.categories_[name] = _categories(values)
        self._layout = None  # (made by the first transform of a few rows)
        self._out_fields = None  # (made by the first transform)
        return self

    def _output_fields(self) -> Fields:
        """The fields of every output, one object made once: a model fitted
        on an output holds it, and knows a served row's fields by identity,
        not by comparing every column's field."""
        if getattr(self, "_out_fields", None) is None:
            widths = [
                1 if kind == "numeric" else len(self.categories_[name])
                for name, kind in zip(self.field_names_, self.field_kinds_)
            ]
            index = np.repeat(np.arange(len(widths), dtype=np.int64), widths)
            self._out_fields = Fields(index, self.field_names_, self.field_kinds_)
        return self._out_fields

    # -- transform --------------------------------------------------------------
    def _values(self, s: pd.Series, name: str, kind: str) -> pd.Series:
        """The categories of a column's rows, indexed by row position: one
        per row (categorical) or each row's items (multi-valued)."""
        s = s.reset_index(drop=True)
        if kind == "categorical":
            if _has_lists(s):
                raise TypeError(
                    f"categorical column {name!r} holds lists; give it in "
                    "multi_valued to encode their items."
                )
            return s
        items = s.map(
            lambda v: v.split(self.sep) if isinstance(v, str) else v,
            na_action="ignore",
        )
        bad = items.notna() & ~items.map(_is_listlike)
        if bad.any():
            raise ValueError(
                f"multi-valued column {name!r} must hold lists or strings "
                f"joined by {self.sep!r}; got {s[bad].iloc[0]!r}."
            )
        items = items.explode()
        return items[items != ""]  # ("a|" and "" hold no empty item)

    def transform(self, X):
        """Encode ``X`` as a :class:`~sklfi.FieldMatrix`.

        Parameters
        ----------
        X : DataFrame with the columns seen in ``fit``

        Returns
        -------
        FieldMatrix of shape (n_samples, n_output_features)
        """
        check_is_fitted(self, "field_names_")
        X = as_frame(X)
        missing = [c for c in self._columns if c not in X.columns]
        if missing:
            raise ValueError(f"X is missing the columns {missing} seen in fit.")
        n = X.shape[0]
        if n <= FEW_ROWS:
            if getattr(self, "_layout", None) is None:
                self._layout = Layout(self)
            encoded = encode_rows(self, self._layout, X)
            if encoded is not None:
                return encoded
        blocks = []
        for col, name, kind in zip(self._columns, self.field_names_, self.field_kinds_):
            if kind == "numeric":
                values = standardised(
                    _numeric(X[col], name), self.mean_[name], self.scale_[name]
                )
                mat = sp.csr_matrix(values.reshape(-1, 1))
                blocks.append((mat, name, kind, [name]))
                continue
            cats = self.categories_[name]
            values = self._values(X[col], name, kind)
            codes = _codes(values, cats)
            known = codes >= 0
            if self.handle_unknown == "error":
                unknown = ~known & values.notna().to_numpy()
                if unknown.any():
                    raise ValueError(
                        f"column {name!r} has categories unseen in fit: "
                        f"{pd.unique(values[unknown])[:10].tolist()}; use "
                        "handle_unknown='ignore' to encode them as all-zero."
                    )
            rows = values.index.to_numpy()[known]
            mat = sp.csr_matrix(
                (np.ones(len(rows)), (rows, codes[known])), shape=(n, len(cats))
            )
            feats = [f"{name}={c}" for c in cats]
            blocks.append((mat, name, kind, feats))
        out = hstack_fields(blocks)
        return FieldMatrix._from_parts(
            out.tocsr(), self._output_fields(), out.feature_names
        )

    def get_feature_names_out(self, input_features=None):
        """Output column names: ``"column=category"``, or ``"column"`` if numeric."""
        check_is_fitted(self, "field_names_")
        names = []
        for name, kind in zip(self.field_names_, self.field_kinds_):
            if kind == "numeric":
                names.append(name)
            else:
                names.extend(f"{name}={c}" for c in self.categories_[name])
        return np.asarray(names, dtype=object)


def _has_lists(s: pd.Series) -> bool:
    """Whether a column holds list-like values (looked for value by value
    only when pandas finds the column mixed)."""
    if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) != "mixed":
        return False
    return bool(s.map(_is_listlike).any())


def _infer_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    return "multi_valued" if _has_lists(s) else "categorical"


def standardised(raw: np.ndarray, mean: float, scale: float) -> np.ndarray:
    """``(raw - mean) / scale``, missing values 0 (the mean)."""
    with np.errstate(over="ignore"):
        values = (raw - mean) / scale
    if np.isinf(values).any():  # (near 1e308 the difference overflows)
        values = raw / scale - mean / scale
    return np.nan_to_num(values, nan=0.0)


def _standardise(values: np.ndarray) -> tuple:
    """Mean and standard deviation (1 for a constant) of the finite values,
    for numbers of any magnitude: near 1e308 the plain sums overflow."""
    if np.all(np.isnan(values)):
        return 0.0, 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(np.nanmean(values)), float(np.nanstd(values))
    if not (np.isfinite(mean) and np.isfinite(std)):
        top = float(np.nanmax(np.abs(values)))
        mean = top * float(np.nanmean(values / top))
        std = top * float(np.nanstd(values / top))
    return mean, (std if std > 0 else 1.0)


def _numeric(s: pd.Series, name: str) -> np.ndarray:
    try:
        values = pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"numeric column {name!r} holds non-numbers: {exc}") from None
    if np.isinf(values).any():
        raise ValueError(f"numeric column {name!r} contains infinity.")
    return values


def _categories(values: pd.Series) -> pd.Index:
    cats = pd.Index(pd.unique(values))
    try:
        return cats.sort_values()
    except TypeError:  # mixed types: keep the order of first appearance
        return cats
