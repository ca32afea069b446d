"""The evaluation protocol: each user's last events held out, negatives
sampled for training, every movie ranked, and the ranks summarised."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._events import EVENT_COLUMNS, check_events, check_same_ids
from .._fields import check_positive_integer


def leave_last_out(events, n_test=1):
    """Split each user's time-ordered events: the last ``n_test`` for testing.

    Users with ``n_test`` events or fewer keep them all for training. Events
    of a user with the same timestamp keep their order in ``events`` (the
    later row is the later event): in MovieLens-100K, 415 of the 943 users
    have their last timestamp shared by several ratings, and the row that
    comes last in ``u.data`` is held out.

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
    time = check_events(events)
    check_positive_integer(n_test, "n_test")
    # by position (labels may repeat in events' index), users by the rank of
    # their ids (fast for any type of id)
    user = pd.factorize(events["user_id"], sort=True)[0]
    order = np.lexsort((time, user))  # (stable: tied events keep their order)
    user = pd.Series(user[order])
    from_end = user.groupby(user).cumcount(ascending=False).to_numpy()
    size = user.groupby(user).transform("size").to_numpy()
    is_test = (from_end < n_test) & (size > n_test)
    return events.iloc[order[~is_test]], events.iloc[order[is_test]]


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
    check_events(events)
    check_positive_integer(n_negatives, "n_negatives")
    rng = check_random_state(random_state)
    if items is not None:
        items = np.asarray(items)
        if items.ndim != 1 or pd.isna(items).any():
            raise ValueError("items must be a 1-d array of movie ids, none missing.")
        check_same_ids(items, events["item_id"], "items", "the events' movies")
    items = np.unique(events["item_id"] if items is None else items)
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


def full_ranks(scores, test, items, exclude=None):
    """Rank of each test event's movie among all ``items``.

    Parameters
    ----------
    scores : array-like of shape (len(test), len(items))
        Scores of every movie (in ``items`` order) for each test event.
    test : DataFrame with ``user_id`` and ``item_id``
    items : array-like of shape (n_items,)
        The candidate movies, every one ranked.
    exclude : DataFrame with ``user_id`` and ``item_id``, default=None
        Events whose movies are taken out of the user's ranking (the
        training events: the movies the user watched before), except the
        test movie itself.

    Returns
    -------
    ranks : ndarray of shape (len(test),)
        1 is the top. A movie tied with others takes the middle of their
        ranks (a movie tied with 3 others for first is 2.5).
    """
    pair = ["user_id", "item_id"]
    check_events(test, "test", columns=pair, empty=True)
    items = np.asarray(items)
    if items.ndim != 1 or pd.isna(items).any():
        raise ValueError("items must be a 1-d array of movie ids, none missing.")
    unique, counts = np.unique(items, return_counts=True)
    if len(unique) < len(items):
        twice = np.flatnonzero(counts > 1)[0]
        movie = unique[twice : twice + 1].tolist()[0]  # (a Python value)
        raise ValueError(
            f"items holds {movie!r} {counts[twice]} times: each movie is ranked once."
        )
    check_same_ids(test["item_id"], items, "test's movies", "items")
    scores = np.array(scores, dtype=np.float64)
    if scores.shape != (len(test), len(items)):
        raise ValueError(
            f"scores has shape {scores.shape}; expected (len(test), len(items)) = "
            f"({len(test)}, {len(items)})."
        )
    if np.isnan(scores).any():
        raise ValueError("scores hold NaN: a ranking needs a score for every movie.")
    order = np.argsort(items, kind="stable")
    pos = np.searchsorted(items, test["item_id"].to_numpy(), sorter=order)
    own = order[np.minimum(pos, len(items) - 1)]
    if np.any(items[own] != test["item_id"].to_numpy()):
        raise ValueError("test holds movies that are not among items.")
    rows = np.arange(len(test))
    target = scores[rows, own]
    if exclude is not None:
        check_events(exclude, "exclude", columns=pair, empty=True)
        check_same_ids(exclude["user_id"], test["user_id"], "exclude's users",
                       "test's users")  # fmt: skip
        check_same_ids(exclude["item_id"], items, "exclude's movies", "items")
        seen = exclude[pair].merge(
            pd.DataFrame({"user_id": test["user_id"].to_numpy(), "row": rows}),
            on="user_id",
        )
        col = np.searchsorted(items, seen["item_id"].to_numpy(), sorter=order)
        col = order[np.minimum(col, len(items) - 1)]
        known = items[col] == seen["item_id"].to_numpy()
        # NaN, which no comparison counts: out of the ranking, whatever the
        # scores (a test movie scored -inf is not tied with them)
        scores[seen["row"].to_numpy()[known], col[known]] = np.nan
        scores[rows, own] = target  # (the test movie itself stays)
    target = target[:, None]
    greater = (scores > target).sum(axis=1)
    ties = (scores == target).sum(axis=1) - 1
    return 1.0 + greater + ties / 2.0


def ranking_metrics(ranks, k=10, n_bootstraps=1000, confidence=0.95, random_state=0):
    """HR@k, NDCG@k, MRR, mean and median rank, with bootstrap intervals.

    Parameters
    ----------
    ranks : array-like of shape (n_events,)
        Ranks of the held-out movies (:func:`full_ranks`), 1 the top.
    k : int, default=10
    n_bootstraps : int, default=1000
        Resamples of the test events for the intervals (0: none).
    confidence : float, default=0.95
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    DataFrame
        Index ``hr@k``, ``ndcg@k``, ``mrr``, ``mean_rank``, ``median_rank``;
        columns ``value``, ``low`` and ``high`` (the percentile interval of
        the bootstrap: with a few hundred test users, differences inside it
        are noise).
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if (
        ranks.ndim != 1
        or len(ranks) == 0
        or not np.all(np.isfinite(ranks) & (ranks >= 1))
    ):
        raise ValueError(
            "ranks must be a non-empty 1-d array of finite ranks >= 1 (none NaN)."
        )
    check_positive_integer(k, "k")
    if (
        isinstance(n_bootstraps, bool)
        or not isinstance(n_bootstraps, Integral)
        or n_bootstraps < 0
    ):
        raise ValueError(f"n_bootstraps must be an integer >= 0, got {n_bootstraps!r}.")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, Real)
        or not 0 < confidence < 1
    ):
        raise ValueError(
            f"confidence must be a number between 0 and 1, got {confidence!r}."
        )

    def metrics(r):
        hit = r <= k
        return np.array([hit.mean(axis=-1),
                         np.where(hit, 1 / np.log2(r + 1), 0).mean(axis=-1),
                         (1 / r).mean(axis=-1), r.mean(axis=-1),
                         np.median(r, axis=-1)])  # fmt: skip

    names = [f"hr@{k}", f"ndcg@{k}", "mrr", "mean_rank", "median_rank"]
    table = pd.DataFrame({"value": metrics(ranks)}, index=names)
    if n_bootstraps:
        rng = check_random_state(random_state)
        samples = ranks[rng.randint(0, len(ranks), (n_bootstraps, len(ranks)))]
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(metrics(samples), [tail, 100 - tail], axis=1)
        table["low"], table["high"] = low, high
    return table
