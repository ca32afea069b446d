"""Every movie scored for every query: evaluation (score_candidates,
item_scores) and recommendation (recommend)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .._events import EVENT_COLUMNS, check_events, check_same_ids, moment
from .._fields import check_positive_integer
from ..metrics import _scores


def score_candidates(
    model, events, candidates=None, *, features=None, exclude=None, max_rows=200_000
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
    exclude : DataFrame with ``user_id`` and ``item_id``, default=None
        Events whose movies are not candidates for their user (the training
        events: the movies the user watched before, which the standard
        protocol leaves out of the ranking), except the event's own movie.
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
    check_events(events)
    if candidates is not None:
        check_same_ids(
            candidates, events["item_id"], "candidates", "the events' movies"
        )
    if exclude is not None:
        check_events(exclude, "exclude", ["user_id", "item_id"], empty=True)
        check_same_ids(exclude["user_id"], events["user_id"], "exclude's users",
                       "the events' users")  # fmt: skip
        check_same_ids(exclude["item_id"], events["item_id"], "exclude's movies",
                       "the events' movies")  # fmt: skip
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
        if exclude is not None:  # drop the movies the user watched before
            is_own = rows["item_id"].to_numpy() == own[group - start]
            seen = rows[["user_id", "item_id"]].merge(
                exclude[["user_id", "item_id"]].drop_duplicates(),
                how="left", indicator=True,
            )["_merge"].to_numpy() == "both"  # fmt: skip
            keep = is_own | ~seen
            rows, group = rows[keep].reset_index(drop=True), group[keep]
        y_true.append((rows["item_id"].to_numpy() == own[group - start]).astype(int))
        X = rows if features is None else features.transform(rows)
        y_score.append(np.column_stack([_scores(m, X) for m in models]))
        groups.append(group)
    y_score = np.concatenate(y_score)
    if not isinstance(model, (list, tuple)):
        y_score = y_score[:, 0]
    return np.concatenate(y_true), y_score, np.concatenate(groups)


def _candidate_batches(queries, items, features=None, max_rows=200_000):
    """The rows ``(user, movie, timestamp)`` of every movie of ``items`` for
    each query, in batches: ``(first query, number of queries, X)``, ``X``
    transformed by ``features`` when given. The features of a batch are
    built once, for as many models as score it."""
    queries = queries[["user_id", "timestamp"]].reset_index(drop=True)
    items = np.asarray(items)
    per_batch = max(1, max_rows // max(len(items), 1))
    for start in range(0, len(queries), per_batch):
        chunk = queries.iloc[start : start + per_batch]
        rows = pd.DataFrame({
            "user_id": np.repeat(chunk["user_id"].to_numpy(), len(items)),
            "item_id": np.tile(items, len(chunk)),
            "timestamp": np.repeat(chunk["timestamp"].to_numpy(), len(items)),
        })  # fmt: skip
        yield start, len(chunk), rows if features is None else features.transform(rows)


def item_scores(model, queries, items, *, features=None, max_rows=200_000):
    """Score every movie of ``items`` for each query ``(user, timestamp)``.

    Parameters
    ----------
    model : fitted estimator or list of fitted estimators
        Scores rows ``(user_id, item_id, timestamp)`` (a pipeline that
        starts with :class:`~sklfi.preprocessing.MovieLensFeatures`), or
        their ``features``, with ``decision_function``, ``predict_proba`` or
        ``predict``. Several models share the rows, built once.
    queries : DataFrame with ``user_id`` and ``timestamp``
        For instance test events: each is scored as of its moment.
    items : array-like of shape (n_items,)
    features : fitted transformer, default=None
        Applied to the rows before the model(s).
    max_rows : int, default=200000
        Rows built and scored at once, to bound memory.

    Returns
    -------
    scores : ndarray of shape (len(queries), n_items), or a list of them
        Feed them to :func:`full_ranks`.
    """
    models = model if isinstance(model, (list, tuple)) else [model]
    queries, items = _check_queries(queries, items, max_rows)
    scores, _ = score_items(models, queries, items, features, max_rows)
    return scores if isinstance(model, (list, tuple)) else scores[0]


def score_items(models, queries, items, features=None, max_rows=200_000):
    """The (len(queries), len(items)) score matrix of each of ``models``, on
    candidate rows built once for all, and each model's own seconds of
    scoring (the rows' features not included)."""
    scores = [np.empty((len(queries), len(items))) for _ in models]
    seconds = np.zeros(len(models))
    for start, n, X in _candidate_batches(queries, items, features, max_rows):
        for k, m in enumerate(models):
            begin = time.perf_counter()
            scores[k][start : start + n] = _scores(m, X).reshape(n, len(items))
            seconds[k] += time.perf_counter() - begin
    return scores, seconds


def _check_queries(queries, items, max_rows):
    """``queries`` (a DataFrame with ``user_id`` and ``timestamp``) and
    ``items`` (a non-empty 1-d array), or a clear error."""
    check_events(queries, "queries", columns=["user_id", "timestamp"], empty=True)
    items = np.asarray(items)
    if items.ndim != 1 or len(items) == 0:
        raise ValueError(
            f"items must be a non-empty 1-d array, got shape {items.shape}."
        )
    check_positive_integer(max_rows, "max_rows")
    return queries, items


def _movielens_features(model):
    """The fitted MovieLensFeatures that starts a pipeline (frozen or not)."""
    from ..preprocessing import MovieLensFeatures

    steps = getattr(model, "steps", [])
    first = steps[0][1] if steps else None
    first = getattr(first, "estimator", first)  # (a FrozenEstimator)
    return first if isinstance(first, MovieLensFeatures) else None


def recommend(model, users, k=10, *, exclude_seen=True, items=None, timestamp=None):
    """The top ``k`` movies for each user, from a fitted next-item model.

    Parameters
    ----------
    model : fitted Pipeline
        Starts with a fitted :class:`~sklfi.preprocessing.MovieLensFeatures`
        (frozen, as in the next-item workflow) and ends with a classifier
        trained on watch events and negatives: its features know each
        user's history.
    users : array-like of user ids
    k : int, default=10
    exclude_seen : bool, default=True
        Leave out the movies each user watched before ``timestamp``.
    items : array-like, default=None
        Candidate movies; ``None`` takes every movie the features know.
    timestamp : int, default=None
        Moment of the recommendation: the history is the events before it.
        ``None`` is after every event the features learnt.

    Returns
    -------
    DataFrame
        Columns ``user_id``, ``rank`` (1 the top), ``item_id`` and
        ``score``: ``k`` rows per user (fewer when fewer movies are left),
        in the order of ``users`` then rank.

    Examples
    --------
    See :ref:`next-item recommendation <ranking>`: ``recommend(model,
    [1, 2], k=5)`` lists five unseen movies for users 1 and 2.
    """
    features = _movielens_features(model)
    if features is None:
        raise TypeError(
            "recommend needs a fitted Pipeline whose first step is a fitted "
            "MovieLensFeatures (it knows the users' histories); got "
            f"{type(model).__name__}."
        )
    check_positive_integer(k, "k")
    users = np.asarray(users)
    if users.ndim != 1:
        raise ValueError(f"users must be a 1-d array of ids, got shape {users.shape}.")
    known = features._item_ids
    items = known.to_numpy() if items is None else np.unique(np.asarray(items))
    if len(items) == 0:
        raise ValueError("items is empty: there is no movie to recommend.")
    if len(users) and not (features._user_ids.get_indexer(users) >= 0).any():
        raise ValueError(
            "none of users is known to the features (fitted on "
            f"{len(features._user_ids)} users, ids like "
            f"{features._user_ids[0]!r}): check the ids' type."
        )
    if not (known.get_indexer(items) >= 0).any():
        raise ValueError(
            f"none of items is known to the features (ids like {known[0]!r}): "
            "check the ids' type."
        )
    when = np.iinfo(np.int64).max if timestamp is None else moment(timestamp)
    queries = pd.DataFrame({"user_id": users, "timestamp": np.int64(when)})
    k = min(k, len(items))
    picks, best = [], []
    for start, n, X in _candidate_batches(queries, items, None, 200_000):
        scores = _scores(model, X).astype(np.float64).reshape(n, len(items))
        if np.isnan(scores).any():
            raise ValueError("the model scores some movies NaN: it cannot rank them.")
        seen = np.zeros(scores.shape, dtype=bool)
        if exclude_seen:
            moments = np.full(n, when, dtype=np.int64)
            rows, movies = features._watched(users[start : start + n], moments)
            cols = np.minimum(np.searchsorted(items, movies), len(items) - 1)
            hit = items[cols] == movies
            seen[rows[hit], cols[hit]] = True
        # the top k of each user, seen movies last, then sorted by score
        order = np.where(seen, -np.inf, scores)
        top = np.argpartition(-order, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(
            top, np.argsort(-np.take_along_axis(order, top, 1), 1, kind="stable"), 1
        )
        picks.append(top)
        best.append(np.where(np.take_along_axis(seen, top, 1), np.nan,
                             np.take_along_axis(scores, top, 1)))  # fmt: skip
    top = np.concatenate(picks) if picks else np.zeros((0, k), dtype=int)
    best = np.concatenate(best) if best else np.zeros((0, k))
    table = pd.DataFrame({
        "user_id": np.repeat(users, k),
        "rank": np.tile(np.arange(1, k + 1), len(users)),
        "item_id": items[top].ravel(),
        "score": best.ravel(),
    })  # fmt: skip
    return table[table["score"].notna()].reset_index(drop=True)
