"""Next-item recommendation: training pairs and evaluation by ranking.

The task: from a user's time-ordered watch history, predict the next movie.
Each watch event ``(user_id, item_id, timestamp)`` is a positive example of
"this user, at this moment, watches this movie next", with the history as of
that moment as context (see :class:`~sklfi.preprocessing.MovieLensFeatures`).

1. :func:`leave_last_out` holds out each user's last events for testing;
2. :func:`sample_negatives` pairs every training event with random movies the
   user did not watch next, labelled 0, to train any sklfi classifier;
3. :func:`score_candidates` scores every candidate movie for each test event,
   and :mod:`sklfi.metrics` ranks the true next movie among them.

Fit the feature transformer on the real events and freeze it in the
pipeline, so that the negatives never enter the history::

    features = MovieLensFeatures(users, items).fit(train)
    model = make_pipeline(FrozenEstimator(features), FMClassifier())
    model.fit(*sample_negatives(train, random_state=0))
    mean_rank(*score_candidates(model, test))
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .metrics import _scores

__all__ = ["leave_last_out", "sample_negatives", "score_candidates"]

EVENT_COLUMNS = ["user_id", "item_id", "timestamp"]


def _check_events(events) -> pd.DataFrame:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}."
        )
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events lack the columns {missing}.")
    if len(events) == 0:
        raise ValueError("events is empty.")
    return events


def leave_last_out(events, n_test=1):
    """Split each user's time-ordered events: the last ``n_test`` for testing.

    Users with ``n_test`` events or fewer keep them all for training.

    Parameters
    ----------
    events : DataFrame with ``user_id``, ``item_id``, ``timestamp``
    n_test : int, default=1

    Returns
    -------
    train, test : DataFrame
        Rows of ``events`` (with their original index and columns).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [5, 6, 7, 5],
    ...                        "timestamp": [3, 1, 2, 1]})
    >>> train, test = leave_last_out(events)
    >>> test.item_id.tolist()
    [5]
    """
    events = _check_events(events)
    if not isinstance(n_test, (int, np.integer)) or n_test < 1:
        raise ValueError(f"n_test must be a positive integer, got {n_test!r}.")
    order = events.sort_values(["user_id", "timestamp"], kind="stable")
    from_end = order.groupby("user_id").cumcount(ascending=False)
    size = order.groupby("user_id")["user_id"].transform("size")
    is_test = (from_end < n_test) & (size > n_test)
    return events.loc[order.index[~is_test]], events.loc[order.index[is_test]]


def sample_negatives(events, n_negatives=4, items=None, random_state=None):
    """Training pairs for next-item prediction: each event and random misses.

    Every event (the movie the user watched next, label 1) is followed by
    ``n_negatives`` rows with the same user and timestamp and a movie drawn
    uniformly from ``items`` other than the watched one (label 0).

    Parameters
    ----------
    events : DataFrame with ``user_id``, ``item_id``, ``timestamp``
    n_negatives : int, default=4
    items : array-like, default=None
        Candidate movies; ``None`` takes the movies of ``events``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : DataFrame with ``user_id``, ``item_id``, ``timestamp``
        ``len(events) * (1 + n_negatives)`` rows, each event followed by its
        negatives.
    y : ndarray of int
        1 for events, 0 for negatives.
    """
    events = _check_events(events)
    rng = check_random_state(random_state)
    items = np.unique(events["item_id"] if items is None else np.asarray(items))
    if len(items) < 2:
        raise ValueError("sampling negatives needs at least 2 candidate items.")
    n, k = len(events), 1 + n_negatives
    base = events[EVENT_COLUMNS].to_numpy()
    X = np.repeat(base, k, axis=0)
    y = np.tile(np.r_[1, np.zeros(n_negatives, dtype=np.int64)], n)
    negative = y == 0
    positive_item = X[negative, 1]
    # draw among the other items: skip the positive by shifting later draws
    pos = np.searchsorted(items, positive_item)
    known = items[np.minimum(pos, len(items) - 1)] == positive_item
    draw = rng.randint(0, len(items) - known)
    X[negative, 1] = items[np.where(known & (draw >= pos), draw + 1, draw)]
    X = pd.DataFrame(X, columns=EVENT_COLUMNS).astype(events[EVENT_COLUMNS].dtypes)
    return X, y


def score_candidates(
    model, events, candidates=None, *, features=None, max_rows=200_000
):
    """Score every candidate movie for each event, to rank the true one.

    For each event ``(user, item, timestamp)`` the fitted ``model`` (e.g. a
    pipeline of :class:`~sklfi.preprocessing.MovieLensFeatures` and a
    classifier) scores the rows ``(user, c, timestamp)`` for every candidate
    ``c``; the event's own movie is relevant. Feed the result to
    :func:`~sklfi.metrics.mean_rank`, :func:`~sklfi.metrics.hit_rate_at_k` or
    :func:`~sklfi.metrics.ndcg_at_k`.

    Parameters
    ----------
    model : fitted estimator or list of fitted estimators
        Scores rows with ``decision_function``, ``predict_proba`` or
        ``predict``. Several models share the candidate rows (and their
        features), which are built once.
    events : DataFrame with ``user_id``, ``item_id``, ``timestamp``
    candidates : array-like, default=None
        Candidate movies; ``None`` takes the movies of ``events``. An event's
        own movie is always a candidate.
    features : fitted transformer, default=None
        Applied to the candidate rows before the model(s), e.g. a fitted
        :class:`~sklfi.preprocessing.MovieLensFeatures` when ``model`` is a
        bare estimator.
    max_rows : int, default=200000
        Rows built and scored at once, to bound memory.

    Returns
    -------
    y_true : ndarray of shape (n_rows,)
        1 for each event's own movie, else 0.
    y_score : ndarray of shape (n_rows,), or (n_rows, n_models) for a list
    groups : ndarray of shape (n_rows,)
        Position of the event in ``events``.
    """
    events = _check_events(events)
    models = model if isinstance(model, (list, tuple)) else [model]
    base = events[EVENT_COLUMNS].reset_index(drop=True)
    candidates = np.unique(base["item_id"] if candidates is None else candidates)
    per_chunk = max(1, max_rows // (len(candidates) + 1))
    y_true, y_score, groups = [], [], []
    for start in range(0, len(base), per_chunk):
        chunk = base.iloc[start : start + per_chunk]
        n = len(chunk)
        rows = chunk.loc[chunk.index.repeat(len(candidates))].reset_index(drop=True)
        rows["item_id"] = np.tile(candidates, n)
        own = chunk["item_id"].to_numpy()
        missing = ~np.isin(own, candidates)  # add the event's movie if absent
        rows = pd.concat([rows, chunk[missing]], ignore_index=True)
        group = np.r_[np.repeat(np.arange(start, start + n), len(candidates)),
                      np.arange(start, start + n)[missing]]  # fmt: skip
        y_true.append((rows["item_id"].to_numpy() == own[group - start]).astype(int))
        X = rows if features is None else features.transform(rows)
        y_score.append(np.column_stack([_scores(m, X) for m in models]))
        groups.append(group)
    y_score = np.concatenate(y_score)
    if not isinstance(model, (list, tuple)):
        y_score = y_score[:, 0]
    return np.concatenate(y_true), y_score, np.concatenate(groups)
