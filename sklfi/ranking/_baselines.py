"""The baselines a next-item model must clear: most popular, item-kNN and
EASE, each scoring every movie from the movies a user watched."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._events import check_events, check_same_ids


def _user_item_matrix(events, items):
    """Binary users x items CSR of ``events``, the sorted user ids, and the
    sorted item ids (``items``, or those of ``events``)."""
    check_events(events, columns=["user_id", "item_id"])  # (no time needed)
    users = np.unique(events["user_id"])
    if items is not None:
        check_same_ids(items, events["item_id"], "items", "the events' movies")
    items = np.unique(events["item_id"] if items is None else np.asarray(items))
    rows = np.searchsorted(users, events["user_id"].to_numpy())
    cols = np.searchsorted(items, events["item_id"].to_numpy())
    cols = np.minimum(cols, len(items) - 1)
    if np.any(items[cols] != events["item_id"].to_numpy()):
        raise ValueError("events hold movies that are not among items.")
    matrix = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(users), len(items))
    )
    matrix.data[:] = 1.0  # (a movie rated twice counts once)
    return matrix, users, items


class _Baseline:
    """A recommender fitted on watch events that scores every movie for a
    user from the movies the user watched: the floor a model must clear."""

    def fit(self, events, items=None):
        """Learn from ``events`` (``user_id``, ``item_id``, ``timestamp``);
        ``items`` is the catalogue to rank (default: the movies of events)."""
        self.watched_, self.users_, self.items_ = _user_item_matrix(events, items)
        self._fit(self.watched_)
        return self

    def score(self, users):
        """Scores of every movie of ``items_`` for each of ``users``:
        ``(len(users), len(items_))``; unknown users get the scores of an
        empty history."""
        users = np.asarray(users)
        if users.ndim != 1:
            raise ValueError(
                f"users must be a 1-d array of ids, got shape {users.shape}."
            )
        check_same_ids(users, self.users_, "users", "the users seen in fit")
        pos = np.minimum(np.searchsorted(self.users_, users), len(self.users_) - 1)
        known = self.users_[pos] == users
        history = self.watched_[pos].multiply(known[:, None]).tocsr()
        return self._score(history)


class MostPopular(_Baseline):
    """Every user gets the movies by number of watchers, most first.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [7, 7, 9],
    ...                        "timestamp": [1, 1, 2]})
    >>> MostPopular().fit(events).score([1]).tolist()
    [[2.0, 1.0]]
    """

    def _fit(self, watched):
        self.counts_ = np.asarray(watched.sum(axis=0)).ravel()

    def _score(self, history):
        return np.tile(self.counts_, (history.shape[0], 1))


class ItemKNN(_Baseline):
    """Item-based neighbours: a movie scores the sum of its cosine
    similarities (over co-watch counts) to the movies the user watched."""

    def _fit(self, watched):
        co = (watched.T @ watched).toarray()
        norm = np.sqrt(np.diag(co))
        self.similarity_ = co / np.maximum(np.outer(norm, norm), 1e-12)
        np.fill_diagonal(self.similarity_, 0.0)

    def _score(self, history):
        return np.asarray(history @ self.similarity_)


class EASE(_Baseline):
    """EASE (Steck, 2019): a closed-form item-item linear model.

    The weights ``B`` minimise ``||X - X B||^2 + l2 ||B||^2`` with a zero
    diagonal, over the users x movies matrix ``X``: with ``P = (X'X + l2
    I)^-1``, ``B = -P / diag(P)`` and ``B_ii = 0``. A movie scores the sum of
    its weights from the movies the user watched. Memory and time grow with
    the square and the cube of the number of movies (thousands, not
    millions).

    Parameters
    ----------
    l2 : float, default=400.0
        Ridge penalty; 300 to 500 suit MovieLens-100K.

    References
    ----------
    H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
    """

    def __init__(self, l2=400.0):
        self.l2 = l2

    def _fit(self, watched):
        if not self.l2 > 0:
            raise ValueError(f"l2 must be positive, got {self.l2!r}.")
        gram = (watched.T @ watched).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        inverse = np.linalg.inv(gram)
        self.weights_ = -inverse / np.diag(inverse)
        np.fill_diagonal(self.weights_, 0.0)

    def _score(self, history):
        return np.asarray(history @ self.weights_)
