"""MovieLensFeatures: the features of a MovieLens-style ratings table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._events import check_events
from .._fields import FieldMatrix, Fields, check_positive_integer, hstack_fields
from .._relational import RelationalMatrix
from ._history import History
from ._movielens_tables import (
    GROUPS,
    ITEM_SIDE,
    OPT_IN,
    USER_SIDE,
    Entities,
    implicit,
    items_frame,
    one_hot,
    users_frame,
)

__all__ = ["MovieLensFeatures", "GROUPS"]


class MovieLensFeatures(TransformerMixin, BaseEstimator):
    """Features of a MovieLens-style ratings table, as a field-aware matrix.

    Turns rows ``(user_id, item_id, timestamp)`` into one field per feature
    group. Groups that look at the past (``history`` and the ``user_*``
    aggregates) are computed *as of* each row: from the ratings learnt in
    ``fit`` whose timestamp is strictly earlier than the row's, for the same
    user. So no row's own rating feeds its own features, in ``fit_transform``
    as in ``transform``, and ``transform`` never reads the ratings of the
    rows it transforms. Users and movies unknown to ``fit`` (or missing from
    the side tables) get all-zero fields.

    Feature groups (``groups``), in output order:

    * ``user_id``: one-hot;
    * ``gender``, ``occupation``, ``zip3`` (first 3 characters of the zip
      code), ``age_bucket`` (<18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+):
      one-hot, and ``age``: standardised (numeric), from ``users``;
    * ``item_id``: one-hot;
    * ``genres``: multi-hot, ``year``: standardised release year (numeric),
      ``decade``: one-hot release decade, from ``items`` (the year from a
      ``year`` or ``release_date`` column, or from titles that end in
      "(1995)", as in the newer MovieLens releases);
    * ``history``: the movies the user watched before the row (the last
      ``max_history`` of them, when set), multi-hot with values ``1/n``, so
      that its field embedding is their mean vector;
    * ``last_item``: one-hot, the movie the user watched last before the row
      (of several at the same moment, the one in the later row of ``fit``'s
      ratings);
    * ``user_mean_rating``: the user's mean rating before the row, minus the
      global mean, divided by the ratings' standard deviation (0 when none;
      these two constants are the only statistics of all training ratings);
    * ``user_genre_rating``: the same per genre (one column per genre);
    * ``user_genre_share``: the share of the user's earlier movies in each
      genre (one column per genre);
    * ``user_items``: every movie the user rated in ``fit``'s ratings, and
      ``item_users``: every user who rated the movie there, multi-hot with
      values ``1/sqrt(n)`` (the implicit feedback of SVD++ and of libFM's
      and myFM's rating models). Unlike the groups above they ignore time:
      a training row's own movie is among its user's movies. For rating
      prediction; not for predicting the next movie, which they contain.

    Parameters
    ----------
    users : DataFrame, default=None
        ``user_id`` and any of ``age, gender, occupation, zip_code``, e.g.
        ``load_movielens_100k().users``.
    items : DataFrame, default=None
        ``item_id`` and genres (0/1 flag columns, a list column or an "A|B"
        string column ``genres``), optionally ``release_date`` or ``year``,
        e.g. ``load_movielens_100k()["items"]``.
    groups : list of str, default=None
        Feature groups to build. ``None`` builds every group the tables
        (and their columns) allow but ``last_item`` (a next-item feature),
        ``user_items`` and ``item_users`` (name them to build them); a group
        named explicitly whose table, column or rating column is missing
        raises a ``ValueError``.
    max_history : int, default=None
        Keep only the user's most recent ``max_history`` movies in the
        ``history`` group; ``None`` keeps them all. For next-item
        prediction the recent past predicts better, and a short history
        makes rows (and training) cheaper: on MovieLens-100K, 20 movies
        rank the next one better than the whole history, in a third of the
        time.
    relational : bool, default=True
        With ``user_items`` or ``item_users``, return a
        :class:`~sklfi.RelationalMatrix` whose tables hold each user's (and
        movie's) list once, the rows pointing to them, rather than a
        :class:`~sklfi.FieldMatrix` that repeats a user's whole list on each
        of the user's rows (25 M non-zeros for MovieLens-100K's 80,000
        training rows, against 160,000). Its ``tocsr()`` is the
        ``relational=False`` matrix, and every sklfi estimator takes it.

    Attributes
    ----------
    groups_ : tuple of str
        The groups built, one field each, in output order.
    genres_ : list of str
        Genre names found in ``items``.
    feature_names_in_ : ndarray of str
        Columns of the ratings seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfi.preprocessing import MovieLensFeatures
    >>> ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 10],
    ...                         "timestamp": [100, 200, 150],
    ...                         "rating": [5, 3, 4]})
    >>> X = MovieLensFeatures().fit_transform(ratings)
    >>> X.field_names
    ('user_id', 'item_id', 'history', 'user_mean_rating')
    >>> X.tocsr()[1, 4]  # user 1 at t=200 had watched movie 10 before
    np.float64(1.0)
    """

    def __init__(
        self, users=None, items=None, groups=None, max_history=None, relational=True
    ):
        self.users = users
        self.items = items
        self.groups = groups
        self.max_history = max_history
        self.relational = relational

    # -- fit ------------------------------------------------------------------
    def _select_groups(self, has_ratings: bool) -> tuple:
        tables = {"users": self.users is not None, "items": self.items is not None,
                  "ratings": has_ratings}  # fmt: skip
        if self.groups is None:
            return tuple(g for g, (need, _) in GROUPS.items()
                         if all(tables[t] for t in need)
                         and g not in OPT_IN)  # fmt: skip
        if isinstance(self.groups, str):
            raise TypeError(
                f"groups must be a list of group names, got {self.groups!r}."
            )
        unknown = [g for g in self.groups if g not in GROUPS]
        if unknown:
            raise ValueError(
                f"unknown feature groups {unknown}; choose from {list(GROUPS)}."
            )
        for g in self.groups:
            missing = [t for t in GROUPS[g][0] if not tables[t]]
            if missing:
                what = " and ".join(
                    "a rating column (or y)" if t == "ratings" else f"the {t} table"
                    for t in missing
                )
                raise ValueError(f"feature group {g!r} needs {what}.")
        if not self.groups:
            raise ValueError("groups is empty: select at least one feature group.")
        return tuple(g for g in GROUPS if g in self.groups)

    def fit(self, X, y=None):
        """Learn vocabularies, scales and the rating history from ``X``.

        Parameters
        ----------
        X : DataFrame
            Ratings with ``user_id``, ``item_id``, ``timestamp`` and, for the
            rating aggregates, ``rating`` (or give ``y``).
        y : array-like of shape (n_samples,), default=None
            The ratings, when ``X`` has no ``rating`` column.

        Returns
        -------
        self
        """
        time = _check_ratings(X)
        if len(X) == 0:
            raise ValueError("MovieLensFeatures needs at least one rating; got 0 rows.")
        ratings = None
        if "rating" in X.columns:
            ratings = pd.to_numeric(X["rating"]).to_numpy(dtype=np.float64)
        elif y is not None:
            ratings = np.asarray(y, dtype=np.float64).reshape(-1)
            if len(ratings) != len(X):
                raise ValueError(
                    f"y has {len(ratings)} values but X has {len(X)} rows."
                )
        if ratings is not None and not np.all(np.isfinite(ratings)):
            raise ValueError("the ratings contain NaN or infinity.")
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        if self.max_history is not None:
            check_positive_integer(self.max_history, "max_history")
        self.groups_ = self._select_groups(ratings is not None)

        user_frame = item_frame = None
        genre_flags, self.genres_ = np.zeros((0, 0)), []
        if self.users is not None:
            user_frame = users_frame(self.users)
        if self.items is not None:
            item_frame, genre_flags, self.genres_ = items_frame(self.items)
        self._users = self._items = None
        user_groups = [g for g in USER_SIDE if g in self.groups_ and g in user_frame]
        item_groups = [g for g in ITEM_SIDE if g in self.groups_ and g in item_frame]
        missing = [g for g in self.groups_ if g in USER_SIDE + ITEM_SIDE
                   and g not in user_groups + item_groups]  # fmt: skip
        if missing and self.groups is not None:
            raise ValueError(f"the side tables lack the columns for {missing}.")
        self.groups_ = tuple(g for g in self.groups_ if g not in missing)
        if user_groups:
            self._users = Entities(user_frame, user_groups)
        if item_groups:
            self._items = Entities(item_frame, item_groups)
        self._user_ids = pd.Index(np.sort(pd.unique(X["user_id"])))
        self._item_ids = pd.Index(np.sort(pd.unique(X["item_id"])))

        # the history: per event, its rating, its movie's genres and their
        # ratings, summed per user as of each moment
        columns = []
        if ratings is not None:
            columns.append(ratings[:, None])
        if self.genres_:
            pos = item_frame.index.get_indexer(X["item_id"])
            table = np.vstack([genre_flags, np.zeros((1, len(self.genres_)))])
            flags = table[np.where(pos >= 0, pos, len(item_frame))]
            columns.append(flags)
            if ratings is not None:
                columns.append(flags * ratings[:, None])
        values = np.hstack(columns) if columns else np.zeros((len(X), 0))
        user = self._user_ids.get_indexer(X["user_id"])
        self._history = History(user, time, values, len(self._user_ids))
        items = self._item_ids.get_indexer(X["item_id"].to_numpy())
        self._history_items = items[self._history.order]
        # who rated what, whatever the time, for user_items and item_users
        rated = sp.csr_matrix((np.ones(len(X)), (user, items)),
                              (len(self._user_ids), len(self._item_ids)))  # fmt: skip
        rated.data[:] = 1.0  # (a movie rated twice counts once)
        self._implicit = {
            group: implicit(M)
            for group, M in (("user_items", rated), ("item_users", rated.T.tocsr()))
            if group in self.groups_
        }
        self._has_ratings = ratings is not None
        self._rating_mean, self._rating_scale = 0.0, 1.0
        if ratings is not None:  # (summed in the history's order)
            r = ratings[self._history.order]
            self._rating_mean, self._rating_scale = (
                float(r.mean()),
                float(r.std()) or 1.0,
            )
        return self

    # -- transform --------------------------------------------------------------
    def transform(self, X):
        """Build the features of ``X``; its ratings, if any, are not read.

        Parameters
        ----------
        X : DataFrame with ``user_id``, ``item_id`` and ``timestamp``

        Returns
        -------
        FieldMatrix or RelationalMatrix of shape (n_samples, n_output_features)
            A RelationalMatrix when the groups hold ``user_items`` or
            ``item_users`` and ``relational`` is True.
        """
        check_is_fitted(self, "groups_")
        time = _check_ratings(X)
        user = self._user_ids.get_indexer(X["user_id"])
        item = self._item_ids.get_indexer(X["item_id"])
        blocks = {
            "user_id": (one_hot(user, len(self._user_ids)),
                        [f"user_id={u}" for u in self._user_ids]),
            "item_id": (one_hot(item, len(self._item_ids)),
                        [f"item_id={i}" for i in self._item_ids]),
        }  # fmt: skip
        for side, ids in ((self._users, X["user_id"]), (self._items, X["item_id"])):
            if side is not None:
                blocks.update(side.take(ids))

        blocks.update(self._history_blocks(user, time))
        tables = []  # (an entity's implicit feedback: its table, each row's entity)
        for group, rows, ids in (("user_items", user, self._item_ids),
                                 ("item_users", item, self._user_ids)):  # fmt: skip
            if group in self._implicit:
                names = [f"{group}={i}" for i in ids]
                if self.relational:  # (a table of the entities the rows name)
                    known = rows >= 0
                    used = np.unique(rows[known])
                    index = np.full(len(rows), -1, dtype=np.int64)
                    index[known] = np.searchsorted(used, rows[known])
                    table = self._implicit[group][used]
                    tables.append((_fields_of([(table, group, names)], 0), index))
                else:
                    blocks[group] = (self._implicit[group][rows], names)
        out = _fields_of(
            [(blocks[g][0], g, blocks[g][1]) for g in self.groups_ if g in blocks],
            len(user),
        )
        out.tocsr().eliminate_zeros()
        return RelationalMatrix(out, tables) if tables else out

    def _history_blocks(self, user, time) -> dict:
        """The blocks of the groups that look at the past, for users (codes)
        at times: ``{group: (matrix, feature names)}``."""
        blocks = {}
        start, end = self._history.span(user, time)
        sums = self._history.sums(start, end)
        count = end - start
        if "history" in self.groups_:
            recent = start
            if self.max_history is not None:
                recent = np.maximum(start, end - self.max_history)
            events, indptr = self._history.events(recent, end)
            n = end - recent
            data = np.repeat(1.0 / np.maximum(n, 1), n)
            shape = (len(user), len(self._item_ids))
            mat = sp.csr_matrix((data, self._history_items[events], indptr), shape)
            mat.sum_duplicates()  # a movie rated twice counts twice
            blocks["history"] = (mat, [f"history={i}" for i in self._item_ids])
        if "last_item" in self.groups_:  # (of tied events, the later row)
            last = np.where(count > 0, self._history_items[np.maximum(end - 1, 0)], -1)
            blocks["last_item"] = (
                one_hot(last, len(self._item_ids)),
                [f"last_item={i}" for i in self._item_ids],
            )
        # the columns of sums: the count, the rating, the genre counts, the
        # genre ratings (the rating columns only with ratings)
        rated = 2 if self._has_ratings else 1
        G = len(self.genres_)
        genre_count = sums[:, rated : rated + G]

        def standardised(rating_sum, n):
            return (rating_sum / n - self._rating_mean) / self._rating_scale

        per_genre = [f"={g}" for g in self.genres_]
        aggregates = {  # group: (its values, its feature names)
            "user_mean_rating": (
                lambda: standardised(sums[:, 1:2], count[:, None]),
                ["user_mean_rating"],
            ),
            "user_genre_share": (
                lambda: genre_count / count[:, None],
                ["user_genre_share" + g for g in per_genre],
            ),
            "user_genre_rating": (
                lambda: standardised(sums[:, rated + G : rated + 2 * G], genre_count),
                ["user_genre_rating" + g for g in per_genre],
            ),
        }
        with np.errstate(invalid="ignore", divide="ignore"):
            for group, (values, names) in aggregates.items():
                if group in self.groups_:
                    blocks[group] = (sp.csr_matrix(np.nan_to_num(values())), names)

        return blocks

    def _watched(self, user_ids, times):
        """The movies each user watched before its time, from the fitted
        history: ``(query position, item id)`` pairs."""
        check_is_fitted(self, "groups_")
        user = self._user_ids.get_indexer(user_ids)
        start, end = self._history.span(user, np.asarray(times))
        events, indptr = self._history.events(start, end)
        rows = np.repeat(np.arange(len(user)), np.diff(indptr))
        return rows, self._item_ids.to_numpy()[self._history_items[events]]

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``"group=value"``, or ``"group"``."""
        check_is_fitted(self, "groups_")
        empty = pd.DataFrame(
            {"user_id": [], "item_id": [], "timestamp": []}, dtype=np.int64
        )
        return self.transform(empty).feature_names


def _fields_of(blocks, n_rows) -> FieldMatrix:
    """The FieldMatrix of ``(matrix, group, feature names)`` blocks, one
    field each (none: ``n_rows`` rows of no column)."""
    blocks = [(sp.csr_matrix(m), g, GROUPS[g][1], names) for m, g, names in blocks]
    if blocks:
        return hstack_fields(blocks)
    return FieldMatrix._from_parts(
        sp.csr_matrix((n_rows, 0)),
        Fields(np.zeros(0, np.int64), (), ()),
        np.zeros(0, object),
    )


def _check_ratings(X) -> np.ndarray:
    """Check the ratings DataFrame ``X``; its timestamps, as int64."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            "MovieLensFeatures needs a pandas DataFrame of ratings, got "
            f"{type(X).__name__}."
        )
    return check_events(X, "the ratings DataFrame", empty=True)
